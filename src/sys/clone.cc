#include "sys/clone.h"

#include <linux/sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

namespace sys {

Result<Cloned> clone3_fork(std::uint64_t flags, int cgroup_fd) {
    int pidfd = -1;
    clone_args args{};
    args.flags = flags;
    // With CLONE_PARENT the new process is our sibling and inherits our own exit signal;
    // clone3 insists that exit_signal is 0 then.
    args.exit_signal = (flags & CLONE_PARENT) != 0 ? 0 : SIGCHLD;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    }
    if ((flags & CLONE_PIDFD) != 0) args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) return errno_error(cgroup_fd >= 0 ? "clone3 (CLONE_INTO_CGROUP)" : "clone3");
    return Cloned{static_cast<pid_t>(pid), UniqueFd(pidfd)};
}

}  // namespace sys
