/* The exec stub: the last program the container init runs before the container's own.
 *
 * CVE-2019-5736: when the container's program is "/proc/self/exe" (directly, as a "#!"
 * interpreter, or as an ELF interpreter), the kernel resolves it while the init is still hako's
 * image, so hako's host binary would run inside the container, which could then reopen it for
 * writing. So the init execs this stub from a sealed memfd instead, and the stub execs the
 * container's program: every path the container chose is resolved while /proc/self/exe is the
 * sealed, unwritable stub. It is freestanding (no libc, a few KiB), so the extra exec is cheap.
 *
 * argv: [stub, path, argv0 of the program, argv1, ...]; the environment is passed through.
 *
 * `exec` (sandbox/enter.cc) and `create` (sandbox/init.cc) exec the stub from a child that shares
 * hako's memory (vfork-like) before hako has released it: argv[0] is then "hako-exec-stub:N" or
 * "hako-exec-stub:N:F", and the stub first waits on fd N (the sync socket) for hako's "go" (a
 * message whose first word is 1). Anything else, or the socket's end (hako is gone), and it exits
 * without running anything. On "go" it closes N (the program inherits nothing of hako's); hako
 * does not wait for that: the child cleared its parent-death signal before its exec of the stub.
 * With F (exec.fifo, open for reading and writing) it then waits for
 * `start`, which writes a byte into it, and marks F close-on-exec: its closing in the exec is
 * `start`'s sign that the program is in place. Then it execs.
 */
#if !defined(__x86_64__)
#error "the exec stub is written for x86_64"
#endif

#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_execve 59
#define SYS_exit 60
#define SYS_fcntl 72
#define SYS_prctl 157
#define F_SETFD 2
#define FD_CLOEXEC 1
#define PR_SET_DUMPABLE 4
#define SYNC_GO 1

static long sys3(long n, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static void put(const char* s) {
    long n = 0;
    while (s[n]) ++n;
    sys3(SYS_write, 2, (long)s, n);
}

/* What execve's errno means for a program, in words (the stub has no strerror). */
static const char* reason(long err) {
    switch (err) {
        case 2:
            return "No such file or directory (the program, its #! interpreter or its ELF "
                   "interpreter is missing in the container)";
        case 8:
            return "Exec format error (not a program for this machine, or a script without "
                   "a #! line)";
        case 13:
            return "Permission denied (no execute permission, or a noexec mount)";
        case 1:
            return "Operation not permitted";
        case 7:
            return "Argument list too long";
        case 12:
            return "Cannot allocate memory";
        case 20:
            return "Not a directory (a component of the path)";
        case 21:
            return "Is a directory";
        case 26:
            return "Text file busy (the program is open for writing)";
        case 40:
            return "Too many levels of symbolic links";
        case 80:
            return "Accessing a corrupted shared library";
        default:
            return 0;
    }
}

/* The number after the `which`th ':' of argv[0] ("hako-exec-stub:N:F"), or -1. */
static long fd_arg(const char* arg0, int which) {
    const char* p = arg0;
    for (int seen = 0; seen < which; ++seen) {
        while (*p && *p != ':') ++p;
        if (*p != ':') return -1;
        ++p;
    }
    if (*p < '0' || *p > '9') return -1;
    long fd = 0;
    for (; *p && *p != ':'; ++p) {
        if (*p < '0' || *p > '9' || fd > 100000) return -1;
        fd = fd * 10 + (*p - '0');
    }
    return fd;
}

/* Blocks until hako's "go" on `fd`; exits quietly on anything else. Not dumpable meanwhile:
 * no process of the container may ptrace the one that holds hako's socket. */
static void await_go(long fd) {
    /* The message's type is its first word. The socket keeps message boundaries
     * (SOCK_SEQPACKET): a short read takes the head of one message and drops the rest, and
     * the small buffer keeps the stub's stack in the page the kernel filled with its
     * arguments (each page more is the container's memory). */
    unsigned int message[4];
    sys3(SYS_prctl, PR_SET_DUMPABLE, 0, 0);
    long n = sys3(SYS_read, fd, (long)message, (long)sizeof message);
    if (n < (long)sizeof message[0] || message[0] != SYNC_GO) sys3(SYS_exit, 1, 0, 0);
    if (sys3(SYS_close, fd, 0, 0) != 0) {
        /* The program must not inherit hako's socket. */
        put("hako: exec: the exec stub could not close the sync socket\n");
        sys3(SYS_exit, 127, 0, 0);
    }
}

/* Blocks until `start` writes its byte into exec.fifo (`fd`, ours for reading and writing, so
 * the read never sees an end), then marks it close-on-exec: the kernel closes it once the
 * program's exec is past its point of no return, and with no reader left `start`'s end of the
 * fifo reports an error, its sign that the program is in place (a `kill` right after `start`
 * then meets the program, not the stub). Where a seccomp profile refuses fcntl, closed now. */
static void await_start(long fd) {
    char byte;
    long n;
    do n = sys3(SYS_read, fd, (long)&byte, 1);
    while (n == -4); /* EINTR */
    if (n != 1) sys3(SYS_exit, 1, 0, 0);
    if (sys3(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC) != 0 && sys3(SYS_close, fd, 0, 0) != 0) {
        put("hako: start: the exec stub could not close exec.fifo\n");
        sys3(SYS_exit, 127, 0, 0);
    }
}

__attribute__((noreturn, used)) void stub_main(long* sp) {
    long argc = sp[0];
    char** argv = (char**)(sp + 1);
    char** envp = argv + argc + 1;
    if (argc >= 1) {
        long go = fd_arg(argv[0], 1);
        long fifo = fd_arg(argv[0], 2);
        if (go >= 0) await_go(go);
        if (fifo >= 0) await_start(fifo);
    }
    if (argc >= 3) {
        long err = -sys3(SYS_execve, (long)argv[1], (long)(argv + 2), (long)envp);
        const char* why = reason(err);
        char num[24];
        int i = (int)sizeof num - 1;
        num[i] = 0;
        do num[--i] = (char)('0' + err % 10);
        while ((err /= 10) > 0 && i > 0);
        put("hako: process.args[0]: exec ");
        put(argv[1]);
        put(": ");
        put(why ? why : "errno ");
        if (!why) put(num + i);
        put("\n");
    }
    sys3(SYS_exit, 127, 0, 0);
    for (;;) {
    }
}

__asm__(
    ".globl _start\n"
    "_start:\n"
    "  mov %rsp, %rdi\n"
    "  and $-16, %rsp\n"
    "  call stub_main\n");
