#include "cgroup/resources.h"

namespace cgroup {
namespace {

std::string limit(std::int64_t v) { return v < 0 ? "-1" : std::to_string(v); }
std::string v2_limit(std::int64_t v) { return v < 0 ? "max" : std::to_string(v); }
std::string dev(std::int64_t major, std::int64_t minor) {
    return std::to_string(major) + ":" + std::to_string(minor);
}

}  // namespace

std::vector<spec::DeviceRule> effective_device_rules(const std::vector<spec::DeviceRule>& rules) {
    if (rules.empty()) return {};
    // The devices every container needs whatever its rules (runc's defaults): null, zero,
    // full, tty, random, urandom, console, ptmx and the pts it opens.
    static const std::pair<int, int> kDefaultAllowed[] = {{1, 3}, {1, 5}, {1, 7}, {5, 0},   {1, 8},
                                                          {1, 9}, {5, 1}, {5, 2}, {136, -1}};
    std::vector<spec::DeviceRule> out = rules;
    for (auto [major, minor] : kDefaultAllowed)
        out.push_back({true, "c", major,
                       minor >= 0 ? std::optional<std::int64_t>(minor) : std::nullopt, "rwm"});
    return out;
}

std::uint64_t shares_to_weight(std::uint64_t shares) {
    if (shares == 0) return 0;
    return 1 + ((shares - 2) * 9999) / 262142;
}

std::uint64_t blkio_to_io_weight(std::uint64_t weight) {
    if (weight == 0) return 0;
    return 1 + (weight - 10) * 9999 / 990;
}

namespace {

// memory: limits, swap, kernelTCP, swappiness, the OOM killer.
void v1_memory_writes(const spec::Resources& r, std::vector<FileWrite>& w) {
    if (r.memory) {
        const auto& m = *r.memory;
        if (m.limit)
            w.push_back({"memory", "memory.limit_in_bytes", limit(*m.limit), "memory.limit"});
        if (m.reservation)
            w.push_back({"memory", "memory.soft_limit_in_bytes", limit(*m.reservation),
                         "memory.reservation"});
        if (m.swap)
            w.push_back({"memory", "memory.memsw.limit_in_bytes", limit(*m.swap), "memory.swap"});
        // kernelTCP still limits on v1 (memory.kmem.tcp); "kernel" is ignored, as runc does:
        // the kernel accepts memory.kmem.limit_in_bytes since 5.16 but enforces nothing.
        if (m.kernel_tcp)
            w.push_back({"memory", "memory.kmem.tcp.limit_in_bytes", limit(*m.kernel_tcp),
                         "memory.kernelTCP"});
        if (m.swappiness)
            w.push_back({"memory", "memory.swappiness", std::to_string(*m.swappiness),
                         "memory.swappiness"});
        if (m.disable_oom_killer && *m.disable_oom_killer)
            w.push_back({"memory", "memory.oom_control", "1", "memory.disableOOMKiller"});
    }
}

// cpu and cpuset: shares, CFS and RT bandwidth, burst, idle, the cpu and memory node sets.
void v1_cpu_writes(const spec::Resources& r, std::vector<FileWrite>& w) {
    if (r.cpu) {
        const auto& c = *r.cpu;
        if (c.shares) w.push_back({"cpu", "cpu.shares", std::to_string(*c.shares), "cpu.shares"});
        // The period first: a quota is checked against the current period.
        if (c.period)
            w.push_back({"cpu", "cpu.cfs_period_us", std::to_string(*c.period), "cpu.period"});
        if (c.quota)
            w.push_back({"cpu", "cpu.cfs_quota_us", std::to_string(*c.quota), "cpu.quota"});
        if (c.realtime_period)
            w.push_back({"cpu", "cpu.rt_period_us", std::to_string(*c.realtime_period),
                         "cpu.realtimePeriod"});
        if (c.realtime_runtime)
            w.push_back({"cpu", "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime),
                         "cpu.realtimeRuntime"});
        if (c.burst)
            w.push_back({"cpu", "cpu.cfs_burst_us", std::to_string(*c.burst), "cpu.burst"});
        if (c.idle) w.push_back({"cpu", "cpu.idle", std::to_string(*c.idle), "cpu.idle"});
        if (!c.cpus.empty()) w.push_back({"cpuset", "cpuset.cpus", c.cpus, "cpu.cpus"});
        if (!c.mems.empty()) w.push_back({"cpuset", "cpuset.mems", c.mems, "cpu.mems"});
    }
}

// blkio: weights and throttles.
void v1_blkio_writes(const spec::Resources& r, std::vector<FileWrite>& w) {
    if (r.block_io) {
        const auto& b = *r.block_io;
        if (b.weight)
            w.push_back({"blkio", "blkio.weight", std::to_string(*b.weight), "blockIO.weight"});
        if (b.leaf_weight)
            w.push_back({"blkio", "blkio.leaf_weight", std::to_string(*b.leaf_weight),
                         "blockIO.leafWeight"});
        for (const auto& d : b.weight_device) {
            if (d.weight)
                w.push_back({"blkio", "blkio.weight_device",
                             dev(d.major, d.minor) + " " + std::to_string(*d.weight),
                             "blockIO.weightDevice"});
        }
        auto throttle = [&](const std::vector<spec::ThrottleDevice>& list, const char* file,
                            const char* field) {
            for (const auto& d : list)
                w.push_back(
                    {"blkio", file, dev(d.major, d.minor) + " " + std::to_string(d.rate), field});
        };
        throttle(b.throttle_read_bps, "blkio.throttle.read_bps_device",
                 "blockIO.throttleReadBpsDevice");
        throttle(b.throttle_write_bps, "blkio.throttle.write_bps_device",
                 "blockIO.throttleWriteBpsDevice");
        throttle(b.throttle_read_iops, "blkio.throttle.read_iops_device",
                 "blockIO.throttleReadIOPSDevice");
        throttle(b.throttle_write_iops, "blkio.throttle.write_iops_device",
                 "blockIO.throttleWriteIOPSDevice");
    }
}

}  // namespace

std::vector<FileWrite> v1_writes(const spec::Resources& r) {
    std::vector<FileWrite> w;
    v1_memory_writes(r, w);
    if (r.pids_limit)
        w.push_back({"pids", "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max",
                     "pids.limit"});
    v1_cpu_writes(r, w);
    v1_blkio_writes(r, w);
    for (const auto& h : r.hugepage_limits)
        w.push_back(
            {"", "hugetlb." + h.page_size + ".max", std::to_string(h.limit), "hugepageLimits"});
    if (r.network) {
        if (r.network->class_id)
            w.push_back({"net_cls", "net_cls.classid", std::to_string(*r.network->class_id),
                         "network.classID"});
        for (const auto& [name, prio] : r.network->priorities)
            w.push_back({"net_prio", "net_prio.ifpriomap", name + " " + std::to_string(prio),
                         "network.priorities"});
    }
    for (const auto& [name, rd] : r.rdma) {
        std::string v = name;
        if (rd.hca_handles) v += " hca_handle=" + std::to_string(*rd.hca_handles);
        if (rd.hca_objects) v += " hca_object=" + std::to_string(*rd.hca_objects);
        w.push_back({"rdma", "rdma.max", v, "rdma"});
    }
    for (const auto& d : effective_device_rules(r.devices)) {
        std::string rule =
            d.type == "a"
                ? "a"
                : d.type + " " + (d.major && *d.major >= 0 ? std::to_string(*d.major) : "*") + ":" +
                      (d.minor && *d.minor >= 0 ? std::to_string(*d.minor) : "*") + " " + d.access;
        w.push_back({"devices", d.allow ? "devices.allow" : "devices.deny", rule, "devices"});
    }
    for (const auto& [k, v] : r.unified) w.push_back({"", k, v, "unified"});
    return w;
}

std::vector<FileWrite> v2_writes(const spec::Resources& r) {
    std::vector<FileWrite> w;
    if (r.memory) {
        const auto& m = *r.memory;
        if (m.limit) w.push_back({"", "memory.max", v2_limit(*m.limit), "memory.limit"});
        if (m.reservation)
            w.push_back({"", "memory.low", v2_limit(*m.reservation), "memory.reservation"});
        // v1's swap is memory+swap; v2's memory.swap.max is swap alone.
        if (m.swap) {
            std::string v = "max";
            if (*m.swap >= 0 && m.limit && *m.limit >= 0)
                v = std::to_string(*m.swap - *m.limit);
            else if (*m.swap >= 0)
                v = std::to_string(*m.swap);
            w.push_back({"", "memory.swap.max", v, "memory.swap"});
        }
        if (m.disable_oom_killer && *m.disable_oom_killer)
            w.push_back({"", "memory.oom.group", "0", "memory.disableOOMKiller"});
    }
    if (r.pids_limit)
        w.push_back({"", "pids.max", *r.pids_limit > 0 ? std::to_string(*r.pids_limit) : "max",
                     "pids.limit"});
    if (r.cpu) {
        const auto& c = *r.cpu;
        if (c.shares)
            w.push_back(
                {"", "cpu.weight", std::to_string(shares_to_weight(*c.shares)), "cpu.shares"});
        if (c.quota || c.period) {
            std::string quota = c.quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
            w.push_back({"", "cpu.max", quota + " " + std::to_string(c.period.value_or(100000)),
                         "cpu.quota"});
        }
        if (c.burst) w.push_back({"", "cpu.max.burst", std::to_string(*c.burst), "cpu.burst"});
        if (c.idle) w.push_back({"", "cpu.idle", std::to_string(*c.idle), "cpu.idle"});
        if (!c.cpus.empty()) w.push_back({"", "cpuset.cpus", c.cpus, "cpu.cpus"});
        if (!c.mems.empty()) w.push_back({"", "cpuset.mems", c.mems, "cpu.mems"});
    }
    if (r.block_io) {
        const auto& b = *r.block_io;
        if (b.weight)
            w.push_back({"", "io.weight",
                         "default " + std::to_string(blkio_to_io_weight(*b.weight)),
                         "blockIO.weight"});
        for (const auto& d : b.weight_device)
            if (d.weight)
                w.push_back(
                    {"", "io.weight",
                     dev(d.major, d.minor) + " " + std::to_string(blkio_to_io_weight(*d.weight)),
                     "blockIO.weightDevice"});
        auto throttle = [&](const std::vector<spec::ThrottleDevice>& list, const char* key,
                            const char* field) {
            for (const auto& d : list)
                w.push_back({"", "io.max",
                             dev(d.major, d.minor) + " " + key + "=" + std::to_string(d.rate),
                             field});
        };
        throttle(b.throttle_read_bps, "rbps", "blockIO.throttleReadBpsDevice");
        throttle(b.throttle_write_bps, "wbps", "blockIO.throttleWriteBpsDevice");
        throttle(b.throttle_read_iops, "riops", "blockIO.throttleReadIOPSDevice");
        throttle(b.throttle_write_iops, "wiops", "blockIO.throttleWriteIOPSDevice");
    }
    for (const auto& h : r.hugepage_limits)
        w.push_back(
            {"", "hugetlb." + h.page_size + ".max", std::to_string(h.limit), "hugepageLimits"});
    for (const auto& [k, v] : r.unified) w.push_back({"", k, v, "unified"});
    return w;
}

}  // namespace cgroup
