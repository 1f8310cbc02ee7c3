#include "sys/unix_socket.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

namespace sys {

Result<UniqueFd> connect_unix(const std::string& path, const std::string& what) {
    int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return errno_error(what + ": socket");
    UniqueFd owned(sock);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        return plain_error(what + ": " + path + " is longer than a unix socket path may be");
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    if (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return errno_error(what + ": connect", path);
    return owned;
}

namespace {

// One buffer and room for one fd: what both directions of fd passing use.
struct OneFdMessage {
    iovec iov;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};

    OneFdMessage(void* data, std::size_t len) : iov{data, len} {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
    }
};

}  // namespace

ssize_t receive_with_fd(int sock, void* buf, std::size_t len, UniqueFd* passed) {
    OneFdMessage m(buf, len);
    ssize_t n = ::recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC);
    for (cmsghdr* c = CMSG_FIRSTHDR(&m.msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&m.msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int got = -1;
        std::memcpy(&got, CMSG_DATA(c), sizeof got);
        UniqueFd owned(got);
        if (passed != nullptr) *passed = std::move(owned);
    }
    return n;
}

Status send_with_fd(int sock, std::string_view data, int fd, const std::string& what) {
    OneFdMessage m(const_cast<char*>(data.data()), data.size());
    msghdr& msg = m.msg;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) != static_cast<ssize_t>(data.size()))
        return errno_error(what + ": send");
    return {};
}

}  // namespace sys
