// hako's command line, flag for flag runc's: podman, containerd and Docker call it as they call
// runc. Parsing only; the work is in runtime/.
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "cli/args.h"
#include "cli/command_table.h"
#include "cli/commands.h"
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
    std::string log_format = p.global("log-format", "text");
    if (log_format != "text" && log_format != "json") {
        out(2, "hako: --log-format: expected text or json, got \"" + log_format + "\"\n");
        return 1;
    }
    rt.log.configure(p.global("log"), log_format == "json", p.global("debug") == "true");
    if (std::string r = p.global("rootless", "auto"); r != "auto") {
        if (r != "true" && r != "false") {
            rt.log.error("--rootless: expected true, false or auto, got \"" + r + "\"");
            return 1;
        }
        rt.rootless = r == "true";
    }
    if (p.global("systemd-cgroup") == "true") {
        rt.log.error("--systemd-cgroup: not supported yet; hako manages cgroupfs directly");
        return 1;
    }

    const std::string& cmd = p.command;
    if (!p.global("root").empty()) {
        rt.root = p.global("root");
    } else if (!needs_no_state(cmd)) {
        auto root = runtime::default_state_root();
        if (!root) {
            rt.log.error(root.error());
            return 1;
        }
        rt.root = *root;
    }
    const std::string id = p.args.empty() ? "" : p.args[0];
    if (cmd == "create" || cmd == "run") {
        cli::CreateFlags f;
        f.opts.id = id;
        f.opts.bundle = p.value("bundle", ".");
        f.opts.console_socket = p.value("console-socket");
        f.opts.pid_file = p.value("pid-file");
        f.opts.no_pivot = p.flag("no-pivot");
        f.opts.no_new_keyring = p.flag("no-new-keyring");
        auto fds = parse_count(p.value("preserve-fds", "0"));
        if (!fds) {
            rt.log.error("--preserve-fds: expected a number, got \"" + p.value("preserve-fds") +
                         "\"");
            return 1;
        }
        f.opts.preserve_fds = *fds;
        f.detach = p.flag("detach");
        f.keep = p.flag("keep");
        return cmd == "run" ? cli::cmd_run(rt, f) : cli::cmd_create(rt, f);
    }
    if (cmd == "exec") {
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
        auto fds = parse_count(p.value("preserve-fds", "0"));
        if (!fds) {
            rt.log.error("--preserve-fds: expected a number, got \"" + p.value("preserve-fds") +
                         "\"");
            return 1;
        }
        e.preserve_fds = *fds;
        return cli::cmd_exec(rt, e);
    }
    if (cmd == "update") return cli::cmd_update(rt, id, p);
    if (cmd == "events") {
        auto ms = cli::parse_duration_ms(p.value("interval", "5s"));
        if (!ms || *ms <= 0) {
            rt.log.error("--interval: expected a duration like 5s or 500ms, got \"" +
                         p.value("interval") + "\"");
            return 1;
        }
        return cli::cmd_events(rt, id, p.flag("stats"), static_cast<int>(*ms));
    }
    if (cmd == "pause") return cli::cmd_pause(rt, id, true);
    if (cmd == "resume") return cli::cmd_pause(rt, id, false);
    if (cmd == "ps")
        return cli::cmd_ps(rt, id, p.value("format", "table"),
                           std::vector<std::string>(p.args.begin() + 1, p.args.end()));
    if (cmd == "start") return cli::cmd_start(rt, id);
    if (cmd == "state") return cli::cmd_state(rt, id);
    if (cmd == "kill")
        return cli::cmd_kill(rt, id, p.args.size() > 1 ? p.args[1] : "", p.flag("all"));
    if (cmd == "delete") return cli::cmd_delete(rt, id, p.flag("force"));
    if (cmd == "list") return cli::cmd_list(rt, p.value("format", "table"), p.flag("quiet"));
    if (cmd == "spec") return cli::cmd_spec(rt, p.value("bundle"), p.flag("rootless"));
    if (cmd == "features") return cli::cmd_features();
    if (cmd == "man") return cli::cmd_man(p.args.empty() ? "" : p.args[0], p.flag("list"));
    if (cmd == "completion") return cli::cmd_completion(p.args[0]);
    if (cmd == "doctor") return cli::cmd_doctor(rt, p.value("format", "text"));
    if (cmd == "check")
        return cli::cmd_check(rt, p.value("bundle", "."), p.value("format", "text"));
    return 1;
}
