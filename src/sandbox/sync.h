// The parent <-> container-init protocol on a SOCK_SEQPACKET socketpair: one message per write,
// each small enough to be atomic. The child never throws; a failure travels as a fixed record.
#pragma once

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <optional>

#include "sys/clone.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

struct ChildFailure {
    std::int32_t err;
    std::array<char, 256> op;
    std::array<char, 1024> path;
    std::array<char, 1024> hint;
    std::array<char, 256> field;
};

enum class SyncType : std::uint32_t {
    kGo = 1,            // parent -> child: cgroups joined, carry on
    kNeedMaps,          // child -> parent: I unshared a user namespace, write my id maps
    kMapsDone,          // parent -> child
    kInitPid,           // child -> parent: `pid` is the container init (after one more fork)
    kReady,             // init -> parent: set up, now waiting on exec.fifo
    kFailure,           // child -> parent: `failure` says what went wrong
    kWarning,           // child -> parent: `failure.hint` is a warning for the user
    kSeccompFd,         // init -> parent: the seccomp notify fd rides along (SCM_RIGHTS)
    kRunHooks,          // init -> parent: environment made; run prestart and createRuntime hooks
    kHooksDone,         // parent -> init: done; `pid` is the init's pid as the runtime sees it
    kConsoleFd,         // init -> parent: the pty master rides along (SCM_RIGHTS)
    kNeedMountSources,  // init -> parent: open the bind sources my user namespace cannot reach
    kMountSource,       // parent -> init: mounts[pid]'s source rides along (SCM_RIGHTS)
    kMountSourcesDone,  // parent -> init
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
sys::Status send_fd_message(int sock, SyncType type, int fd, pid_t pid = 0);
// nullopt on EOF (the peer exited or execve'd). A passed fd lands in `*fd` when given.
sys::Result<std::optional<SyncMessage>> receive_message(int fd, sys::UniqueFd* passed = nullptr);
sys::SysError to_error(const ChildFailure& f);

// pid and time namespaces apply to children only: fork the process that runs `body` as our
// sibling (CLONE_PARENT, so hako's caller-side process can wait for it), report its pid on
// `sync_fd`, and only then let it run, so its own messages come after that one. Then exit.
template <typename Body>
[[noreturn]] void fork_sibling_and_exit(int sync_fd, Body&& body) {
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) < 0) {
        (void)send_failure(sync_fd, sys::SysError{"pipe", {}, errno, {}});
        ::_exit(1);
    }
    sys::UniqueFd gate_r(gate[0]), gate_w(gate[1]);
    auto child = sys::clone3_fork(CLONE_PARENT);
    if (!child) {
        (void)send_failure(sync_fd, child.error());
        ::_exit(1);
    }
    if (child->pid == 0) {
        gate_w.reset();
        char byte = 0;
        if (::read(gate_r.get(), &byte, 1) != 1) ::_exit(1);
        body();
        ::_exit(1);
    }
    (void)send_message(sync_fd, SyncType::kInitPid, child->pid);
    (void)!::write(gate_w.get(), "g", 1);
    ::_exit(0);
}

}  // namespace sandbox
