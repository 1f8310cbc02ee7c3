// The container process's identity and limits, and the final execve.
#pragma once

#include <string>
#include <vector>

#include "spec/config.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

struct ExecPlan {
    std::string path;  // resolved inside the container
    std::vector<std::string> args, env;
    mode_t umask = 022;
    std::vector<std::string> warnings;  // for the user, sent to the parent
    sys::UniqueFd stub;                 // sealed memfd holding the exec stub (CVE-2019-5736)
};

// A sealed memfd holding the exec stub (see exec_stub.c).
sys::Result<sys::UniqueFd> make_exec_stub();

// rlimits, groups, gid, uid, capabilities, no_new_privs, cwd, and the lookup of args[0] in the
// process's PATH — everything that can fail, so that `create` reports it.
sys::Result<ExecPlan> prepare_process(const spec::Spec& s);
// Close what was not asked for, reset the signal mask, execve. Returns only on failure.
void exec_process(const ExecPlan& plan, int preserve_fds) noexcept;

// Find `file` like execvp: as is when it holds a '/', else in each directory of `path_env`.
// `is_executable` tells whether a candidate path is an executable regular file (errno set when
// not). Pure apart from that callback, for the unit tests.
sys::Result<std::string> find_executable(const std::string& file, const std::string& path_env,
                                         bool (*is_executable)(const std::string&));

}  // namespace sandbox
