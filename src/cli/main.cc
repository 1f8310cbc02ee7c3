// hako's command line, flag for flag runc's: podman, containerd and Docker call it as they call
// runc. Parsing only; the work is in runtime/.
#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <optional>

#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "runtime/doctor.h"
#include "sys/fs.h"

namespace {

void out(int fd, const std::string& text) { (void)sys::write_all(fd, text, "output"); }

std::optional<int> parse_count(const std::string& n) {
    char* end = nullptr;
    long v = std::strtol(n.c_str(), &end, 10);
    if (end == n.c_str() || *end != '\0' || v < 0 || v > 65536) return std::nullopt;
    return static_cast<int>(v);
}

// Commands that read no container state (and so need no state directory).
bool needs_no_state(const std::string& cmd) {
    for (const char* c : {"spec", "features", "check", "doctor", "man", "completion"})
        if (cmd == c) return true;
    return false;
}

// The global flags into `rt`: the log, rootless, the state root. False (having said why) when
// one is wrong.
bool configure(runtime::Runtime& rt, const cli::ParsedArgs& p) {
    std::string log_format = p.global("log-format", "text");
    if (log_format != "text" && log_format != "json") {
        out(2, "hako: --log-format: expected text or json, got \"" + log_format + "\"\n");
        return false;
    }
    rt.log.configure(p.global("log"), log_format == "json", p.global("debug") == "true");
    if (std::string r = p.global("rootless", "auto"); r != "auto") {
        if (r != "true" && r != "false") {
            rt.log.error("--rootless: expected true, false or auto, got \"" + r + "\"");
            return false;
        }
        rt.rootless = r == "true";
    }
    if (p.global("systemd-cgroup") == "true") {
        if (auto why = runtime::systemd_cgroup_refusal(rt.rootless); !why.empty()) {
            rt.log.error(why);
            return false;
        }
        rt.systemd_cgroup = true;
    }
    if (!p.global("criu").empty()) rt.criu = p.global("criu");
    if (!p.global("root").empty()) {
        rt.root = p.global("root");
    } else if (!needs_no_state(p.command)) {
        auto root = runtime::default_state_root();
        if (!root) {
            rt.log.error(root.error());
            return false;
        }
        rt.root = *root;
    }
    return true;
}

// --preserve-fds as a count, or nothing (having said why).
std::optional<int> preserve_fds(const runtime::Runtime& rt, const cli::ParsedArgs& p) {
    auto fds = parse_count(p.value("preserve-fds", "0"));
    if (!fds)
        rt.log.error("--preserve-fds: expected a number, got \"" + p.value("preserve-fds") + "\"");
    return fds;
}

int create_or_run(runtime::Runtime& rt, const cli::ParsedArgs& p, const std::string& id) {
    cli::CreateFlags f;
    f.opts.id = id;
    f.opts.bundle = p.value("bundle", ".");
    f.opts.console_socket = p.value("console-socket");
    f.opts.pid_file = p.value("pid-file");
    f.opts.no_pivot = p.flag("no-pivot");
    f.opts.no_new_keyring = p.flag("no-new-keyring");
    auto fds = preserve_fds(rt, p);
    if (!fds) return 1;
    f.opts.preserve_fds = *fds;
    f.detach = p.flag("detach");
    f.keep = p.flag("keep");
    return p.command == "run" ? cli::cmd_run(rt, f) : cli::cmd_create(rt, f);
}

runtime::CriuOptions criu_options(const cli::ParsedArgs& p) {
    runtime::CriuOptions c;
    c.image_path = p.value("image-path");
    c.work_path = p.value("work-path");
    c.manage_cgroups_mode = p.value("manage-cgroups-mode");
    c.empty_ns = p.values("empty-ns");
    c.tcp_established = p.flag("tcp-established");
    c.ext_unix_sk = p.flag("ext-unix-sk");
    c.shell_job = p.flag("shell-job");
    c.file_locks = p.flag("file-locks");
    c.auto_dedup = p.flag("auto-dedup");
    c.lazy_pages = p.flag("lazy-pages");
    return c;
}

int checkpoint_or_restore(runtime::Runtime& rt, const cli::ParsedArgs& p, const std::string& id) {
    auto c = criu_options(p);
    const std::string& mode = c.manage_cgroups_mode;
    if (!mode.empty() && mode != "soft" && mode != "full" && mode != "strict" && mode != "ignore") {
        rt.log.error("--manage-cgroups-mode: expected soft, full, strict or ignore, got \"" + mode +
                     "\"");
        return 1;
    }
    if (p.command == "checkpoint") {
        runtime::CheckpointOptions o;
        o.id = id;
        o.criu = std::move(c);
        o.parent_path = p.value("parent-path");
        o.page_server = p.value("page-server");
        o.leave_running = p.flag("leave-running");
        o.pre_dump = p.flag("pre-dump");
        if (!p.value("status-fd").empty()) {
            const std::string& v = p.value("status-fd");
            char* end = nullptr;
            long fd = std::strtol(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || fd < 0 || fd > INT_MAX ||
                ::fcntl(static_cast<int>(fd), F_GETFD) < 0) {
                rt.log.error("--status-fd " + v + ": not an open file descriptor of hako's");
                return 1;
            }
            o.status_fd = static_cast<int>(fd);
        }
        return cli::cmd_checkpoint(rt, o);
    }
    runtime::RestoreOptions o;
    o.create.id = id;
    o.create.bundle = p.value("bundle", ".");
    o.create.console_socket = p.value("console-socket");
    o.create.pid_file = p.value("pid-file");
    o.criu = std::move(c);
    o.lsm_profile = p.value("lsm-profile");
    o.lsm_mount_context = p.value("lsm-mount-context");
    o.detach = p.flag("detach");
    o.no_subreaper = p.flag("no-subreaper");
    return cli::cmd_restore(rt, o);
}

int exec_command(runtime::Runtime& rt, const cli::ParsedArgs& p, const std::string& id) {
    runtime::ExecOptions e;
    e.id = id;
    e.args.assign(p.args.begin() + 1, p.args.end());
    e.process_file = p.value("process");
    e.tty = p.flag("tty");
    e.console_socket = p.value("console-socket");
    e.cwd = p.value("cwd");
    e.env = p.values("env");
    e.user = p.value("user");
    e.additional_gids = p.values("additional-gids");
    e.caps = p.values("cap");
    e.no_new_privs = p.flag("no-new-privs");
    e.apparmor = p.value("apparmor");
    e.process_label = p.value("process-label");
    e.detach = p.flag("detach");
    e.pid_file = p.value("pid-file");
    e.ignore_paused = p.flag("ignore-paused");
    e.cgroups = p.values("cgroup");
    auto fds = preserve_fds(rt, p);
    if (!fds) return 1;
    e.preserve_fds = *fds;
    return cli::cmd_exec(rt, e);
}

int events_command(runtime::Runtime& rt, const cli::ParsedArgs& p, const std::string& id) {
    auto ms = cli::parse_duration_ms(p.value("interval", "5s"));
    if (!ms || *ms <= 0) {
        rt.log.error("--interval: expected a duration like 5s or 500ms, got \"" +
                     p.value("interval") + "\"");
        return 1;
    }
    return cli::cmd_events(rt, id, p.flag("stats"), static_cast<int>(*ms));
}

// The command, given its parsed flags; its exit status.
int dispatch(runtime::Runtime& rt, const cli::ParsedArgs& p) {
    const std::string& cmd = p.command;
    const std::string id = p.args.empty() ? "" : p.args[0];
    auto rest = [&] { return std::vector<std::string>(p.args.begin() + 1, p.args.end()); };
    if (cmd == "create" || cmd == "run") return create_or_run(rt, p, id);
    if (cmd == "exec") return exec_command(rt, p, id);
    if (cmd == "checkpoint" || cmd == "restore") return checkpoint_or_restore(rt, p, id);
    if (cmd == "update") return cli::cmd_update(rt, id, p);
    if (cmd == "events") return events_command(rt, p, id);
    if (cmd == "pause") return cli::cmd_pause(rt, id, true);
    if (cmd == "resume") return cli::cmd_pause(rt, id, false);
    if (cmd == "ps") return cli::cmd_ps(rt, id, p.value("format", "table"), rest());
    if (cmd == "start") return cli::cmd_start(rt, id);
    if (cmd == "state") return cli::cmd_state(rt, id);
    if (cmd == "kill")
        return cli::cmd_kill(rt, id, p.args.size() > 1 ? p.args[1] : "", p.flag("all"));
    if (cmd == "delete") return cli::cmd_delete(rt, id, p.flag("force"));
    if (cmd == "list") return cli::cmd_list(rt, p.value("format", "table"), p.flag("quiet"));
    if (cmd == "spec") return cli::cmd_spec(rt, p.value("bundle"), p.flag("rootless"));
    if (cmd == "features") return cli::cmd_features();
    if (cmd == "man") return cli::cmd_man(id, p.flag("list"));
    if (cmd == "completion") return cli::cmd_completion(p.args[0]);
    if (cmd == "doctor") return cli::cmd_doctor(rt, p.value("format", "text"));
    if (cmd == "check")
        return cli::cmd_check(rt, p.value("bundle", "."), p.value("format", "text"));
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    auto parsed = cli::parse_args(args, cli::global_flags(), cli::command_specs());
    if (!parsed) {
        out(2, "hako: " + parsed.error().message() + "\n");
        return 1;
    }
    const cli::ParsedArgs& p = *parsed;
    if (p.version) {
        out(1, std::string("hako version ") + HAKO_VERSION + "\nspec: 1.3.0\n");
        return 0;
    }
    if (p.help || p.command.empty()) {
        out(p.command.empty() && !p.help ? 2 : 1,
            cli::usage_text(cli::global_flags(), cli::command_specs(), p.command));
        return p.help ? 0 : 1;
    }
    runtime::Runtime rt;
    if (!configure(rt, p)) return 1;
    return dispatch(rt, p);
}
