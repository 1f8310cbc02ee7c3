// clone3(2) without a new stack: like fork, but with namespace flags, CLONE_PARENT and a pidfd.
// The caller is single-threaded (hako never starts threads), so the child may use the heap.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "sys/child_process.h"
#include "sys/sys_error.h"

namespace sys {

struct Cloned {
    pid_t pid = 0;   // 0 in the child
    UniqueFd pidfd;  // in the parent
};
// With `cgroup_fd` (a cgroup2 directory opened O_RDONLY), CLONE_INTO_CGROUP: the child starts
// in that cgroup and never runs, or is charged, anywhere else.
Result<Cloned> clone3_fork(std::uint64_t flags, int cgroup_fd = -1);

// clone3 with CLONE_VM | CLONE_VFORK, as vfork(2): the child runs `fn(arg)` on our stack, below
// the frame of this call (we are stopped until it execs or exits, so nothing of ours lives
// there; the kernel's stack guard gap is below it), in our memory: no page tables copied,
// nothing faulted in again, no stack to map or unmap (an unmap would have to flush the TLB of
// the CPU the child ran on). Then the call returns with its pid. As with vfork(2), the child
// may use the heap only because we are single-threaded and stopped, must not touch what we will
// use afterwards, and ends in execve or _exit: `fn` never returns. x86_64 only (an error
// elsewhere: the caller then forks as usual).
Result<Cloned> clone3_vfork(std::uint64_t flags, int cgroup_fd, int (*fn)(void*), void* arg);

}  // namespace sys
