// Facts about processes read from /proc, and pidfd helpers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sys {

struct ProcStat {
    char state = '?';          // R, S, D, Z, T, ...
    std::uint64_t start_time;  // field 22 of /proc/<pid>/stat, in clock ticks since boot
};
// nullopt when the process does not exist.
std::optional<ProcStat> read_proc_stat(pid_t pid);
// Parse the contents of /proc/<pid>/stat (the command may contain spaces and parentheses).
std::optional<ProcStat> parse_proc_stat(const std::string& text);

// The signals whose disposition is not the default (ignored or caught), bit N-1 for signal N,
// from /proc/self/status (SigIgn | SigCgt): what a process must reset before execve, which
// keeps ignored ones. All bits set when it cannot be read (then every signal is reset).
std::uint64_t changed_signals();
// The same from the text of /proc/<pid>/status; nullopt when a line is missing or malformed.
std::optional<std::uint64_t> parse_changed_signals(const std::string& status);

Result<UniqueFd> pidfd_open(pid_t pid);
Status pidfd_send_signal(int pidfd, int sig, const std::string& what);

// A program run to completion with its standard output captured: `argv[0]` found in PATH, no
// shell, stdin from /dev/null, stderr shared, no other fd of ours.
struct Captured {
    int status = 0;  // the wait status
    std::string out;
};
Result<Captured> run_capture(const std::vector<std::string>& argv);

// "exited with status 3", "was killed by signal 9 (SIGKILL)": a wait status in words.
std::string describe_wait_status(int status);

}  // namespace sys
