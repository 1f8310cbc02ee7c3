// linux.resources as cgroup file writes: pure translation (unit-tested), then applied to the
// container's directories. On v1 each write names its controller; on v2 (unified, or the
// cgroup2 half of a hybrid host) the controller is "".
#pragma once

#include <string>
#include <vector>

#include "spec/config.h"

namespace cgroup {

struct FileWrite {
    std::string controller;  // v1 controller ("memory"), or "" for the v2 hierarchy
    std::string file;
    std::string value;
    std::string field;  // the config field it comes from, for errors
};

// The writes for a v1 (legacy or hybrid) host. Hugepage limits and `unified` go to v2 on a
// hybrid host (controller ""), since this host's hugetlb lives there.
std::vector<FileWrite> v1_writes(const spec::Resources& r);
// The writes for a unified host, with runc's conversions (shares -> weight, ...).
std::vector<FileWrite> v2_writes(const spec::Resources& r);

// The device rules a container gets: its own, then the devices every container needs (runc's
// defaults). Empty when it has none (the cgroup is left as it is).
std::vector<spec::DeviceRule> effective_device_rules(const std::vector<spec::DeviceRule>& rules);

// runc's cpu.shares (2..262144) -> cpu.weight (1..10000).
std::uint64_t shares_to_weight(std::uint64_t shares);
// blkio weight (10..1000) -> io.weight (1..10000).
std::uint64_t blkio_to_io_weight(std::uint64_t weight);

}  // namespace cgroup
