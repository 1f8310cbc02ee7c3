#include "sys/clone.h"

#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
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

#if defined(__x86_64__)
// clone3 whose child runs fn(arg) on the new stack and exits with its result (it never returns
// into the caller's frames, which are on another stack). rdi: args, rsi: size, rdx: fn, rcx: arg;
// r8/r9 survive the system call into the child, which starts at the stack's top (16-byte
// aligned, so the call below leaves the callee's frame as the ABI wants it).
extern "C" long hako_clone3_on_stack(clone_args* args, std::size_t size, int (*fn)(void*),
                                     void* arg);
__asm__(
    ".pushsection .text.hako_clone3_on_stack,\"ax\",@progbits\n"
    ".globl hako_clone3_on_stack\n"
    ".hidden hako_clone3_on_stack\n"
    ".type hako_clone3_on_stack,@function\n"
    "hako_clone3_on_stack:\n"
    "  mov %rdx, %r8\n"
    "  mov %rcx, %r9\n"
    "  mov $435, %eax\n"  // SYS_clone3
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"
    "  mov %r9, %rdi\n"
    "  call *%r8\n"
    "  mov %eax, %edi\n"
    "  mov $60, %eax\n"  // SYS_exit
    "  syscall\n"
    "  hlt\n"
    "1:\n"
    "  ret\n"
    ".size hako_clone3_on_stack, .-hako_clone3_on_stack\n"
    ".popsection\n");
#endif

Result<ChildStack> ChildStack::make(std::size_t size) {
    size += kGuard;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return errno_error("mmap", "child stack");
    ChildStack stack(static_cast<char*>(p), size);
    if (::mprotect(p, kGuard, PROT_NONE) < 0) return errno_error("mprotect", "child stack guard");
    return stack;
}

ChildStack::~ChildStack() {
    if (base_ != nullptr) ::munmap(base_, size_);
}

Result<Cloned> clone3_vfork(std::uint64_t flags, int cgroup_fd, const ChildStack& stack,
                            int (*fn)(void*), void* arg) {
#if defined(__x86_64__)
    int pidfd = -1;
    clone_args args{};
    args.flags = flags | CLONE_VM | CLONE_VFORK;
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<std::uint64_t>(stack.low());
    args.stack_size = stack.usable() & ~std::size_t{15};
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    }
    if ((flags & CLONE_PIDFD) != 0) args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
    long pid = hako_clone3_on_stack(&args, sizeof args, fn, arg);
    if (pid < 0) {
        errno = static_cast<int>(-pid);
        return errno_error("clone3 (CLONE_VM|CLONE_VFORK)");
    }
    return Cloned{static_cast<pid_t>(pid), UniqueFd(pidfd)};
#else
    (void)flags, (void)cgroup_fd, (void)stack, (void)fn, (void)arg;
    errno = ENOSYS;
    return errno_error("clone3 (CLONE_VM|CLONE_VFORK)");
#endif
}

}  // namespace sys
