#include "cli/commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>

#include "cli/command_table.h"
#include "cli/docs.h"
#include "runtime/check.h"
#include "runtime/doctor.h"
#include "runtime/events.h"
#include "spec/default_spec.h"
#include "spec/names.h"
#include "sys/fs.h"
#include "sys/proc.h"

namespace cli {
namespace {

int report(const runtime::Runtime& rt, const sys::SysError& e) {
    rt.log.error(e);
    return 1;
}

void print(const std::string& text) { (void)sys::write_all(1, text, "stdout"); }

}  // namespace

int cmd_create(runtime::Runtime& rt, const CreateFlags& f) {
    auto c = runtime::create(rt, f.opts);
    if (!c) return report(rt, c.error());
    c->init.release();  // it lives on, waiting for `start`
    return 0;
}

int cmd_run(runtime::Runtime& rt, const CreateFlags& f) {
    auto code = runtime::run(rt, f.opts, f.detach, f.keep);
    if (!code) return report(rt, code.error());
    return *code;
}

int cmd_checkpoint(runtime::Runtime& rt, const runtime::CheckpointOptions& o) {
    auto st = runtime::checkpoint(rt, o);
    if (!st) return report(rt, st.error());
    return 0;
}

int cmd_restore(runtime::Runtime& rt, const runtime::RestoreOptions& o) {
    auto code = runtime::restore(rt, o);
    if (!code) return report(rt, code.error());
    return *code;
}

int cmd_start(runtime::Runtime& rt, const std::string& id) {
    auto st = runtime::start(rt, id);
    if (!st) return report(rt, st.error());
    return 0;
}

int cmd_state(runtime::Runtime& rt, const std::string& id) {
    auto s = runtime::state(rt, id);
    if (!s) return report(rt, s.error());
    print(runtime::to_json(*s, false) + "\n");
    return 0;
}

int cmd_kill(runtime::Runtime& rt, const std::string& id, const std::string& signal, bool all) {
    // Signal 0 checks that the container is there, as kill(2) and runc take it.
    auto sig = signal == "0" ? std::optional<int>(0)
                             : spec::signal_number(signal.empty() ? "TERM" : signal);
    if (!sig) return report(rt, sys::SysError{"invalid signal \"" + signal + "\"", {}, 0, {}});
    auto st = runtime::kill(rt, id, *sig, all);
    if (!st) return report(rt, st.error());
    return 0;
}

int cmd_delete(runtime::Runtime& rt, const std::string& id, bool force) {
    auto st = runtime::remove(rt, id, force);
    if (!st) return report(rt, st.error());
    return 0;
}

int cmd_list(runtime::Runtime& rt, const std::string& format, bool quiet) {
    auto all = runtime::list(rt);
    if (!all) return report(rt, all.error());
    if (quiet) {
        for (const auto& s : *all) print(s.id + "\n");
        return 0;
    }
    if (format == "json") {
        // runc's field order (clients' tests compare the text), and the owner by name as in
        // the table.
        nlohmann::ordered_json arr = nlohmann::ordered_json::array();
        for (const auto& s : *all) {
            auto j = nlohmann::ordered_json::parse(runtime::to_json(s, false));
            j["owner"] = s.owner == 0 ? "root" : std::to_string(s.owner);
            arr.push_back(j);
        }
        print(arr.dump() + "\n");
        return 0;
    }
    if (format != "table")
        return report(rt, sys::SysError{"invalid format option \"" + format + "\"", {}, 0, {}});
    // Columns as runc's tabwriter lays them out.
    std::vector<std::array<std::string, 6>> rows = {
        {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (const auto& s : *all)
        rows.push_back({s.id, std::to_string(s.status == "stopped" ? 0 : s.pid), s.status, s.bundle,
                        s.created, s.owner == 0 ? "root" : std::to_string(s.owner)});
    std::array<size_t, 6> width{};
    for (const auto& r : rows)
        for (size_t i = 0; i < 6; ++i) width[i] = std::max(width[i], r[i].size());
    std::string out;
    for (const auto& r : rows) {
        for (size_t i = 0; i < 6; ++i) {
            out += r[i];
            if (i < 5) out += std::string(width[i] - r[i].size() + 3, ' ');
        }
        out += "\n";
    }
    print(out);
    return 0;
}

int cmd_spec(runtime::Runtime& rt, const std::string& bundle, bool rootless) {
    std::string path = bundle.empty() ? "config.json" : bundle + "/config.json";
    if (::access(path.c_str(), F_OK) == 0)
        return report(rt, sys::SysError{"File " + path + " exists. Remove it first", {}, 0, {}});
    auto fd = sys::open_path(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (!fd) return report(rt, fd.error());
    spec::RootlessIds ids{::geteuid(), ::getegid()};
    auto w = sys::write_all(fd->get(), spec::default_config_json(rootless ? &ids : nullptr), path);
    if (!w) return report(rt, w.error());
    return 0;
}

int cmd_events(runtime::Runtime& rt, const std::string& id, bool stats, int interval_ms) {
    auto st = runtime::events(rt, id, stats, interval_ms,
                              [](const std::string& line) { print(line + "\n"); });
    if (!st) return report(rt, st.error());
    return 0;
}

int cmd_exec(runtime::Runtime& rt, const runtime::ExecOptions& e) {
    auto code = runtime::exec(rt, e);
    if (!code) {
        // As runc: 255 when exec itself fails, so that a caller can tell that from any status
        // of the process (0-254 and 128+signal).
        (void)report(rt, code.error());
        return 255;
    }
    return *code;
}

int cmd_pause(runtime::Runtime& rt, const std::string& id, bool pause) {
    auto st = pause ? runtime::pause(rt, id) : runtime::resume(rt, id);
    if (!st) return report(rt, st.error());
    return 0;
}

int cmd_ps(runtime::Runtime& rt, const std::string& id, const std::string& format,
           const std::vector<std::string>& ps_args) {
    auto pids = runtime::pids(rt, id);
    if (!pids) return report(rt, pids.error());
    if (format == "json") {
        print(nlohmann::json(*pids).dump() + "\n");
        return 0;
    }
    if (format != "table")
        return report(rt, sys::SysError{"invalid format option \"" + format + "\"", {}, 0, {}});
    // As runc: run the host's ps (default -ef) and keep the header and the container's rows.
    std::vector<std::string> argv{"ps"};
    for (const auto& a : ps_args.empty() ? std::vector<std::string>{"-ef"} : ps_args)
        argv.push_back(a);
    auto ran = sys::run_capture(argv);
    if (!ran) return report(rt, sys::SysError{"run ps", {}, ran.error().err, {}});
    const std::string& out = ran->out;
    if (ran->status != 0) {
        std::string shown;
        for (std::size_t i = 1; i < argv.size(); ++i) shown += " " + argv[i];
        return report(
            rt,
            sys::SysError{"ps" + shown + " " + sys::describe_wait_status(ran->status), {}, 0, out});
    }
    std::size_t nl = out.find('\n');
    std::string header = out.substr(0, nl);
    // The PID column: its index among the header's words.
    std::size_t col = 0;
    {
        std::istringstream h(header);
        std::string word;
        for (std::size_t i = 0; h >> word; ++i)
            if (word == "PID") col = i;
    }
    std::string result = header + "\n";
    std::istringstream lines(nl == std::string::npos ? "" : out.substr(nl + 1));
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string word;
        for (std::size_t i = 0; i <= col && words >> word; ++i) {
        }
        char* end = nullptr;
        long pid = std::strtol(word.c_str(), &end, 10);
        if (end != word.c_str() && std::find(pids->begin(), pids->end(), pid) != pids->end())
            result += line + "\n";
    }
    print(result);
    return 0;
}

int cmd_update(runtime::Runtime& rt, const std::string& id, const ParsedArgs& p) {
    spec::Resources r;
    if (!p.value("resources").empty()) {
        std::string file = p.value("resources");
        auto text = file == "-" ? sys::read_fd(0) : sys::read_file(file);
        if (!text) return report(rt, text.error());
        auto parsed = spec::parse_resources_json(*text);
        if (!parsed) return report(rt, parsed.error());
        r = *parsed;
    }
    // runc's flags, each over what the file said.
    auto number = [&](const char* flag, auto& out) -> bool {
        std::string v = p.value(flag);
        if (v.empty()) return true;
        char* end = nullptr;
        long long n = std::strtoll(v.c_str(), &end, 10);
        if (end == v.c_str() || *end != '\0') {
            rt.log.error(std::string("--") + flag + ": expected a number, got \"" + v + "\"");
            return false;
        }
        out = static_cast<std::remove_reference_t<decltype(*out)>>(n);
        return true;
    };
    auto size = [&](const char* flag, auto& out) -> bool {
        std::string v = p.value(flag);
        if (v.empty()) return true;
        auto n = parse_size(v);
        if (!n) {
            rt.log.error(std::string("--") + flag + ": expected a size (1024, 50M, 1g), got \"" +
                         v + "\"");
            return false;
        }
        out = *n;
        return true;
    };
    auto& mem = r.memory ? *r.memory : r.memory.emplace();
    auto& cpu = r.cpu ? *r.cpu : r.cpu.emplace();
    if (!size("memory", mem.limit) || !size("memory-reservation", mem.reservation) ||
        !size("memory-swap", mem.swap) || !size("kernel-memory-tcp", mem.kernel_tcp) ||
        !number("cpu-shares", cpu.shares) || !number("cpu-quota", cpu.quota) ||
        !number("cpu-period", cpu.period) || !number("cpu-rt-runtime", cpu.realtime_runtime) ||
        !number("cpu-rt-period", cpu.realtime_period) || !number("pids-limit", r.pids_limit))
        return 1;
    if (!p.value("cpuset-cpus").empty()) cpu.cpus = p.value("cpuset-cpus");
    if (!p.value("cpuset-mems").empty()) cpu.mems = p.value("cpuset-mems");
    if (!p.value("blkio-weight").empty()) {
        auto& io = r.block_io ? *r.block_io : r.block_io.emplace();
        if (!number("blkio-weight", io.weight)) return 1;
    }
    auto st = runtime::update(rt, id, r);
    if (!st) return report(rt, st.error());
    return 0;
}

int cmd_features() {
    print(spec::features_json());
    return 0;
}

int cmd_check(const runtime::Runtime& rt, const std::string& bundle, const std::string& format) {
    if (format != "text" && format != "json") {
        rt.log.error("--format: expected text or json, got \"" + format + "\"");
        return 1;
    }
    std::string where = bundle.empty() || bundle[0] == '/' ? bundle : sys::join_path(".", bundle);
    runtime::CheckReport r = runtime::check(rt, bundle);
    if (format == "json") {
        nlohmann::json problems = nlohmann::json::array();
        for (const auto& e : r.problems) {
            nlohmann::json j{{"msg", e.message()}};
            if (!e.field.empty()) j["field"] = e.field;
            if (!e.path.empty()) j["path"] = e.path;
            if (e.err != 0) {
                const char* name = ::strerrorname_np(e.err);
                j["errno"] = name != nullptr ? name : std::to_string(e.err);
            }
            if (!e.hint.empty()) j["hint"] = e.hint;
            problems.push_back(j);
        }
        nlohmann::json out{{"bundle", bundle},
                           {"ok", r.problems.empty()},
                           {"problems", problems},
                           {"warnings", r.warnings}};
        print(out.dump(2) + "\n");
        return r.problems.empty() ? 0 : 1;
    }
    std::string text;
    for (const auto& e : r.problems) text += "problem: " + e.message() + "\n";
    for (const auto& w : r.warnings) text += "warning: " + w + "\n";
    std::size_t n = r.problems.size();
    text += "hako check " + where + ": " +
            (n == 0 ? std::string("ok") : std::to_string(n) + (n == 1 ? " problem" : " problems")) +
            (r.warnings.empty() ? "" : ", " + std::to_string(r.warnings.size()) + " warning(s)") +
            "\n";
    print(text);
    return n == 0 ? 0 : 1;
}

int cmd_doctor(const runtime::Runtime& rt, const std::string& format) {
    if (format != "text" && format != "json") {
        rt.log.error("--format: expected text or json, got \"" + format + "\"");
        return 1;
    }
    auto findings = runtime::doctor();
    if (format == "json") {
        nlohmann::ordered_json arr = nlohmann::ordered_json::array();
        for (const auto& f : findings) {
            nlohmann::ordered_json j{
                {"area", f.area}, {"name", f.name}, {"ok", f.ok}, {"detail", f.detail}};
            if (!f.ok) j["disables"] = f.disables;
            arr.push_back(j);
        }
        print(arr.dump(2) + "\n");
        return 0;
    }
    std::string text, area;
    std::size_t gaps = 0;
    for (const auto& f : findings) {
        if (f.area != area) {
            area = f.area;
            text += area + ":\n";
        }
        text += std::string(f.ok ? "  ok       " : "  missing  ") + f.name + ": " + f.detail;
        if (!f.ok) {
            text += "\n             without it: " + f.disables;
            ++gaps;
        }
        text += "\n";
    }
    text += "hako doctor: " + std::to_string(findings.size() - gaps) + " of " +
            std::to_string(findings.size()) + " in place\n";
    print(text);
    return 0;
}

int cmd_man(const std::string& command, bool list) {
    if (list) {
        std::string names;
        for (const auto& c : command_specs()) names += std::string(c.name) + "\n";
        print(names);
        return 0;
    }
    std::string page = man_page(global_flags(), command_specs(), command);
    if (page.empty()) {
        std::string line = "hako: man: no such command: " + command + "\n";
        (void)!::write(2, line.data(), line.size());
        return 1;
    }
    print(page);
    return 0;
}

int cmd_completion(const std::string& shell) {
    if (shell != "bash") {
        std::string line = "hako: completion: only bash is supported, got \"" + shell + "\"\n";
        (void)!::write(2, line.data(), line.size());
        return 1;
    }
    print(bash_completion(global_flags(), command_specs()));
    return 0;
}

}  // namespace cli
