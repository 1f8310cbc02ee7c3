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
Result<Cloned> clone3_fork(std::uint64_t flags);

}  // namespace sys
