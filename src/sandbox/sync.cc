#include "sandbox/sync.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sys/unix_socket.h"

namespace sandbox {
namespace {
template <std::size_t N>
void copy_into(std::array<char, N>& dst, const std::string& src) {
    std::size_t n = std::min(src.size(), N - 1);
    std::memcpy(dst.data(), src.data(), n);
    dst[n] = '\0';
}
}  // namespace

sys::Status send_message(int fd, SyncType type, pid_t pid) {
    SyncMessage m{};
    m.type = type;
    m.pid = pid;
    if (::send(fd, &m, sizeof m, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof m))
        return sys::errno_error("sync with container process");
    return {};
}

sys::Status send_failure(int fd, const sys::SysError& e) {
    SyncMessage m{};
    m.type = SyncType::kFailure;
    m.failure.err = e.err;
    copy_into(m.failure.op, e.op);
    copy_into(m.failure.path, e.path);
    copy_into(m.failure.hint, e.hint);
    copy_into(m.failure.field, e.field);
    if (::send(fd, &m, sizeof m, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof m))
        return sys::errno_error("report failure to parent");
    return {};
}

void send_warning(int fd, const std::string& text) {
    SyncMessage m{};
    m.type = SyncType::kWarning;
    copy_into(m.failure.hint, text);
    (void)::send(fd, &m, sizeof m, MSG_NOSIGNAL);
}

sys::Status send_fd_message(int sock, SyncType type, int fd, pid_t pid) {
    SyncMessage m{};
    m.type = type;
    m.pid = pid;
    return sys::send_with_fd(sock, std::string_view(reinterpret_cast<const char*>(&m), sizeof m),
                             fd, "pass fd over the sync socket");
}

sys::Result<std::optional<SyncMessage>> receive_message(int fd, sys::UniqueFd* passed) {
    SyncMessage m{};
    for (;;) {
        ssize_t n = sys::receive_with_fd(fd, &m, sizeof m, passed);
        if (n < 0 && errno == EINTR) continue;
        // A peer killed mid-conversation (SIGKILL, the OOM killer) resets the connection: for
        // the caller that is the same as the peer being gone.
        if (n < 0 && errno == ECONNRESET) return std::optional<SyncMessage>{};
        if (n < 0) return sys::errno_error("sync with container process");
        if (n == 0) return std::optional<SyncMessage>{};
        if (n != static_cast<ssize_t>(sizeof m))
            return sys::plain_error("sync with container process: short message");
        return std::optional<SyncMessage>{m};
    }
}

sys::SysError to_error(const ChildFailure& f) {
    sys::SysError e{f.op.data(), f.path.data(), f.err, f.hint.data()};
    e.field = f.field.data();
    return e;
}

}  // namespace sandbox
