#include "sys/proc.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sys/child_process.h"
#include "sys/clone.h"
#include "sys/fs.h"
#include "sys/text.h"

namespace sys {

std::optional<std::uint64_t> parse_changed_signals(const std::string& status) {
    std::uint64_t mask = 0;
    int found = 0;
    for (const char* key : {"\nSigIgn:", "\nSigCgt:"}) {
        std::size_t at = status.find(key);
        if (at == std::string::npos) return std::nullopt;
        const char* start = status.c_str() + at + std::strlen(key);
        char* end = nullptr;
        errno = 0;
        unsigned long long v = std::strtoull(start, &end, 16);
        if (end == start || errno != 0 || (*end != '\n' && *end != '\0')) return std::nullopt;
        mask |= v;
        ++found;
    }
    return found == 2 ? std::optional<std::uint64_t>(mask) : std::nullopt;
}

std::uint64_t changed_signals() {
    auto text = read_file("/proc/self/status");
    auto mask = text ? parse_changed_signals(*text) : std::nullopt;
    return mask.value_or(~std::uint64_t{0});
}

std::optional<ProcStat> parse_proc_stat(const std::string& text) {
    // "pid (comm) state ppid ..." — comm may hold ')' itself, so split at the last one.
    size_t close = text.rfind(')');
    if (close == std::string::npos || close + 2 >= text.size()) return std::nullopt;
    ProcStat st{};
    st.state = text[close + 2];
    // After ") " come fields 3.. ; start_time is field 22.
    size_t pos = close + 2;
    for (int field = 3; field < 22; ++field) {
        pos = text.find(' ', pos);
        if (pos == std::string::npos) return std::nullopt;
        ++pos;
    }
    size_t end = text.find(' ', pos);
    auto start = parse_u64(std::string_view(text).substr(
        pos, end == std::string::npos ? std::string::npos : end - pos));
    if (!start) return std::nullopt;
    st.start_time = *start;
    return st;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    auto text = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!text) return std::nullopt;
    return parse_proc_stat(*text);
}

Result<UniqueFd> pidfd_open(pid_t pid) {
    long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return errno_error("pidfd_open", "pid " + std::to_string(pid));
    return UniqueFd(static_cast<int>(fd));
}

Status pidfd_send_signal(int pidfd, int sig, const std::string& what) {
    if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0)
        return errno_error("kill", what);
    return {};
}

std::string describe_wait_status(int status) {
    if (WIFSIGNALED(status)) {
        // "was killed by signal 31 (SIGSYS: bad system call)": the number, the name, and the
        // words (as runc prints them, lower case).
        const char* name = ::sigabbrev_np(WTERMSIG(status));
        const char* words = ::sigdescr_np(WTERMSIG(status));
        std::string what;
        if (name != nullptr) what = std::string("SIG") + name;
        if (words != nullptr) {
            std::string w = words;
            if (!w.empty())
                w[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(w[0])));
            what += (what.empty() ? "" : ": ") + w;
        }
        return "was killed by signal " + std::to_string(WTERMSIG(status)) +
               (what.empty() ? std::string() : " (" + what + ")");
    }
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

Result<Captured> run_capture(const std::vector<std::string>& argv) {
    if (argv.empty()) return plain_error("run: no program given");
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return errno_error("pipe", argv[0]);
    UniqueFd read_end(p[0]), write_end(p[1]);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    auto child = clone3_fork(CLONE_PIDFD);
    if (!child) return fail(child.error());
    if (child->pid == 0) {
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) ::dup2(null, 0);
        ::dup2(write_end.get(), 1);
        ::syscall(SYS_close_range, 3U, ~0U, 0);
        ::execvp(cargv[0], cargv.data());
        ::_exit(127);
    }
    ChildProcess proc(child->pid, std::move(child->pidfd));
    write_end.reset();
    auto out = read_fd(read_end.get());
    Captured c;
    c.status = proc.wait();
    if (!out) return fail(out.error());
    c.out = std::move(*out);
    return c;
}

}  // namespace sys
