// `hako check`: what `create` would refuse or warn about for a bundle, found without creating
// anything (no state, no cgroup, no process left), and every problem listed, not only the first.
// A config that does not parse is one problem (the parser stops at the first error).
#pragma once

#include <string>
#include <vector>

#include "runtime/container.h"
#include "sys/sys_error.h"

namespace runtime {

struct CheckReport {
    std::vector<sys::SysError> problems;
    std::vector<std::string> warnings;
};

CheckReport check(const Runtime& rt, const std::string& bundle);

}  // namespace runtime
