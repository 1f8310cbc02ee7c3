// What `events` reports: a container's resource usage (runc's Stats JSON) read from its cgroups,
// and OOM kills as they happen (the v1 eventfd on memory.oom_control, v2 memory.events).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace cgroup {

// "key value" lines (memory.stat, cpu.stat, memory.events) -> map; unparsable lines skipped.
std::map<std::string, std::uint64_t> parse_flat_keyed(const std::string& text);

// Reads a cgroup file; std::nullopt when it does not exist here (tests give their own).
using FileReader = std::function<std::optional<std::string>(const std::string& path)>;
FileReader real_files();

// runc's `events --stats` "data" object (cpu, memory, pids, blkio, hugetlb) as JSON, from the
// container's directories (`dirs` parallel to host.hierarchies).
std::string stats_json(const Host& host, const std::vector<std::string>& dirs,
                       const FileReader& read);

// The container's memory usage in bytes (v1 memory.usage_in_bytes, v2 memory.current).
std::optional<std::uint64_t> memory_usage(const Host& host, const std::vector<std::string>& dirs);

// A readable fd that fires when the kernel OOM-kills in the container's memory cgroup.
class OomWatch {
public:
    // Without a memory controller for the container there is nothing to watch: fd() is -1.
    static sys::Result<OomWatch> open(const Host& host, const std::vector<std::string>& dirs);
    [[nodiscard]] int fd() const { return fd_.get(); }
    // After fd() polled readable: how many OOM kills happened since the last call.
    sys::Result<std::uint64_t> consume();

private:
    sys::UniqueFd fd_;        // v1: eventfd; v2: inotify on memory.events
    sys::UniqueFd control_;   // v1: memory.oom_control, open while the eventfd is registered
    std::string events_;      // v2: the memory.events path
    std::string dir_;         // v1: the memory cgroup watched
    std::uint64_t seen_ = 0;  // oom_kill count already reported
    [[nodiscard]] std::optional<std::uint64_t> v1_kills() const;
};

}  // namespace cgroup
