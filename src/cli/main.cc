// hako's command line, flag for flag runc's: podman, containerd and Docker call it as they call
// runc. Parsing only; the work is in runtime/.
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "cli/args.h"
#include "cli/commands.h"
#include "sys/fs.h"

namespace {

const std::vector<cli::FlagSpec> kGlobals = {
    {"root", true, "root directory for storage of container state (default /run/hako)"},
    {"log", true, "log file (default: stderr only)"},
    {"log-format", true, "log format: text or json"},
    {"debug", false, "enable debug logging"},
    {"systemd-cgroup", false, "manage cgroups with systemd (not supported yet)"},
    {"rootless", true, "ignore cgroup permission errors: true, false or auto"},
    {"criu", true, "path to criu (unused)"},
};

const std::vector<cli::FlagSpec> kCreateFlags = {
    {"b,bundle", true, "path to the root of the bundle directory (default .)"},
    {"console-socket", true, "AF_UNIX socket that receives the pty master"},
    {"pid-file", true, "file to write the container init's pid to"},
    {"no-pivot", false, "do not use pivot_root (for ramfs roots)"},
    {"no-new-keyring", false, "do not create a new session keyring"},
    {"preserve-fds", true, "pass N more file descriptors (3 onwards) to the container"},
};

std::vector<cli::FlagSpec> run_flags() {
    auto f = kCreateFlags;
    f.push_back({"d,detach", false, "detach from the container's process"});
    f.push_back({"keep", false, "do not delete the container after it exits"});
    f.push_back({"no-subreaper", false, "accepted for runc compatibility"});
    return f;
}

const std::vector<cli::CommandSpec> kCommands = {
    {"create", "[flags] <container-id>", "create a container", kCreateFlags, 1, 1},
    {"run", "[flags] <container-id>", "create and run a container", run_flags(), 1, 1},
    {"start", "<container-id>", "start a created container", {}, 1, 1},
    {"state", "<container-id>", "print the state of a container", {}, 1, 1},
    {"kill",
     "[flags] <container-id> [signal]",
     "send a signal (default TERM) to the init",
     {{"a,all", false, "signal every process in the container"}},
     1,
     2},
    {"delete",
     "[flags] <container-id>",
     "delete a container",
     {{"f,force", false, "kill the container first if it is running"}},
     1,
     1},
    {"list",
     "[flags]",
     "list containers",
     {{"f,format", true, "table or json"}, {"q,quiet", false, "print the ids only"}},
     0,
     0},
    {"spec",
     "[flags]",
     "write a default config.json",
     {{"b,bundle", true, "where to write config.json"},
      {"rootless", false, "for unprivileged users"}},
     0,
     0},
    {"features", "", "print what this hako supports", {}, 0, 0},
    {"pause", "<container-id>", "freeze every process of a container", {}, 1, 1},
    {"update",
     "[flags] <container-id>",
     "change the resource limits of a container",
     {{"r,resources", true, "a linux.resources JSON file (- for stdin)"},
      {"memory", true, "memory limit in bytes"},
      {"memory-reservation", true, "memory soft limit in bytes"},
      {"memory-swap", true, "memory + swap limit in bytes"},
      {"kernel-memory", true, "ignored (kernel memory limits do nothing)"},
      {"cpu-shares", true, "CPU shares"},
      {"cpu-quota", true, "CFS quota in microseconds"},
      {"cpu-period", true, "CFS period in microseconds"},
      {"cpu-rt-runtime", true, "realtime runtime in microseconds"},
      {"cpu-rt-period", true, "realtime period in microseconds"},
      {"cpuset-cpus", true, "CPUs to run on"},
      {"cpuset-mems", true, "memory nodes to use"},
      {"pids-limit", true, "maximum number of processes"},
      {"blkio-weight", true, "block I/O weight (10-1000)"}},
     1,
     1},
    {"resume", "<container-id>", "thaw a paused container", {}, 1, 1},
    {"events",
     "[flags] <container-id>",
     "print resource usage and OOM events of a container as JSON lines",
     {{"stats", false, "print the resource usage once and exit"},
      {"interval", true, "time between stats events (default 5s)"}},
     1,
     1},
    {"ps",
     "[flags] <container-id> [ps options]",
     "list the processes of a container",
     {{"f,format", true, "table or json"}},
     1,
     1u << 10},
    {"exec",
     "[flags] <container-id> <command> [args...]",
     "run a process in a running container",
     {{"p,process", true, "a process.json to run (- for stdin) instead of the command"},
      {"t,tty", false, "allocate a pseudo-TTY"},
      {"console-socket", true, "AF_UNIX socket that receives the pty master"},
      {"cwd", true, "working directory in the container"},
      {"e,env", true, "set an environment variable (KEY=value; repeatable)"},
      {"u,user", true, "uid[:gid] to run as"},
      {"g,additional-gids", true, "an additional group (repeatable)"},
      {"c,cap", true, "add a capability (repeatable)"},
      {"no-new-privs", false, "set no_new_privs"},
      {"apparmor", true, "AppArmor profile"},
      {"process-label", true, "SELinux label"},
      {"d,detach", false, "do not wait for the process"},
      {"pid-file", true, "file to write the process's pid to"},
      {"preserve-fds", true, "pass N more file descriptors (3 onwards)"},
      {"ignore-paused", false, "exec even if the container is paused"},
      {"cgroup", true, "a sub-cgroup of the container's to run in"}},
     1,
     1u << 20},
};

void out(int fd, const std::string& text) { (void)sys::write_all(fd, text, "output"); }

std::optional<int> parse_count(const std::string& n) {
    char* end = nullptr;
    long v = std::strtol(n.c_str(), &end, 10);
    if (end == n.c_str() || *end != '\0' || v < 0 || v > 65536) return std::nullopt;
    return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    auto parsed = cli::parse_args(args, kGlobals, kCommands);
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
        out(p.command.empty() && !p.help ? 2 : 1, cli::usage_text(kGlobals, kCommands, p.command));
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
    } else if (cmd != "spec" && cmd != "features") {
        auto root = runtime::default_state_root();
        if (!root) {
            rt.log.error(root.error().message());
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
        e.cgroup = p.value("cgroup");
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
    return 1;
}
