// The container process's identity and limits, and the final execve.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/seccomp.h"
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
    sys::UniqueFd seccomp_notify;       // when the filter uses SCMP_ACT_NOTIFY
};

// A sealed memfd holding the exec stub (see exec_stub.c).
sys::Result<sys::UniqueFd> make_exec_stub();

// rlimits, groups, gid, uid, capabilities, no_new_privs, cwd, and the lookup of args[0] in the
// process's PATH — everything that can fail, so that `create` reports it. The cwd and every
// path are resolved inside the root; the caller has closed every fd the container must not
// reach. `filter` (may be empty) is loaded after all of that, so a profile need not allow what
// hako does before it: then only the capability sets (without noNewPrivileges), the messages to
// the parent, the fifo and the execs follow.
// `stub` is the exec stub when the caller made it already (else it is made here).
// `reset_signals`: the signals to set back to their default (sys::changed_signals(), read by
// the parent: one read of /proc instead of a sigaction call for each of 64 signals).
sys::Result<ExecPlan> prepare_process(const spec::Spec& s, SeccompFilter& filter, int preserve_fds,
                                      std::uint64_t reset_signals,
                                      sys::UniqueFd stub = sys::UniqueFd(),
                                      std::array<int, 2> keep_open = {-1, -1});
// The whole preparation of the container's process (init or exec): build the seccomp filter,
// prepare, pass warnings and the notify fd to the parent on `sync_fd`.
sys::Result<ExecPlan> prepare_with_seccomp(const spec::Spec& s, int preserve_fds, int sync_fd,
                                           std::uint64_t reset_signals,
                                           sys::UniqueFd stub = sys::UniqueFd(),
                                           std::array<int, 2> keep_open = {-1, -1});
// For a child that shares the parent's memory (`shared`; else nothing): clears the parent-death
// signal, before the seccomp filter (a profile need not allow prctl). From here the parent may
// exit once it has sent "go": had it died first, our messages find no reader, or the stub finds
// the sync socket's end and exits without running anything. Nothing of ours may block after
// this (the shared path has no hooks or seccomp agents to wait for).
sys::Status outlive_parent_from_here(bool shared);
// execve the program through the exec stub. Returns only on failure.
// With `go_fd` >= 0 the stub first waits there for the parent's "go", and with `start_fd` (an
// exec.fifo open for reading and writing) then for `start` (see exec_stub.c): for a child that
// shares the parent's memory and so cannot wait itself. Both fds must survive the exec
// (prepare_with_seccomp's `keep_open`).
void exec_process(const ExecPlan& plan, int go_fd = -1, int start_fd = -1) noexcept;

// Find `file` like execvp: as is when it holds a '/', else in each directory of `path_env`.
// `is_executable` tells whether a candidate path is an executable regular file (errno set when
// not). Pure apart from that callback, for the unit tests.
sys::Result<std::string> find_executable(const std::string& file, const std::string& path_env,
                                         bool (*is_executable)(const std::string&));
// The real callback: a regular file this process may execute (errno says why not).
bool is_executable_file(const std::string& path);

}  // namespace sandbox
