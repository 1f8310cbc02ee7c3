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

}  // namespace runtime
