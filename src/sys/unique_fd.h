// UniqueFd: the one owner of a file descriptor. Outside src/sys an int fd is only ever a view of
// one a UniqueFd owns and outlives: `fd.get()` passed to a call, or a field of the contexts that
// cross clone (sandbox::InitContext, EnterContext), whose owners stay in the parent's frame while
// the child's copies of the fd table die with it. Nothing outside src/sys closes a raw fd but a
// cloned child closing its own copies early (cgroup::join_self, exec's child).
#pragma once

#include <unistd.h>

#include <utility>

namespace sys {

class UniqueFd {
public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        reset(o.release());
        return *this;
    }
    ~UniqueFd() { reset(); }

    [[nodiscard]] int get() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    [[nodiscard]] int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);  // Linux frees the fd even on EINTR: never retry
        fd_ = fd;
    }

private:
    int fd_;
};

}  // namespace sys
