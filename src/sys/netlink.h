// The little of rtnetlink hako needs for linux.netDevices: move a network interface into another
// network namespace under a new name, and carry its permanent global addresses over.
#pragma once

#include <string>
#include <vector>

#include "sys/sys_error.h"

namespace sys {

// An address of an interface as the kernel reported it (RTM_NEWADDR), ready to be added again
// to the same interface under another index.
struct InterfaceAddress {
    std::vector<char> message;  // ifaddrmsg + the attributes kept (address, local, broadcast)
    std::string shown;          // "10.0.0.1/24", for errors
};

// The addresses of `ifindex` (in this network namespace) that runtime-spec says travel with it:
// IFA_F_PERMANENT and global scope (RT_SCOPE_UNIVERSE), any family.
Result<std::vector<InterfaceAddress>> permanent_global_addresses(int ifindex);

// Move `ifindex` into the network namespace `netns_fd`, named `new_name` there (a "%d" in it lets
// the kernel pick a free number).
Status move_interface(int ifindex, int netns_fd, const std::string& new_name);

// In the current network namespace: add `addrs` to `name` (or "#INDEX") and bring it up.
Status configure_interface(const std::string& name, const std::vector<InterfaceAddress>& addrs);

}  // namespace sys
