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

// A stack for a child that shares our memory (clone3_vfork): mapped on demand, with a guard page
// below it, unmapped when this goes (after the child has exec'd or exited).
class ChildStack {
public:
    static Result<ChildStack> make(std::size_t size);
    ChildStack(ChildStack&& o) noexcept : base_(o.base_), size_(o.size_) { o.base_ = nullptr; }
    ChildStack& operator=(ChildStack&&) = delete;
    ChildStack(const ChildStack&) = delete;
    ChildStack& operator=(const ChildStack&) = delete;
    ~ChildStack();
    [[nodiscard]] char* low() const { return base_ + kGuard; }  // the usable part: [low, high)
    [[nodiscard]] std::size_t usable() const { return size_ - kGuard; }

private:
    static constexpr std::size_t kGuard = 4096;
    ChildStack(char* base, std::size_t size) : base_(base), size_(size) {}
    char* base_;
    std::size_t size_;
};

// clone3 with CLONE_VM | CLONE_VFORK: the child runs `fn(arg)` on `stack`, in our memory (no page
// tables copied, nothing faulted in again, nothing to unmap when it execs), while we are stopped
// until it execs or exits; then the call returns with its pid. As with vfork(2), the child may
// use the heap only because we are single-threaded and stopped, must not touch what we will use
// afterwards, and ends in execve or _exit: `fn` never returns. x86_64 only (an error elsewhere:
// the caller then forks as usual).
Result<Cloned> clone3_vfork(std::uint64_t flags, int cgroup_fd, const ChildStack& stack,
                            int (*fn)(void*), void* arg);

}  // namespace sys
