// `hako doctor`: what this host can and cannot do for containers, and what each missing piece
// disables. Every fact is probed (a syscall tried, a file read), never assumed from a version.
#pragma once

#include <string>
#include <vector>

namespace runtime {

struct Finding {
    std::string area;  // "cgroups", "user namespaces", "kernel", ...
    std::string name;  // "openat2"
    bool ok = false;
    std::string detail;    // what was found
    std::string disables;  // when not ok: what does not work then
};

std::vector<Finding> doctor();

// Why --systemd-cgroup cannot be honoured here, in words: no systemd to talk to (PID 1 is not
// systemd, or the bus it would be reached on is missing: the system bus for root, the user's
// own bus when rootless); empty where both are there.
std::string systemd_cgroup_refusal(bool rootless);

}  // namespace runtime
