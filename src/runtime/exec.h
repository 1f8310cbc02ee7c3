// `exec`: run one more process inside a running container.
#pragma once

#include <string>
#include <vector>

#include "runtime/container.h"
#include "spec/config.h"

namespace runtime {

struct ExecOptions {
    std::string id;
    std::string process_file;       // --process: a process JSON; else the fields below
    std::vector<std::string> args;  // the command
    bool tty = false;
    std::string console_socket;
    std::string cwd;
    std::vector<std::string> env;  // KEY=value, added to the container's
    std::string user;              // uid[:gid]
    std::vector<std::string> additional_gids;
    std::vector<std::string> caps;  // added to the process's sets
    bool no_new_privs = false;
    std::string apparmor, process_label;
    bool detach = false;
    std::string pid_file;
    int preserve_fds = 0;
    bool ignore_paused = false;
    // --cgroup, repeatable: "PATH" (every hierarchy) or "CTRL[,CTRL]:PATH", a sub-cgroup of
    // the container's to put the process in.
    std::vector<std::string> cgroups;
};

// The process's exit status (128 + signal when killed); 0 with `detach`.
sys::Result<int> exec(const Runtime& rt, const ExecOptions& opts);

// The process the exec runs: the container's own, changed by the flags (pure; unit-tested).
sys::Result<spec::Process> exec_process_spec(const spec::Process& base, const ExecOptions& opts,
                                             std::vector<std::string>& warnings);

// Where --cgroup puts an exec'd process: for each of the container's cgroup dirs (with its
// hierarchy's controllers, "" for cgroup2), the dir itself or the sub-cgroup asked for (pure).
sys::Result<std::vector<std::string>> sub_cgroup_dirs(const std::vector<std::string>& dirs,
                                                      const std::vector<std::string>& controllers,
                                                      const std::vector<std::string>& args);

}  // namespace runtime
