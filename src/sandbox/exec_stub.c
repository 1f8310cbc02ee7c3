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
 */
#if !defined(__x86_64__)
#error "the exec stub is written for x86_64"
#endif

#define SYS_write 1
#define SYS_execve 59
#define SYS_exit 60

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

__attribute__((noreturn, used)) void stub_main(long* sp) {
    long argc = sp[0];
    char** argv = (char**)(sp + 1);
    char** envp = argv + argc + 1;
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
