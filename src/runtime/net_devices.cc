#include "runtime/net_devices.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "sys/child_process.h"
#include "sys/fs.h"
#include "sys/netlink.h"
#include "sys/unique_fd.h"

namespace runtime {
namespace {

std::string field_of(const std::string& host_name) {
    return "linux.netDevices.\"" + host_name + "\"";
}

// `body` in a forked child inside the network namespace `netns_fd` (setns is per thread, and
// hako's own stays where it is). The child reports a failure as text.
template <typename Body>
sys::Status in_netns(int netns_fd, const std::string& what, Body&& body) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return sys::errno_error("pipe");
    sys::UniqueFd r(p[0]), w(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) return sys::errno_error("fork");
    if (pid == 0) {
        r.reset();
        sys::Status st = ::setns(netns_fd, CLONE_NEWNET) == 0
                             ? body()
                             : sys::errno_error("join the container's network namespace");
        if (!st) {
            std::string m = st.error().message();
            (void)!::write(w.get(), m.data(), m.size());
        }
        ::_exit(st ? 0 : 1);
    }
    w.reset();
    std::string message;
    std::array<char, 1024> buf{};
    for (ssize_t n; (n = ::read(r.get(), buf.data(), buf.size())) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        message.append(buf.data(), static_cast<std::size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    return sys::plain_error(message.empty() ? what : message);
}

}  // namespace

sys::Status check_net_devices(const spec::Linux& l) {
    for (const auto& [host_name, inside] : l.net_devices) {
        if (::if_nametoindex(host_name.c_str()) == 0)
            return sys::plain_error(field_of(host_name) + ": there is no network interface " +
                                        host_name + " in the runtime's network namespace",
                                    "name one that `ip link` lists");
    }
    return {};
}

sys::Status move_net_devices(const spec::Linux& l, pid_t pid) {
    if (l.net_devices.empty()) return {};
    HAKO_ASSIGN(auto netns, sys::open_path("/proc/" + std::to_string(pid) + "/ns/net", O_RDONLY));
    for (const auto& device : l.net_devices) {
        const std::string& host_name = device.first;
        const std::string& inside = device.second;
        std::string field = field_of(host_name);
        unsigned index = ::if_nametoindex(host_name.c_str());
        if (index == 0)
            return sys::plain_error(field + ": network interface " + host_name + " is gone");
        // The kernel moves a device first and renames it after, so a taken name would fail
        // with the device already gone from here: look first.
        bool templated = inside.find("%d") != std::string::npos;
        if (!templated) {
            HAKO_TRY(in_netns(netns.get(), "look for " + inside, [&]() -> sys::Status {
                if (::if_nametoindex(inside.c_str()) == 0) return {};
                return sys::plain_error(
                    field + ": the container's network namespace already has a device named " +
                        inside,
                    "choose another name, or end it in %d to let the kernel number it");
            }));
        }
        auto addrs = sys::permanent_global_addresses(static_cast<int>(index));
        if (!addrs) return sys::fail(std::move(addrs.error()).in(field));
        auto moved = sys::move_interface(static_cast<int>(index), netns.get(), inside);
        if (!moved) {
            auto e = std::move(moved.error()).in(field);
            if (e.err == EEXIST)
                e.hint = "the container's network namespace already has a device named " + inside +
                         "; choose another name, or end it in %d to let the kernel "
                         "number it";
            return sys::fail(std::move(e));
        }
        // With a "%d" template the kernel chose the name; the index travels with the device.
        std::string name = templated ? "#" + std::to_string(index) : inside;
        HAKO_TRY(in_netns(netns.get(), "configure " + inside,
                          [&] { return sys::configure_interface(name, *addrs); }));
    }
    return {};
}

}  // namespace runtime
