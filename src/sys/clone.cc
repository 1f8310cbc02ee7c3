#include "sys/clone.h"

#include <linux/sched.h>
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
// clone3 whose child runs fn(arg) and exits with its result. With no stack in `args` the child
// starts on ours, at our stack pointer: everything it pushes lands below this function's return
// address, and it never returns into the caller's frames (which the parent returns to once the
// child has exec'd or exited). rdi: args, rsi: size, rdx: fn, rcx: arg; r8/r9 survive the
// system call into the child, which aligns the stack to 16 bytes before the call, as the ABI
// wants.
extern "C" long hako_clone3_run(clone_args* args, std::size_t size, int (*fn)(void*), void* arg);
__asm__(
    ".pushsection .text.hako_clone3_run,\"ax\",@progbits\n"
    ".globl hako_clone3_run\n"
    ".hidden hako_clone3_run\n"
    ".type hako_clone3_run,@function\n"
    "hako_clone3_run:\n"
    "  mov %rdx, %r8\n"
    "  mov %rcx, %r9\n"
    "  mov $435, %eax\n"  // SYS_clone3
    "  syscall\n"
    "  test %rax, %rax\n"
    "  jnz 1f\n"
    "  xor %ebp, %ebp\n"
    "  and $-16, %rsp\n"
    "  mov %r9, %rdi\n"
    "  call *%r8\n"
    "  mov %eax, %edi\n"
    "  mov $60, %eax\n"  // SYS_exit
    "  syscall\n"
    "  hlt\n"
    "1:\n"
    "  ret\n"
    ".size hako_clone3_run, .-hako_clone3_run\n"
    ".popsection\n");
#endif

Result<Cloned> clone3_vfork(std::uint64_t flags, int cgroup_fd, int (*fn)(void*), void* arg) {
#if defined(__x86_64__)
    int pidfd = -1;
    clone_args args{};
    args.flags = flags | CLONE_VM | CLONE_VFORK;
    args.exit_signal = SIGCHLD;
    if (cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = static_cast<std::uint64_t>(cgroup_fd);
    }
    if ((flags & CLONE_PIDFD) != 0) args.pidfd = reinterpret_cast<std::uint64_t>(&pidfd);
    long pid = hako_clone3_run(&args, sizeof args, fn, arg);
    if (pid < 0) {
        errno = static_cast<int>(-pid);
        return errno_error("clone3 (CLONE_VM|CLONE_VFORK)");
    }
    return Cloned{static_cast<pid_t>(pid), UniqueFd(pidfd)};
#else
    (void)flags, (void)cgroup_fd, (void)fn, (void)arg;
    errno = ENOSYS;
    return errno_error("clone3 (CLONE_VM|CLONE_VFORK)");
#endif
}

}  // namespace sys
