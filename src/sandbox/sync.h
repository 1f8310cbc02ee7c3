// The parent <-> container-init protocol on a SOCK_SEQPACKET socketpair: one message per write,
// each small enough to be atomic. The child never throws; a failure travels as a fixed record.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>

#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

struct ChildFailure {
    std::int32_t err;
    std::array<char, 256> op;
    std::array<char, 1024> path;
    std::array<char, 1024> hint;
};

enum class SyncType : std::uint32_t {
    kGo = 1,     // parent -> child: cgroups joined, carry on
    kNeedMaps,   // child -> parent: I unshared a user namespace, write my id maps
    kMapsDone,   // parent -> child
    kInitPid,    // child -> parent: `pid` is the container init (after one more fork)
    kReady,      // init -> parent: set up, now waiting on exec.fifo
    kFailure,    // child -> parent: `failure` says what went wrong
    kWarning,    // child -> parent: `failure.hint` is a warning for the user
    kSeccompFd,  // init -> parent: the seccomp notify fd rides along (SCM_RIGHTS)
    kRunHooks,   // init -> parent: environment made; run prestart and createRuntime hooks
    kHooksDone,  // parent -> init: done; `pid` is the init's pid as the runtime sees it
};

struct SyncMessage {
    SyncType type;
    std::int32_t pid;
    ChildFailure failure;
};
static_assert(sizeof(SyncMessage) <= 4096, "must fit PIPE_BUF for one atomic write");

sys::Status send_message(int fd, SyncType type, pid_t pid = 0);
sys::Status send_failure(int fd, const sys::SysError& e);
void send_warning(int fd, const std::string& text);
sys::Status send_fd_message(int sock, SyncType type, int fd);
// nullopt on EOF (the peer exited or execve'd). A passed fd lands in `*fd` when given.
sys::Result<std::optional<SyncMessage>> receive_message(int fd, sys::UniqueFd* passed = nullptr);
sys::SysError to_error(const ChildFailure& f);

}  // namespace sandbox
