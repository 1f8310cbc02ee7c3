// clone3(2) without a new stack: like fork, but with namespace flags, CLONE_PARENT and a pidfd.
// The caller is single-threaded (hako never starts threads), so the child may use the heap.
#pragma once

#include <sys/types.h>

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

}  // namespace sys
