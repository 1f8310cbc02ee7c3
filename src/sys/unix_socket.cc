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

Status send_with_fd(int sock, std::string_view data, int fd, const std::string& what) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
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
