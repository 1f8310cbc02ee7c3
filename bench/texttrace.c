/* texttrace OUT LO HI CMD ARGS...: run CMD under ptrace, single-stepping it and every process
 * and thread it starts until each execs something else, and append to OUT every distinct
 * instruction address in [LO, HI) (hex, one per line) in the order first executed.
 *
 * scripts/gen-text-order runs hako's commands under it to learn which functions a container's
 * life executes, so the linker can put them side by side (cmake/hako.order): the kernel maps a
 * file's pages 64 KiB around each fault, so text touched all over the image costs RSS and page
 * faults. A development tool, slow (every instruction is a ptrace stop); not part of the tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static const int kOptions = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                            PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;

int main(int argc, char** argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: texttrace OUT LO HI CMD ARGS...\n");
        return 2;
    }
    FILE* out = fopen(argv[1], "a");
    if (!out) {
        perror(argv[1]);
        return 2;
    }
    uintptr_t lo = strtoull(argv[2], NULL, 16), hi = strtoull(argv[3], NULL, 16);
    if (hi <= lo) return 2;
    unsigned char* seen = calloc(hi - lo, 1);
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        raise(SIGSTOP);
        execvp(argv[4], argv + 4);
        _exit(127);
    }
    int status = 0, rc = 0, started = 0;
    waitpid(pid, &status, 0);
    ptrace(PTRACE_SETOPTIONS, pid, 0, kOptions);
    ptrace(PTRACE_CONT, pid, 0, 0);  // to its exec: the launcher itself is not traced
    for (;;) {
        pid_t t = waitpid(-1, &status, __WALL);
        if (t < 0) {
            if (errno == EINTR) continue;
            break;  // ECHILD: all gone
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (t == pid) rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int sig = WSTOPSIG(status), event = status >> 16, inject = 0;
        if (event == PTRACE_EVENT_EXEC) {
            if (started) {  // hako never execs itself: something else now, let it run
                ptrace(PTRACE_DETACH, t, 0, 0);
                continue;
            }
            started = 1;  // the command itself: trace it from its first instruction
        } else if (event == 0 && sig == SIGTRAP) {
            struct user_regs_struct regs;
            if (ptrace(PTRACE_GETREGS, t, 0, &regs) == 0 && regs.rip >= lo && regs.rip < hi &&
                !seen[regs.rip - lo]) {
                seen[regs.rip - lo] = 1;
                fprintf(out, "%llx\n", (unsigned long long)regs.rip);
            }
        } else if (event == 0 && sig != SIGSTOP) {
            inject = sig;  // a signal for the tracee: deliver it
        }
        ptrace(PTRACE_SINGLESTEP, t, 0, inject);
    }
    fclose(out);
    free(seen);
    return rc;
}
