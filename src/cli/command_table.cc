// The command line's grammar: runc's commands and flags, as one table (main.cc parses with it;
// the command-line fuzzer too).
#include "cli/command_table.h"

namespace cli {
namespace {

const std::vector<FlagSpec> kGlobals = {
    {"root", true, "root directory for storage of container state (default /run/hako)"},
    {"log", true, "log file (default: stderr only)"},
    {"log-format", true, "log format: text or json"},
    {"debug", false, "enable debug logging"},
    {"systemd-cgroup", false,
     "the container's cgroup is a systemd unit (cgroupsPath \"slice:prefix:name\")"},
    {"rootless", true, "ignore cgroup permission errors: true, false or auto"},
    {"criu", true, "the criu binary checkpoint and restore run (default: criu in PATH)"},
};

const std::vector<FlagSpec> kCreateFlags = {
    {"b,bundle", true, "path to the root of the bundle directory (default .)"},
    {"console-socket", true, "AF_UNIX socket that receives the pty master"},
    {"pid-file", true, "file to write the container init's pid to"},
    {"no-pivot", false, "do not use pivot_root (for ramfs roots)"},
    {"no-new-keyring", false, "do not create a new session keyring"},
    {"preserve-fds", true, "pass N more file descriptors (3 onwards) to the container"},
};

// What checkpoint and restore both take (criu's options, as runc names them).
const std::vector<FlagSpec> kCriuFlags = {
    {"image-path", true, "where the checkpoint's images are (default ./checkpoint)"},
    {"work-path", true, "where criu writes its log and work files (default: the image path)"},
    {"tcp-established", false, "checkpoint/restore established TCP connections"},
    {"ext-unix-sk", false, "allow external unix sockets"},
    {"shell-job", false, "the container was started from a shell (a session of its own)"},
    {"file-locks", false, "handle file locks"},
    {"manage-cgroups-mode", true, "cgroups mode: soft (default), full, strict or ignore"},
    {"empty-ns", true, "a namespace to leave to the caller: network (repeatable)"},
    {"auto-dedup", false, "deduplicate the images' pages as they are read or written"},
    {"lazy-pages", false, "serve the memory lazily (checkpoint with --page-server) / fetch it"},
};

std::vector<FlagSpec> checkpoint_flags() {
    auto f = kCriuFlags;
    f.push_back({"parent-path", true, "a pre-dump's images, relative to the image path"});
    f.push_back({"leave-running", false, "leave the container running after the dump"});
    f.push_back({"pre-dump", false, "dump the memory only, for a later dump to complete"});
    f.push_back({"page-server", true, "ADDRESS:PORT of a criu page server to send pages to"});
    f.push_back({"status-fd", true, "with --lazy-pages: fd criu writes a \\0 to once it serves"});
    return f;
}

std::vector<FlagSpec> restore_flags() {
    auto f = kCriuFlags;
    f.push_back({"b,bundle", true, "path to the root of the bundle directory (default .)"});
    f.push_back({"console-socket", true, "AF_UNIX socket that receives the pty master"});
    f.push_back({"pid-file", true, "file to write the restored init's pid to"});
    f.push_back({"d,detach", false, "detach from the restored container's process"});
    f.push_back({"no-subreaper", false, "accepted for runc compatibility"});
    f.push_back({"no-pivot", false, "accepted for runc compatibility"});
    f.push_back({"lsm-profile", true, "the LSM profile of the restored processes (TYPE:NAME)"});
    f.push_back({"lsm-mount-context", true, "the SELinux mount context of the restored mounts"});
    return f;
}

std::vector<FlagSpec> run_flags() {
    auto f = kCreateFlags;
    f.push_back({"d,detach", false, "detach from the container's process"});
    f.push_back({"keep", false, "do not delete the container after it exits"});
    f.push_back({"no-subreaper", false, "accepted for runc compatibility"});
    return f;
}

const std::vector<CommandSpec> kCommands = {
    {"create", "[flags] <container-id>", "create a container", kCreateFlags, 1, 1},
    {"run", "[flags] <container-id>", "create and run a container", run_flags(), 1, 1},
    {"start", "<container-id>", "start a created container", {}, 1, 1},
    {"checkpoint", "[flags] <container-id>", "checkpoint a running container with CRIU",
     checkpoint_flags(), 1, 1},
    {"restore", "[flags] <container-id>", "restore a container from a checkpoint with CRIU",
     restore_flags(), 1, 1},
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
    {"man",
     "[command]",
     "print a manual page (troff): hako(8), or hako-COMMAND(8)",
     {{"list", false, "list the commands that have a page"}},
     0,
     1},
    {"completion", "bash", "print the bash completion script", {}, 1, 1},
    {"doctor",
     "[flags]",
     "what this host can and cannot do for containers, and what each gap disables",
     {{"f,format", true, "text or json"}},
     0,
     0},
    {"check",
     "[flags]",
     "every problem create would find with a bundle, without creating anything",
     {{"b,bundle", true, "the bundle (default: the current directory)"},
      {"f,format", true, "text or json"}},
     0,
     0},
    {"pause", "<container-id>", "freeze every process of a container", {}, 1, 1},
    {"update",
     "[flags] <container-id>",
     "change the resource limits of a container",
     {{"r,resources", true, "a linux.resources JSON file (- for stdin)"},
      {"memory", true, "memory limit (bytes, or with a unit: 50M, 1g)"},
      {"memory-reservation", true, "memory soft limit (bytes or with a unit)"},
      {"memory-swap", true, "memory + swap limit (bytes or with a unit; -1: unlimited)"},
      {"kernel-memory", true, "ignored (kernel memory limits do nothing)"},
      {"kernel-memory-tcp", true, "kernel TCP buffer limit (cgroup v1; bytes or with a unit)"},
      {"cpu-share,cpu-shares", true, "CPU shares"},
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

}  // namespace

const std::vector<FlagSpec>& global_flags() { return kGlobals; }
const std::vector<CommandSpec>& command_specs() { return kCommands; }

}  // namespace cli
