#include "sys/netlink.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "sys/unique_fd.h"

namespace sys {
namespace {

constexpr std::size_t align(std::size_t n) { return (n + 3U) & ~std::size_t{3}; }

// One request: the header, a fixed part (ifinfomsg or ifaddrmsg), then attributes.
class Request {
public:
    Request(std::uint16_t type, std::uint16_t flags, const void* fixed, std::size_t len) {
        nlmsghdr h{};
        h.nlmsg_type = type;
        h.nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST);
        h.nlmsg_seq = 1;
        append(&h, sizeof h);
        append(fixed, len);
    }
    void attr(std::uint16_t type, const void* data, std::size_t len) {
        rtattr a{};
        a.rta_type = type;
        a.rta_len = static_cast<std::uint16_t>(RTA_LENGTH(len));
        append(&a, sizeof a);
        append(data, len);
    }
    void raw(const void* data, std::size_t len) { append(data, len); }
    std::vector<char>& finish() {
        auto* h = reinterpret_cast<nlmsghdr*>(buf_.data());
        h->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
        return buf_;
    }

private:
    void append(const void* data, std::size_t len) {
        const auto* p = static_cast<const char*>(data);
        buf_.insert(buf_.end(), p, p + len);
        buf_.resize(align(buf_.size()));
    }
    std::vector<char> buf_;
};

Result<UniqueFd> open_rtnetlink() {
    int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return errno_error("socket(AF_NETLINK)");
    return UniqueFd(fd);
}

// Send, then read until the ACK (or, for a dump, NLMSG_DONE), handing each data message to `each`.
template <typename Each>
Status transact(int sock, std::vector<char>& msg, const std::string& what, Each&& each) {
    if (::send(sock, msg.data(), msg.size(), 0) < 0) return errno_error("netlink: " + what);
    std::array<char, 32768> buf{};
    for (;;) {
        ssize_t n = ::recv(sock, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("netlink: " + what);
        // NLMSG_OK/NLMSG_NEXT by hand: the macros mix signed and unsigned lengths.
        auto left = static_cast<std::size_t>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
             left >= sizeof(nlmsghdr) && h->nlmsg_len >= sizeof(nlmsghdr) && h->nlmsg_len <= left;
             left -= std::min<std::size_t>(left, NLMSG_ALIGN(h->nlmsg_len)),
                   h = reinterpret_cast<nlmsghdr*>(reinterpret_cast<char*>(h) +
                                                   NLMSG_ALIGN(h->nlmsg_len))) {
            if (h->nlmsg_type == NLMSG_DONE) return {};
            if (h->nlmsg_type == NLMSG_ERROR) {
                const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
                if (e->error == 0) return {};
                errno = -e->error;
                return errno_error(what);
            }
            each(h);
        }
    }
}

}  // namespace

Result<std::vector<InterfaceAddress>> permanent_global_addresses(int ifindex) {
    auto sock = open_rtnetlink();
    if (!sock) return fail(sock.error());
    ifaddrmsg all{};
    all.ifa_family = AF_UNSPEC;
    Request req(RTM_GETADDR, NLM_F_DUMP, &all, sizeof all);
    std::vector<InterfaceAddress> out;
    auto st = transact(sock->get(), req.finish(), "list addresses", [&](nlmsghdr* h) {
        if (h->nlmsg_type != RTM_NEWADDR) return;
        const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
        if (static_cast<int>(ifa->ifa_index) != ifindex || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
            return;
        std::uint32_t flags = ifa->ifa_flags;
        int len = static_cast<int>(IFA_PAYLOAD(h));
        for (auto* a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len))
            if (a->rta_type == IFA_FLAGS) std::memcpy(&flags, RTA_DATA(a), sizeof flags);
        if ((flags & IFA_F_PERMANENT) == 0) return;
        InterfaceAddress addr;
        ifaddrmsg copy = *ifa;
        copy.ifa_index = 0;  // set when added
        const auto* p = reinterpret_cast<const char*>(&copy);
        addr.message.assign(p, p + sizeof copy);
        len = static_cast<int>(IFA_PAYLOAD(h));
        for (auto* a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
            if (a->rta_type != IFA_ADDRESS && a->rta_type != IFA_LOCAL &&
                a->rta_type != IFA_BROADCAST)
                continue;
            const auto* ap = reinterpret_cast<const char*>(a);
            addr.message.insert(addr.message.end(), ap, ap + RTA_ALIGN(a->rta_len));
            if (a->rta_type == IFA_ADDRESS || addr.shown.empty()) {
                std::array<char, INET6_ADDRSTRLEN> text{};
                if (::inet_ntop(ifa->ifa_family, RTA_DATA(a), text.data(), text.size()) != nullptr)
                    addr.shown =
                        std::string(text.data()) + "/" + std::to_string(ifa->ifa_prefixlen);
            }
        }
        out.push_back(std::move(addr));
    });
    if (!st) return fail(st.error());
    return out;
}

Status move_interface(int ifindex, int netns_fd, const std::string& new_name) {
    auto sock = open_rtnetlink();
    if (!sock) return fail(sock.error());
    ifinfomsg ifi{};
    ifi.ifi_family = AF_UNSPEC;
    ifi.ifi_index = ifindex;
    Request req(RTM_NEWLINK, NLM_F_ACK, &ifi, sizeof ifi);
    auto fd = static_cast<std::uint32_t>(netns_fd);
    req.attr(IFLA_NET_NS_FD, &fd, sizeof fd);
    req.attr(IFLA_IFNAME, new_name.c_str(), new_name.size() + 1);
    return transact(sock->get(), req.finish(), "move into the container's network namespace",
                    [](nlmsghdr*) {});
}

Status configure_interface(const std::string& name, const std::vector<InterfaceAddress>& addrs) {
    unsigned index = name.rfind('#', 0) == 0 ? static_cast<unsigned>(std::stoul(name.substr(1)))
                                             : ::if_nametoindex(name.c_str());
    if (index == 0) return errno_error("find interface", name);
    auto sock = open_rtnetlink();
    if (!sock) return fail(sock.error());
    for (const auto& a : addrs) {
        std::vector<char> body = a.message;
        reinterpret_cast<ifaddrmsg*>(body.data())->ifa_index = index;
        Request req(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body.data(),
                    sizeof(ifaddrmsg));
        req.raw(body.data() + sizeof(ifaddrmsg), body.size() - sizeof(ifaddrmsg));
        HAKO_TRY(transact(sock->get(), req.finish(), "add address " + a.shown + " to " + name,
                          [](nlmsghdr*) {}));
    }
    ifinfomsg up{};
    up.ifi_family = AF_UNSPEC;
    up.ifi_index = static_cast<int>(index);
    up.ifi_flags = IFF_UP;
    up.ifi_change = IFF_UP;
    Request req(RTM_NEWLINK, NLM_F_ACK, &up, sizeof up);
    return transact(sock->get(), req.finish(), "set " + name + " up", [](nlmsghdr*) {});
}

}  // namespace sys
