#include "sandbox/process_attrs.h"

#include <sched.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>

#include "spec/names.h"
#include "sys/fs.h"

namespace sandbox {
namespace {

struct SchedAttr {  // struct sched_attr (sched_setattr(2)); glibc 2.36 has no declaration
    std::uint32_t size;
    std::uint32_t sched_policy;
    std::uint64_t sched_flags;
    std::int32_t sched_nice;
    std::uint32_t sched_priority;
    std::uint64_t sched_runtime, sched_deadline, sched_period;
    std::uint32_t sched_util_min, sched_util_max;
};

sys::Status set_scheduler(const spec::Scheduler& s) {
    static const std::map<std::string, std::uint32_t> kPolicies = {
        {"SCHED_OTHER", 0}, {"SCHED_FIFO", 1}, {"SCHED_RR", 2},      {"SCHED_BATCH", 3},
        {"SCHED_ISO", 4},   {"SCHED_IDLE", 5}, {"SCHED_DEADLINE", 6}};
    static const std::map<std::string, std::uint64_t> kFlags = {
        {"SCHED_FLAG_RESET_ON_FORK", 0x01}, {"SCHED_FLAG_RECLAIM", 0x02},
        {"SCHED_FLAG_DL_OVERRUN", 0x04},    {"SCHED_FLAG_KEEP_POLICY", 0x08},
        {"SCHED_FLAG_KEEP_PARAMS", 0x10},   {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
        {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}};
    SchedAttr attr{};
    attr.size = sizeof attr;
    attr.sched_policy = kPolicies.at(s.policy);
    for (const auto& f : s.flags) attr.sched_flags |= kFlags.at(f);
    attr.sched_nice = s.nice;
    attr.sched_priority = static_cast<std::uint32_t>(s.priority);
    attr.sched_runtime = s.runtime;
    attr.sched_deadline = s.deadline;
    attr.sched_period = s.period;
    if (::syscall(SYS_sched_setattr, 0, &attr, 0) < 0) {
        auto e = sys::errno_error("process.scheduler: sched_setattr", s.policy);
        if (errno == EINVAL)
            e.value().hint =
                "SCHED_FIFO and SCHED_RR need a priority of 1-99, the others 0; "
                "SCHED_DEADLINE needs runtime <= deadline <= period";
        return e;
    }
    return {};
}

}  // namespace

std::optional<std::vector<int>> parse_cpu_list(const std::string& text) {
    std::vector<int> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t comma = text.find(',', pos);
        if (comma == std::string::npos) comma = text.size();
        std::string item = text.substr(pos, comma - pos);
        pos = comma + 1;
        size_t dash = item.find('-');
        try {
            size_t used = 0;
            int lo = std::stoi(item.substr(0, dash), &used);
            if (used != (dash == std::string::npos ? item.size() : dash)) return std::nullopt;
            int hi = lo;
            if (dash != std::string::npos) {
                std::string rest = item.substr(dash + 1);
                hi = std::stoi(rest, &used);
                if (used != rest.size()) return std::nullopt;
            }
            if (lo < 0 || hi < lo || hi >= CPU_SETSIZE) return std::nullopt;
            for (int c = lo; c <= hi; ++c) out.push_back(c);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    if (out.empty()) return std::nullopt;
    return out;
}

sys::Status set_cpu_affinity(const std::string& list, const char* field) {
    auto cpus = parse_cpu_list(list);
    if (!cpus) return sys::plain_error(std::string(field) + ": not a CPU list: \"" + list + "\"");
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : *cpus) CPU_SET(c, &set);
    if (::sched_setaffinity(0, sizeof set, &set) < 0)
        return sys::errno_error(std::string(field) + ": sched_setaffinity", list);
    return {};
}

sys::Status apply_process_attrs(const spec::Spec& s) {
    if (s.linux.personality_domain) {
        unsigned long persona = *s.linux.personality_domain == "LINUX32" ? PER_LINUX32 : PER_LINUX;
        if (::personality(persona) < 0)
            return sys::errno_error("linux.personality", *s.linux.personality_domain);
    }
    if (!s.process) return {};
    const spec::Process& p = *s.process;
    if (p.scheduler) HAKO_TRY(set_scheduler(*p.scheduler));
    if (p.io_priority) {
        static const std::map<std::string, int> kClasses = {
            {"IOPRIO_CLASS_RT", 1}, {"IOPRIO_CLASS_BE", 2}, {"IOPRIO_CLASS_IDLE", 3}};
        int value = (kClasses.at(p.io_priority->klass) << 13) | p.io_priority->priority;
        if (::syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, value) < 0)
            return sys::errno_error("process.ioPriority: ioprio_set", p.io_priority->klass);
    }
    if (!p.exec_cpu_affinity_final.empty())
        HAKO_TRY(set_cpu_affinity(p.exec_cpu_affinity_final, "process.execCPUAffinity.final"));
    return {};
}

bool in_own_bounding_set(int cap) { return ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1; }

std::optional<std::string> drop_ungrantable_capabilities(spec::Capabilities& caps,
                                                         bool (*available)(int cap)) {
    std::vector<int> missing;
    // Each capability asked once, though the sets repeat it (a system call each).
    std::array<signed char, 64> known{};  // 0 not asked yet, 1 available, -1 not
    auto has = [&](int c) {
        if (c < 0 || c >= 64) return available(c);
        auto i = static_cast<std::size_t>(c);
        if (known[i] == 0) known[i] = available(c) ? 1 : -1;
        return known[i] == 1;
    };
    for (auto* set :
         {&caps.bounding, &caps.effective, &caps.inheritable, &caps.permitted, &caps.ambient}) {
        std::erase_if(*set, [&](int c) {
            if (has(c)) return false;
            if (std::find(missing.begin(), missing.end(), c) == missing.end()) missing.push_back(c);
            return true;
        });
    }
    if (missing.empty()) return std::nullopt;
    std::string names;
    for (int c : missing)
        names += (names.empty() ? "" : ", ") + std::string(spec::capability_name(c));
    return "process.capabilities: " + names +
           " cannot be granted: not in hako's own bounding set (withheld by the host or by a "
           "container hako runs in); left out";
}

namespace {

constexpr std::size_t kMaxNodes = 1024;
using NodeMask = std::array<unsigned long, kMaxNodes / (8 * sizeof(unsigned long))>;

sys::Result<NodeMask> node_mask(const std::string& nodes) {
    NodeMask mask{};
    auto list = parse_cpu_list(nodes);
    if (!list)
        return sys::plain_error("linux.memoryPolicy.nodes: \"" + nodes +
                                R"(" is not a node list (like "0-3,7"))");
    constexpr std::size_t kBits = 8 * sizeof(unsigned long);
    for (int n : *list) {
        if (n < 0 || static_cast<std::size_t>(n) >= kMaxNodes)
            return sys::plain_error("linux.memoryPolicy.nodes: node " + std::to_string(n) +
                                    " is out of range");
        mask[static_cast<std::size_t>(n) / kBits] |= 1UL << (static_cast<std::size_t>(n) % kBits);
    }
    return mask;
}

}  // namespace

sys::Status check_memory_policy(const spec::Linux& l) {
    if (!l.memory_policy || l.memory_policy->nodes.empty()) return {};
    HAKO_ASSIGN(auto mask, node_mask(l.memory_policy->nodes));
    auto online_text = sys::read_file("/sys/devices/system/node/online");
    if (!online_text) return {};  // a kernel without NUMA: set_mempolicy will say
    std::string online = online_text->substr(0, online_text->find('\n'));
    auto online_mask = node_mask(online);
    if (!online_mask) return {};
    for (std::size_t i = 0; i < mask.size(); ++i)
        if (((mask)[i] & ~(*online_mask)[i]) != 0)
            return sys::plain_error("linux.memoryPolicy.nodes: \"" + l.memory_policy->nodes +
                                        "\" names memory nodes that are not online",
                                    "this host's online nodes are " + online);
    return {};
}

sys::Status apply_memory_policy(const spec::Linux& l) {
    if (!l.memory_policy) return {};
    const auto& p = *l.memory_policy;
    NodeMask mask{};
    unsigned long maxnode = 0;
    if (!p.nodes.empty()) {
        HAKO_ASSIGN(auto m, node_mask(p.nodes));
        mask = m;
        maxnode = kMaxNodes + 1;  // the kernel drops one (set_mempolicy(2), NOTES)
    }
    if (::syscall(SYS_set_mempolicy, p.mode | p.flags, maxnode != 0 ? mask.data() : nullptr,
                  maxnode) < 0) {
        auto e = sys::errno_error("linux.memoryPolicy: set_mempolicy");
        if (errno == EINVAL)
            e.value().hint =
                "the kernel refused this mode, flag and node combination (MPOL_F_STATIC_NODES "
                "and MPOL_F_RELATIVE_NODES exclude each other; MPOL_F_NUMA_BALANCING needs "
                "MPOL_BIND or MPOL_PREFERRED_MANY)";
        return e;
    }
    return {};
}

}  // namespace sandbox
