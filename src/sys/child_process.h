// ChildProcess: owns a child we started. Unless release()d, it is killed and reaped when the
// owner goes out of scope, so a failed create never leaves a process behind.
#pragma once

#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <utility>

#include "sys/unique_fd.h"

namespace sys {

class ChildProcess {
public:
    ChildProcess() = default;
    ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ChildProcess(ChildProcess&& o) noexcept
        : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)) {}
    ChildProcess& operator=(ChildProcess&& o) noexcept {
        kill_and_reap();
        pid_ = std::exchange(o.pid_, -1);
        pidfd_ = std::move(o.pidfd_);
        return *this;
    }
    ~ChildProcess() { kill_and_reap(); }

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] int pidfd() const { return pidfd_.get(); }
    // Keep the process running; the caller takes over its fate.
    pid_t release() {
        pidfd_.reset();
        return std::exchange(pid_, -1);
    }
    // Wait for the child to exit and return its wait status (-1 on error).
    int wait() {
        int status = -1;
        if (pid_ > 0) {
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
            }
            pid_ = -1;
            pidfd_.reset();
        }
        return status;
    }

private:
    void kill_and_reap() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        wait();
    }

    pid_t pid_ = -1;
    UniqueFd pidfd_;
};

}  // namespace sys
