#include "spec/config.h"

#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "spec/json_node.h"
#include "spec/names.h"
#include "sys/fs.h"
#include "sys/text.h"

namespace spec {
namespace {

using nlohmann::json;

// The one table of namespace kinds: config.json's name, /proc/PID/ns's, the clone(2) flag.
struct NamespaceKind {
    const char* name;
    const char* proc_name;
    NamespaceType type;
    int clone_flag;
};
constexpr std::array<NamespaceKind, 8> kNamespaceKinds = {{
    {"pid", "pid", NamespaceType::kPid, CLONE_NEWPID},
    {"network", "net", NamespaceType::kNetwork, CLONE_NEWNET},
    {"mount", "mnt", NamespaceType::kMount, CLONE_NEWNS},
    {"ipc", "ipc", NamespaceType::kIpc, CLONE_NEWIPC},
    {"uts", "uts", NamespaceType::kUts, CLONE_NEWUTS},
    {"user", "user", NamespaceType::kUser, CLONE_NEWUSER},
    {"cgroup", "cgroup", NamespaceType::kCgroup, CLONE_NEWCGROUP},
    {"time", "time", NamespaceType::kTime, CLONE_NEWTIME},
}};

const NamespaceKind& kind_of(NamespaceType t) {
    for (const auto& k : kNamespaceKinds)
        if (k.type == t) return k;
    return kNamespaceKinds[0];  // unreachable: every enumerator is in the table
}

bool one_of(const std::string& v, std::initializer_list<const char*> allowed) {
    return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return v == a; });
}

std::string json_quote(const std::string& s) { return json(s).dump(); }

// Check a string against an enum; an unknown value of a known enum is an error.
std::string enum_value(const JsonNode& n, const char* what,
                       std::initializer_list<const char*> allowed) {
    std::string v = n.str();
    if (!one_of(v, allowed)) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        n.fail("unknown " + std::string(what) + " " + json_quote(v) + " (one of: " + list + ")");
    }
    return v;
}

std::vector<IdMapping> parse_id_mappings(const JsonNode& n) {
    std::vector<IdMapping> out;
    for (std::size_t i = 0, len = n.size(); i < len; ++i) {
        JsonNode m = n.at(i);
        IdMapping map{m.at("containerID").uint32(), m.at("hostID").uint32(), m.at("size").uint32()};
        if (map.size == 0) m.at("size").fail("a mapping must cover at least one id");
        out.push_back(map);
    }
    // Overlapping ranges on either side make the kernel refuse the whole map with EINVAL.
    for (std::size_t i = 0; i < out.size(); ++i) {
        for (std::size_t j = i + 1; j < out.size(); ++j) {
            auto overlap = [](std::uint64_t a, std::uint64_t b, std::uint64_t size_a,
                              std::uint64_t size_b) { return a < b + size_b && b < a + size_a; };
            if (overlap(out[i].container_id, out[j].container_id, out[i].size, out[j].size))
                n.at(j).fail("container ids overlap with " + n.path() + "[" + std::to_string(i) +
                             "]");
            if (overlap(out[i].host_id, out[j].host_id, out[i].size, out[j].size))
                n.at(j).fail("host ids overlap with " + n.path() + "[" + std::to_string(i) + "]");
        }
    }
    return out;
}

std::vector<int> parse_cap_set(const JsonNode& n, std::vector<std::string>& warnings) {
    std::vector<int> out;
    for (std::size_t i = 0, len = n.size(); i < len; ++i) {
        std::string name = n.at(i).str();
        if (auto num = capability_number(name)) {
            out.push_back(*num);
            continue;
        }
        // config.md: unknown or ungrantable capabilities are not fatal.
        std::string w = n.at(i).path() + ": unknown capability " + json_quote(name) + " ignored";
        if (auto near = closest_capability(name)) w += " (did you mean " + *near + "?)";
        warnings.push_back(w);
    }
    return out;
}

Process parse_process_rest(const JsonNode& n, Process& p, std::vector<std::string>& warnings);

Process parse_process(const JsonNode& n, std::vector<std::string>& warnings) {
    Process p;
    p.terminal = n.bool_or("terminal", false);
    if (n.has("consoleSize")) {
        JsonNode c = n.at("consoleSize");
        p.console_size = std::make_pair(c.at("height").uint32(), c.at("width").uint32());
    }
    // "user" is REQUIRED by config.md, but runc (and the clients that send exec -p process.json
    // files written for it) take a missing one as root: so does hako.
    if (!n.has("user")) return parse_process_rest(n, p, warnings);
    JsonNode u = n.at("user");
    p.user.uid = u.at("uid").uint32();
    p.user.gid = u.at("gid").uint32();
    if (u.has("umask")) p.user.umask = static_cast<std::uint32_t>(u.at("umask").uint64(0777));
    if (u.has("additionalGids")) {
        JsonNode g = u.at("additionalGids");
        for (std::size_t i = 0, len = g.size(); i < len; ++i)
            p.user.additional_gids.push_back(g.at(i).uint32());
    }
    return parse_process_rest(n, p, warnings);
}

Capabilities parse_capabilities(const JsonNode& c, std::vector<std::string>& warnings) {
    Capabilities caps;
    if (c.has("bounding")) caps.bounding = parse_cap_set(c.at("bounding"), warnings);
    if (c.has("effective")) caps.effective = parse_cap_set(c.at("effective"), warnings);
    if (c.has("inheritable")) caps.inheritable = parse_cap_set(c.at("inheritable"), warnings);
    if (c.has("permitted")) caps.permitted = parse_cap_set(c.at("permitted"), warnings);
    if (c.has("ambient")) caps.ambient = parse_cap_set(c.at("ambient"), warnings);
    return caps;
}

std::vector<Rlimit> parse_rlimits(const JsonNode& r) {
    std::vector<Rlimit> out;
    std::set<std::string> seen;
    for (std::size_t i = 0, len = r.size(); i < len; ++i) {
        JsonNode item = r.at(i);
        Rlimit lim;
        lim.type = item.at("type").str();
        auto num = rlimit_number(lim.type);
        if (!num) item.at("type").fail("unknown rlimit type " + json_quote(lim.type));
        lim.resource = *num;
        lim.soft = item.at("soft").uint64();
        lim.hard = item.at("hard").uint64();
        if (lim.soft > lim.hard)
            item.fail("soft limit " + std::to_string(lim.soft) + " is above hard limit " +
                      std::to_string(lim.hard));
        if (!seen.insert(lim.type).second)
            item.at("type").fail(json_quote(lim.type) + " is given more than once");
        out.push_back(lim);
    }
    return out;
}

Scheduler parse_scheduler(const JsonNode& s) {
    Scheduler sch;
    sch.policy = enum_value(s.at("policy"), "scheduler policy",
                            {"SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
                             "SCHED_IDLE", "SCHED_DEADLINE"});
    if (s.has("nice")) sch.nice = static_cast<std::int32_t>(s.at("nice").int64(-20, 19));
    if (s.has("priority")) sch.priority = static_cast<std::int32_t>(s.at("priority").int64(0, 99));
    if (s.has("flags")) {
        JsonNode f = s.at("flags");
        for (std::size_t i = 0, len = f.size(); i < len; ++i)
            sch.flags.push_back(enum_value(
                f.at(i), "scheduler flag",
                {"SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
                 "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
                 "SCHED_FLAG_UTIL_CLAMP_MAX"}));
    }
    if (s.has("runtime")) sch.runtime = s.at("runtime").uint64();
    if (s.has("deadline")) sch.deadline = s.at("deadline").uint64();
    if (s.has("period")) sch.period = s.at("period").uint64();
    return sch;
}

// The process's fields after "user".
Process parse_process_rest(const JsonNode& n, Process& p, std::vector<std::string>& warnings) {
    if (n.has("args")) p.args = n.at("args").strings();
    if (p.args.empty()) n.fail("args: at least one entry is required (the program to run)");
    if (p.args[0].empty())
        n.at("args").at(std::size_t{0}).fail("the program to run must not be empty");
    if (n.has("env")) {
        JsonNode e = n.at("env");
        p.env = e.strings();
        for (std::size_t i = 0; i < p.env.size(); ++i)
            if (p.env[i].find('=') == std::string::npos || p.env[i][0] == '=')
                e.at(i).fail("expected KEY=value, got " + json_quote(p.env[i]));
    }
    p.cwd = n.at("cwd").str();
    if (p.cwd.empty() || p.cwd[0] != '/')
        n.at("cwd").fail("must be an absolute path, got " + json_quote(p.cwd));
    if (n.has("capabilities")) p.capabilities = parse_capabilities(n.at("capabilities"), warnings);
    if (n.has("rlimits")) p.rlimits = parse_rlimits(n.at("rlimits"));
    p.no_new_privileges = n.bool_or("noNewPrivileges", false);
    p.apparmor_profile = n.str_or("apparmorProfile");
    if (n.has("oomScoreAdj"))
        p.oom_score_adj = static_cast<int>(n.at("oomScoreAdj").int64(-1000, 1000));
    if (n.has("scheduler")) p.scheduler = parse_scheduler(n.at("scheduler"));
    p.selinux_label = n.str_or("selinuxLabel");
    if (n.has("ioPriority")) {
        JsonNode io = n.at("ioPriority");
        IoPriority prio;
        prio.klass = enum_value(io.at("class"), "ioPriority class",
                                {"IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"});
        prio.priority = static_cast<std::int32_t>(io.at("priority").int64(0, 7));
        p.io_priority = prio;
    }
    if (n.has("execCPUAffinity")) {
        JsonNode a = n.at("execCPUAffinity");
        p.exec_cpu_affinity_initial = a.str_or("initial");
        p.exec_cpu_affinity_final = a.str_or("final");
    }
    return p;
}

std::string resolve_against(const std::string& bundle, const std::string& path) {
    return path.empty() || path[0] != '/' ? sys::join_path(bundle, path) : sys::clean_path(path);
}

Mount parse_mount(const JsonNode& n, const std::string& bundle,
                  std::vector<std::string>& warnings) {
    Mount m;
    std::string dest = n.at("destination").str();
    if (dest.empty()) n.at("destination").fail("must not be empty");
    if (dest[0] != '/')
        warnings.push_back(n.at("destination").path() + ": relative destination " +
                           json_quote(dest) + " is deprecated; taken as relative to \"/\"");
    m.destination = sys::clean_path(dest);
    m.type = n.str_or("type");
    m.source = n.str_or("source");
    m.options = n.strings_or_empty("options");
    if (n.has("uidMappings")) m.uid_mappings = parse_id_mappings(n.at("uidMappings"));
    if (n.has("gidMappings")) m.gid_mappings = parse_id_mappings(n.at("gidMappings"));
    bool bind = m.type == "bind" || std::any_of(m.options.begin(), m.options.end(), [](auto& o) {
                    return o == "bind" || o == "rbind";
                });
    if (bind) {
        if (m.source.empty()) n.fail("a bind mount needs a source");
        m.source = resolve_against(bundle, m.source);
    }
    if (m.type.empty() && !bind)
        n.fail(R"(type is required unless the options hold "bind" or "rbind")");
    if (m.destination == "/") n.at("destination").fail("cannot mount over the container's root");
    return m;
}

Hook parse_hook(const JsonNode& n) {
    Hook h;
    h.path = n.at("path").str();
    if (h.path.empty() || h.path[0] != '/')
        n.at("path").fail("must be an absolute path, got " + json_quote(h.path));
    h.args = n.strings_or_empty("args");
    h.env = n.strings_or_empty("env");
    if (n.has("timeout")) {
        h.timeout = static_cast<int>(n.at("timeout").int64(1, std::int64_t{86400} * 365));
    }
    return h;
}

std::vector<Hook> parse_hooks(const JsonNode& n, const char* key) {
    std::vector<Hook> out;
    if (!n.has(key)) return out;
    JsonNode list = n.at(key);
    for (std::size_t i = 0, len = list.size(); i < len; ++i) out.push_back(parse_hook(list.at(i)));
    return out;
}

std::optional<std::int64_t> opt_int(const JsonNode& n, const char* key) {
    if (!n.has(key)) return std::nullopt;
    return n.at(key).int64();
}
std::optional<std::uint64_t> opt_uint(const JsonNode& n, const char* key,
                                      std::uint64_t max = UINT64_MAX) {
    if (!n.has(key)) return std::nullopt;
    return n.at(key).uint64(max);
}

std::vector<ThrottleDevice> parse_throttle(const JsonNode& n, const char* key) {
    std::vector<ThrottleDevice> out;
    if (!n.has(key)) return out;
    JsonNode list = n.at(key);
    for (std::size_t i = 0, len = list.size(); i < len; ++i) {
        JsonNode d = list.at(i);
        out.push_back({d.at("major").int64(0), d.at("minor").int64(0), d.at("rate").uint64()});
    }
    return out;
}

// runc's reading of linux.resources, which Docker and containerd rely on: a zero memory, cpu,
// pids or blkio weight value means "not set" (Docker sends blockIO.weight 0, for instance).
void drop_zero_values(Resources& r) {
    auto drop = [](auto& v) {
        if (v && *v == 0) v.reset();
    };
    if (r.memory) {
        drop(r.memory->limit);
        drop(r.memory->reservation);
        drop(r.memory->swap);
        drop(r.memory->kernel);
        drop(r.memory->kernel_tcp);
    }
    if (r.cpu) {
        drop(r.cpu->shares);
        drop(r.cpu->period);
        drop(r.cpu->quota);
        drop(r.cpu->realtime_period);
        drop(r.cpu->realtime_runtime);
    }
    drop(r.pids_limit);
    if (r.block_io) {
        drop(r.block_io->weight);
        drop(r.block_io->leaf_weight);
        for (auto& d : r.block_io->weight_device) {
            drop(d.weight);
            drop(d.leaf_weight);
        }
    }
}

std::vector<DeviceRule> parse_device_rules(const JsonNode& list,
                                           std::vector<std::string>& warnings) {
    std::vector<DeviceRule> out;
    for (std::size_t i = 0, len = list.size(); i < len; ++i) {
        JsonNode d = list.at(i);
        DeviceRule rule;
        rule.allow = d.at("allow").boolean();
        if (d.has("type")) rule.type = enum_value(d.at("type"), "device type", {"a", "b", "c"});
        if (d.has("major")) rule.major = d.at("major").int64(-1);
        if (d.has("minor")) rule.minor = d.at("minor").int64(-1);
        if (d.has("access")) {
            // Letters other than r, w, m grant nothing; runc drops them (its own tests write
            // "rwa"), so hako does too, and says so.
            std::string access = d.at("access").str();
            rule.access.clear();
            for (char c : access)
                if (c == 'r' || c == 'w' || c == 'm') rule.access += c;
            if (rule.access.size() != access.size())
                warnings.push_back(d.at("access").path() + ": " + json_quote(access) +
                                   " has letters other than r, w, m; they are ignored");
            if (rule.access.empty())
                d.at("access").fail("expected letters of \"rwm\", got " + json_quote(access));
        }
        out.push_back(rule);
    }
    return out;
}

Resources::Memory parse_memory(const JsonNode& m) {
    Resources::Memory mem;
    mem.limit = opt_int(m, "limit");
    mem.reservation = opt_int(m, "reservation");
    mem.swap = opt_int(m, "swap");
    mem.kernel = opt_int(m, "kernel");
    mem.kernel_tcp = opt_int(m, "kernelTCP");
    mem.swappiness = opt_uint(m, "swappiness", 100);
    if (m.has("disableOOMKiller")) mem.disable_oom_killer = m.at("disableOOMKiller").boolean();
    if (m.has("useHierarchy")) mem.use_hierarchy = m.at("useHierarchy").boolean();
    if (m.has("checkBeforeUpdate")) mem.check_before_update = m.at("checkBeforeUpdate").boolean();
    for (const char* key : {"limit", "reservation", "swap"})
        if (m.has(key) && m.at(key).int64() < -1)
            m.at(key).fail("expected a byte count or -1 (unlimited)");
    return mem;
}

Resources::Cpu parse_cpu(const JsonNode& c) {
    Resources::Cpu cpu;
    cpu.shares = opt_uint(c, "shares");
    cpu.quota = opt_int(c, "quota");
    cpu.burst = opt_uint(c, "burst");
    cpu.period = opt_uint(c, "period");
    cpu.realtime_runtime = opt_int(c, "realtimeRuntime");
    cpu.realtime_period = opt_uint(c, "realtimePeriod");
    cpu.cpus = c.str_or("cpus");
    cpu.mems = c.str_or("mems");
    cpu.idle = opt_int(c, "idle");
    return cpu;
}

Resources::BlockIo parse_block_io(const JsonNode& b) {
    Resources::BlockIo io;
    if (b.has("weight")) io.weight = static_cast<std::uint16_t>(b.at("weight").uint64(1000));
    if (b.has("leafWeight"))
        io.leaf_weight = static_cast<std::uint16_t>(b.at("leafWeight").uint64(1000));
    if (b.has("weightDevice")) {
        JsonNode list = b.at("weightDevice");
        for (std::size_t i = 0, len = list.size(); i < len; ++i) {
            JsonNode d = list.at(i);
            WeightDevice wd{d.at("major").int64(0), d.at("minor").int64(0), {}, {}};
            if (d.has("weight"))
                wd.weight = static_cast<std::uint16_t>(d.at("weight").uint64(1000));
            if (d.has("leafWeight"))
                wd.leaf_weight = static_cast<std::uint16_t>(d.at("leafWeight").uint64(1000));
            io.weight_device.push_back(wd);
        }
    }
    io.throttle_read_bps = parse_throttle(b, "throttleReadBpsDevice");
    io.throttle_write_bps = parse_throttle(b, "throttleWriteBpsDevice");
    io.throttle_read_iops = parse_throttle(b, "throttleReadIOPSDevice");
    io.throttle_write_iops = parse_throttle(b, "throttleWriteIOPSDevice");
    return io;
}

Resources parse_resources(const JsonNode& n, std::vector<std::string>& warnings) {
    Resources r;
    if (n.has("devices")) r.devices = parse_device_rules(n.at("devices"), warnings);
    if (n.has("memory")) r.memory = parse_memory(n.at("memory"));
    if (n.has("cpu")) r.cpu = parse_cpu(n.at("cpu"));
    if (n.has("pids")) {
        JsonNode p = n.at("pids");
        if (p.has("limit")) r.pids_limit = p.at("limit").int64();
    }
    if (n.has("blockIO")) r.block_io = parse_block_io(n.at("blockIO"));
    if (n.has("hugepageLimits")) {
        JsonNode list = n.at("hugepageLimits");
        for (std::size_t i = 0, len = list.size(); i < len; ++i)
            r.hugepage_limits.push_back(
                {list.at(i).at("pageSize").str(), list.at(i).at("limit").uint64()});
    }
    if (n.has("network")) {
        JsonNode net = n.at("network");
        Resources::Network nw;
        if (net.has("classID")) nw.class_id = net.at("classID").uint32();
        if (net.has("priorities")) {
            JsonNode list = net.at("priorities");
            for (std::size_t i = 0, len = list.size(); i < len; ++i)
                nw.priorities.emplace_back(list.at(i).at("name").str(),
                                           list.at(i).at("priority").uint32());
        }
        r.network = nw;
    }
    if (n.has("rdma")) {
        JsonNode rd = n.at("rdma");
        for (const auto& k : rd.keys()) {
            JsonNode e = rd.member(k);
            Resources::Rdma x;
            if (e.has("hcaHandles")) x.hca_handles = e.at("hcaHandles").uint32();
            if (e.has("hcaObjects")) x.hca_objects = e.at("hcaObjects").uint32();
            r.rdma[k] = x;
        }
    }
    if (n.has("unified")) {
        JsonNode u = n.at("unified");
        r.unified = u.string_map();
        for (const auto& [k, v] : r.unified)
            if (k.find('/') != std::string::npos || k.find('.') == std::string::npos || k[0] == '.')
                u.member(k).fail("not a cgroup v2 interface file name: " + json_quote(k));
    }
    drop_zero_values(r);
    return r;
}

Seccomp parse_seccomp(const JsonNode& n) {
    static const std::initializer_list<const char*> kActions = {
        "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
        "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY"};
    Seccomp s;
    s.default_action = enum_value(n.at("defaultAction"), "seccomp action", kActions);
    if (n.has("defaultErrnoRet")) s.default_errno_ret = n.at("defaultErrnoRet").uint32();
    if (n.has("architectures")) {
        JsonNode a = n.at("architectures");
        for (std::size_t i = 0, len = a.size(); i < len; ++i)
            s.architectures.push_back(
                enum_value(a.at(i), "seccomp architecture",
                           {"SCMP_ARCH_X86",      "SCMP_ARCH_X86_64",      "SCMP_ARCH_X32",
                            "SCMP_ARCH_ARM",      "SCMP_ARCH_AARCH64",     "SCMP_ARCH_MIPS",
                            "SCMP_ARCH_MIPS64",   "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL",
                            "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
                            "SCMP_ARCH_PPC64",    "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_S390",
                            "SCMP_ARCH_S390X",    "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64",
                            "SCMP_ARCH_RISCV64",  "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
                            "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB"}));
    }
    if (n.has("flags")) {
        JsonNode f = n.at("flags");
        for (std::size_t i = 0, len = f.size(); i < len; ++i)
            s.flags.push_back(enum_value(
                f.at(i), "seccomp flag",
                {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                 "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}));
    }
    s.listener_path = n.str_or("listenerPath");
    s.listener_metadata = n.str_or("listenerMetadata");
    bool notify = s.default_action == "SCMP_ACT_NOTIFY";
    if (n.has("syscalls")) {
        JsonNode list = n.at("syscalls");
        for (std::size_t i = 0, len = list.size(); i < len; ++i) {
            JsonNode sc = list.at(i);
            SeccompSyscall call;
            call.names = sc.at("names").strings();
            if (call.names.empty()) sc.at("names").fail("at least one syscall name is required");
            call.action = enum_value(sc.at("action"), "seccomp action", kActions);
            notify = notify || call.action == "SCMP_ACT_NOTIFY";
            if (sc.has("errnoRet")) {
                call.errno_ret = sc.at("errnoRet").uint32();
                if (call.action != "SCMP_ACT_ERRNO" && call.action != "SCMP_ACT_TRACE")
                    sc.at("errnoRet")
                        .fail(
                            "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno, "
                            "not " +
                            call.action);
            }
            if (sc.has("args")) {
                JsonNode args = sc.at("args");
                for (std::size_t j = 0, alen = args.size(); j < alen; ++j) {
                    JsonNode a = args.at(j);
                    SeccompArg arg;
                    arg.index = static_cast<std::uint32_t>(a.at("index").uint64(5));
                    arg.value = a.at("value").uint64();
                    if (a.has("valueTwo")) arg.value_two = a.at("valueTwo").uint64();
                    arg.op = enum_value(a.at("op"), "seccomp operator",
                                        {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                         "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"});
                    call.args.push_back(arg);
                }
            }
            s.syscalls.push_back(std::move(call));
        }
    }
    if (notify && s.listener_path.empty())
        n.fail("SCMP_ACT_NOTIFY is used but listenerPath is not set");
    if (!s.listener_path.empty() && s.listener_path[0] != '/')
        n.at("listenerPath").fail("must be an absolute path");
    return s;
}

std::vector<Namespace> parse_namespaces(const JsonNode& list) {
    std::vector<Namespace> out;
    std::set<NamespaceType> seen;
    for (std::size_t i = 0, len = list.size(); i < len; ++i) {
        JsonNode ns = list.at(i);
        std::string type = ns.at("type").str();
        auto it = std::find_if(kNamespaceKinds.begin(), kNamespaceKinds.end(),
                               [&](const auto& k) { return type == k.name; });
        if (it == kNamespaceKinds.end())
            ns.at("type").fail("unknown namespace type " + json_quote(type) +
                               " (one of: pid, network, mount, ipc, uts, user, cgroup, time)");
        if (!seen.insert(it->type).second)
            ns.at("type").fail("namespace " + json_quote(type) + " is given more than once");
        Namespace entry{it->type, ns.str_or("path")};
        if (!entry.path.empty() && entry.path[0] != '/')
            ns.at("path").fail("must be an absolute path, got " + json_quote(entry.path));
        out.push_back(entry);
    }
    return out;
}

std::vector<Device> parse_devices(const JsonNode& list) {
    std::vector<Device> out;
    for (std::size_t i = 0, len = list.size(); i < len; ++i) {
        JsonNode d = list.at(i);
        Device dev;
        dev.path = d.at("path").str();
        if (dev.path.empty() || dev.path[0] != '/')
            d.at("path").fail("must be an absolute path, got " + json_quote(dev.path));
        dev.path = sys::clean_path(dev.path);
        dev.type = enum_value(d.at("type"), "device type", {"c", "b", "u", "p"})[0];
        if (dev.type != 'p') {
            dev.major = d.at("major").int64(0, 0xfff);
            dev.minor = d.at("minor").int64(0, 0xfffff);
        }
        if (d.has("fileMode"))
            dev.file_mode = static_cast<std::uint32_t>(d.at("fileMode").uint64(07777));
        if (d.has("uid")) dev.uid = d.at("uid").uint32();
        if (d.has("gid")) dev.gid = d.at("gid").uint32();
        out.push_back(dev);
    }
    return out;
}

std::map<std::string, TimeOffset> parse_time_offsets(const JsonNode& t) {
    std::map<std::string, TimeOffset> out;
    for (const auto& k : t.keys()) {
        JsonNode e = t.member(k);
        if (k != "monotonic" && k != "boottime")
            e.fail("unknown clock " + json_quote(k) + " (one of: monotonic, boottime)");
        TimeOffset off;
        if (e.has("secs")) off.secs = e.at("secs").int64();
        if (e.has("nanosecs"))
            off.nanosecs = static_cast<std::uint32_t>(e.at("nanosecs").uint64(999999999));
        out[k] = off;
    }
    return out;
}

Linux::MemoryPolicy parse_memory_policy(const JsonNode& mp) {
    // set_mempolicy(2)'s numbers (linux/mempolicy.h), in the order of its enum.
    static const std::vector<std::string> kModes = {"MPOL_DEFAULT",
                                                    "MPOL_PREFERRED",
                                                    "MPOL_BIND",
                                                    "MPOL_INTERLEAVE",
                                                    "MPOL_LOCAL",
                                                    "MPOL_PREFERRED_MANY",
                                                    "MPOL_WEIGHTED_INTERLEAVE"};
    static const std::vector<std::pair<std::string, int>> kFlags = {
        {"MPOL_F_STATIC_NODES", 1 << 15},
        {"MPOL_F_RELATIVE_NODES", 1 << 14},
        {"MPOL_F_NUMA_BALANCING", 1 << 13}};
    Linux::MemoryPolicy pol;
    std::string mode =
        enum_value(mp.at("mode"), "memory policy mode",
                   {"MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                    "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL"});
    pol.mode = static_cast<int>(std::find(kModes.begin(), kModes.end(), mode) - kModes.begin());
    pol.nodes = mp.str_or("nodes");
    if (mp.has("flags")) {
        JsonNode f = mp.at("flags");
        for (std::size_t i = 0, len = f.size(); i < len; ++i) {
            std::string name = enum_value(
                f.at(i), "memory policy flag",
                {"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"});
            for (const auto& [flag, bit] : kFlags)
                if (flag == name) pol.flags |= bit;
        }
    }
    bool wants_nodes = mode != "MPOL_DEFAULT" && mode != "MPOL_LOCAL";
    if (!wants_nodes && !pol.nodes.empty())
        mp.at("nodes").fail(mode + " takes no nodes (set_mempolicy(2)); remove \"nodes\"");
    if (wants_nodes && pol.nodes.empty() && mode != "MPOL_PREFERRED")
        mp.fail("nodes: " + mode + R"( needs at least one memory node ("nodes": "0"))");
    return pol;
}

std::vector<std::pair<std::string, std::string>> parse_net_devices(const JsonNode& devs) {
    std::vector<std::pair<std::string, std::string>> out;
    // An interface name: 1-15 bytes (IFNAMSIZ), no "/", no white space, not "." or "..".
    auto check_name = [](const JsonNode& where, const std::string& name) {
        bool bad_char = name.find_first_of("/ \t\n:") != std::string::npos;
        if (name.empty() || name.size() > 15 || bad_char || name == "." || name == "..")
            where.fail("invalid network interface name " + json_quote(name) +
                       " (1-15 characters, none of / : or white space, not . or ..)");
    };
    for (const auto& host_name : devs.keys()) {
        JsonNode d = devs.member(host_name);
        check_name(d, host_name);
        std::string inside = host_name;
        if (d.has("name")) {
            inside = d.at("name").str();
            check_name(d.at("name"), inside);
        }
        out.emplace_back(host_name, inside);
    }
    return out;
}

Linux parse_linux(const JsonNode& n, std::vector<std::string>& warnings) {
    Linux l;
    if (n.has("uidMappings")) l.uid_mappings = parse_id_mappings(n.at("uidMappings"));
    if (n.has("gidMappings")) l.gid_mappings = parse_id_mappings(n.at("gidMappings"));
    if (n.has("sysctl")) l.sysctl = n.at("sysctl").string_map();
    if (n.has("resources")) l.resources = parse_resources(n.at("resources"), warnings);
    l.cgroups_path = n.str_or("cgroupsPath");
    // A ".." could climb out of the hierarchy's root (or the caller's cgroup) and make hako
    // create and write cgroups the container's owner does not own.
    for (const auto& part : sys::split(l.cgroups_path, '/'))
        if (part == "..")
            n.at("cgroupsPath")
                .fail("must not contain \"..\" (got " + json_quote(l.cgroups_path) +
                      "): a cgroup path may only lead down from where it starts");
    if (n.has("namespaces")) l.namespaces = parse_namespaces(n.at("namespaces"));
    if (n.has("devices")) l.devices = parse_devices(n.at("devices"));
    if (n.has("seccomp")) l.seccomp = parse_seccomp(n.at("seccomp"));
    if (n.has("rootfsPropagation"))
        l.rootfs_propagation = enum_value(n.at("rootfsPropagation"), "rootfs propagation",
                                          {"shared", "slave", "private", "unbindable", "rshared",
                                           "rslave", "rprivate", "runbindable"});
    l.masked_paths = n.strings_or_empty("maskedPaths");
    l.readonly_paths = n.strings_or_empty("readonlyPaths");
    for (const char* key : {"maskedPaths", "readonlyPaths"}) {
        if (!n.has(key)) continue;
        JsonNode list = n.at(key);
        for (std::size_t i = 0, len = list.size(); i < len; ++i) {
            std::string p = list.at(i).str();
            if (p.empty() || p[0] != '/')
                list.at(i).fail("must be an absolute path, got " + json_quote(p));
        }
    }
    l.mount_label = n.str_or("mountLabel");
    l.has_intel_rdt = n.has("intelRdt");
    if (n.has("personality"))
        l.personality_domain = enum_value(n.at("personality").at("domain"), "personality domain",
                                          {"LINUX", "LINUX32"});
    if (n.has("timeOffsets")) l.time_offsets = parse_time_offsets(n.at("timeOffsets"));
    if (n.has("memoryPolicy")) l.memory_policy = parse_memory_policy(n.at("memoryPolicy"));
    if (n.has("netDevices")) l.net_devices = parse_net_devices(n.at("netDevices"));
    return l;
}

[[noreturn]] void reject(const std::string& message) { throw ConfigError{message}; }

// Which namespace owns a sysctl (as runc's validator): writing any other one would change the
// host. nullopt: not namespaced.
std::optional<NamespaceType> sysctl_owner(const std::string& key) {
    static const std::set<std::string> kIpc = {
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
        "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
    if (kIpc.count(key) != 0 || key.rfind("fs.mqueue.", 0) == 0) return NamespaceType::kIpc;
    if (key.rfind("net.", 0) == 0) return NamespaceType::kNetwork;
    if (key == "kernel.hostname" || key == "kernel.domainname") return NamespaceType::kUts;
    return std::nullopt;
}

std::string describe_maps(const std::vector<IdMapping>& maps) {
    std::string out;
    for (const auto& m : maps)
        out += (out.empty() ? "" : ", ") + std::to_string(m.container_id) + "-" +
               std::to_string(m.container_id + m.size - 1);
    return out;
}

// The devpts trap: mount(2) answers a bare EINVAL when a uid=/gid= option names an id that the
// container's user namespace does not map (devpts gid=5 in a rootless container). Say it first.
void check_mount_ids(const Spec& s) {
    for (std::size_t i = 0; i < s.mounts.size(); ++i) {
        const Mount& m = s.mounts[i];
        bool bind =
            m.type == "bind" || std::any_of(m.options.begin(), m.options.end(),
                                            [](auto& o) { return o == "bind" || o == "rbind"; });
        if (bind) continue;
        for (const auto& opt : m.options) {
            bool gid = opt.rfind("gid=", 0) == 0;
            if (!gid && opt.rfind("uid=", 0) != 0) continue;
            const char* kind = gid ? "gid" : "uid";
            std::string field = gid ? "linux.gidMappings" : "linux.uidMappings";
            const auto& maps = gid ? s.linux.gid_mappings : s.linux.uid_mappings;
            char* end = nullptr;
            std::uint64_t id = std::strtoull(opt.c_str() + 4, &end, 10);
            std::string where = "mounts[" + std::to_string(i) + "] (" + m.type + " on " +
                                m.destination + "): " + opt + ": ";
            if (opt.size() == 4 || *end != '\0') reject(where + "not a number");
            if (id_mapped(maps, id)) continue;
            reject(where + kind + " " + opt.substr(4) +
                   " is not mapped in the container's user namespace (" + field + " maps " + kind +
                   "s " + describe_maps(maps) + "), and mount(2) would refuse " + m.type +
                   " with a bare \"Invalid argument\"; add " + kind + " " + opt.substr(4) + " to " +
                   field + " or drop " + opt + " from the options");
        }
    }
}

// The cross-field MUSTs of config.md / config-linux.md.
void validate(const Spec& s) {
    const Linux& l = s.linux;
    auto ns = [&](NamespaceType t) { return l.find_namespace(t); };
    const Namespace* user = ns(NamespaceType::kUser);
    bool new_user = user != nullptr && user->path.empty();
    if (new_user && (l.uid_mappings.empty() || l.gid_mappings.empty()))
        reject(
            "linux.namespaces: a new user namespace needs linux.uidMappings and "
            "linux.gidMappings");
    if (!new_user && (!l.uid_mappings.empty() || !l.gid_mappings.empty()))
        reject(
            "linux.uidMappings/gidMappings are set but the container does not create a user "
            "namespace; add {\"type\": \"user\"} to linux.namespaces");
    if (!l.net_devices.empty() && ns(NamespaceType::kNetwork) == nullptr)
        reject(
            "linux.netDevices: the container shares the runtime's network namespace, so there "
            "is nowhere to move the devices; add a network namespace to linux.namespaces");
    if (!s.hostname.empty() && ns(NamespaceType::kUts) == nullptr)
        reject("hostname: setting the hostname needs a uts namespace in linux.namespaces");
    if (!s.domainname.empty() && ns(NamespaceType::kUts) == nullptr)
        reject("domainname: setting the domainname needs a uts namespace in linux.namespaces");
    if (!l.time_offsets.empty() &&
        (ns(NamespaceType::kTime) == nullptr || !ns(NamespaceType::kTime)->path.empty()))
        reject("linux.timeOffsets: needs a new time namespace in linux.namespaces");
    if (new_user) check_mount_ids(s);
    if (new_user && s.process) {
        if (!id_mapped(l.uid_mappings, s.process->user.uid))
            reject("process.user.uid: " + std::to_string(s.process->user.uid) +
                   " is not mapped in linux.uidMappings");
        if (!id_mapped(l.gid_mappings, s.process->user.gid))
            reject("process.user.gid: " + std::to_string(s.process->user.gid) +
                   " is not mapped in linux.gidMappings");
    }
    for (const auto& [key, value] : l.sysctl) {
        std::string where = "linux.sysctl." + json_quote(key) + ": ";
        if (key.find('/') != std::string::npos || key.find("..") != std::string::npos)
            reject(where + "not a sysctl name");
        auto owner = sysctl_owner(key);
        if (!owner) reject(where + "not a namespaced sysctl: setting it would change the host");
        const Namespace* n = ns(*owner);
        if (n == nullptr)
            reject(where + "belongs to the " + namespace_name(*owner) +
                   " namespace, which the container shares with the host; add a " +
                   namespace_name(*owner) + " namespace to linux.namespaces");
    }
    for (std::size_t i = 0; i < s.mounts.size(); ++i) {
        const Mount& m = s.mounts[i];
        if (!m.uid_mappings.empty() || !m.gid_mappings.empty()) {
            if (m.uid_mappings.empty() || m.gid_mappings.empty())
                reject("mounts[" + std::to_string(i) +
                       "]: an idmapped mount needs both uidMappings and gidMappings");
        }
    }
}

}  // namespace

bool id_mapped(const std::vector<IdMapping>& maps, std::uint64_t id) {
    return std::any_of(maps.begin(), maps.end(), [&](const IdMapping& m) {
        return id >= m.container_id && id - m.container_id < m.size;
    });
}

const char* namespace_name(NamespaceType t) { return kind_of(t).name; }
const char* namespace_proc_name(NamespaceType t) { return kind_of(t).proc_name; }
int namespace_clone_flag(NamespaceType t) { return kind_of(t).clone_flag; }

std::optional<NamespaceType> namespace_of_clone_flag(int flag) {
    for (const auto& k : kNamespaceKinds)
        if (k.clone_flag == flag) return k.type;
    return std::nullopt;
}

const Namespace* Linux::find_namespace(NamespaceType t) const {
    for (const auto& ns : namespaces)
        if (ns.type == t) return &ns;
    return nullptr;
}

sys::Result<ParseResult> parse_config(const std::string& text, const std::string& bundle) {
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::parse_error& e) {
        // Turn the byte offset into line:column, which is what an editor shows.
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        std::string what = e.what();
        auto pos = what.find("syntax error");
        if (pos != std::string::npos) what = what.substr(pos);
        return sys::plain_error("config.json:" + std::to_string(line) + ":" + std::to_string(col) +
                                ": " + what);
    }
    ParseResult out;
    try {
        JsonNode root(doc, "");
        if (!doc.is_object()) root.fail("expected a JSON object at the top level");
        Spec& s = out.spec;
        s.bundle = bundle;
        s.oci_version = root.at("ociVersion").str();
        if (s.oci_version.rfind("1.", 0) != 0)
            root.at("ociVersion")
                .fail("unsupported version " + json_quote(s.oci_version) +
                      " (hako speaks runtime-spec 1.x)");
        if (root.has("process")) s.process = parse_process(root.at("process"), out.warnings);
        JsonNode r = root.at("root");
        s.root.path = resolve_against(bundle, r.at("path").str());
        s.root.readonly = r.bool_or("readonly", false);
        s.hostname = root.str_or("hostname");
        s.domainname = root.str_or("domainname");
        if (root.has("mounts")) {
            JsonNode list = root.at("mounts");
            for (std::size_t i = 0, len = list.size(); i < len; ++i)
                s.mounts.push_back(parse_mount(list.at(i), bundle, out.warnings));
        }
        if (root.has("hooks")) {
            JsonNode h = root.at("hooks");
            s.hooks.prestart = parse_hooks(h, "prestart");
            s.hooks.create_runtime = parse_hooks(h, "createRuntime");
            s.hooks.create_container = parse_hooks(h, "createContainer");
            s.hooks.start_container = parse_hooks(h, "startContainer");
            s.hooks.poststart = parse_hooks(h, "poststart");
            s.hooks.poststop = parse_hooks(h, "poststop");
            // prestart is deprecated, but Docker's libnetwork still sets it on every container:
            // no warning for it (runc and crun give none either).
        }
        if (root.has("annotations")) s.annotations = root.at("annotations").string_map();
        if (root.has("linux")) s.linux = parse_linux(root.at("linux"), out.warnings);
        validate(s);
    } catch (const ConfigError& e) {
        return sys::plain_error(e.message);
    }
    return out;
}

sys::Result<Process> parse_process_json(const std::string& text,
                                        std::vector<std::string>& warnings) {
    try {
        json doc = json::parse(text);
        return parse_process(JsonNode(doc, "process"), warnings);
    } catch (const json::parse_error& e) {
        return sys::plain_error(std::string("process.json: ") + e.what());
    } catch (const ConfigError& e) {
        return sys::plain_error(e.message);
    }
}

sys::Result<Resources> parse_resources_json(const std::string& text) {
    try {
        json doc = json::parse(text);
        std::vector<std::string> warnings;  // update applies no device rules
        return parse_resources(JsonNode(doc, "resources"), warnings);
    } catch (const json::parse_error& e) {
        return sys::plain_error(std::string("resources: ") + e.what());
    } catch (const ConfigError& e) {
        return sys::plain_error(e.message);
    }
}

sys::Result<ParseResult> load_bundle(const std::string& bundle) {
    auto text = sys::read_file(sys::join_path(bundle, "config.json"));
    if (!text) {
        auto e = text.error();
        if (e.err == ENOENT)
            e.hint = "the bundle must hold config.json (create one with `hako spec`)";
        return sys::fail(e);
    }
    auto parsed = parse_config(*text, bundle);
    if (!parsed) return parsed;
    parsed->text = std::move(*text);
    // Checks against the bundle's files: still before any side effect.
    struct stat st {};
    const std::string& root = parsed->spec.root.path;
    if (::stat(root.c_str(), &st) < 0)
        return sys::fail(
            sys::SysError{"root.path:", root, errno, "the container's root filesystem must exist"});
    if (!S_ISDIR(st.st_mode)) return sys::plain_error("root.path: " + root + " is not a directory");
    for (std::size_t i = 0; i < parsed->spec.mounts.size(); ++i) {
        const Mount& m = parsed->spec.mounts[i];
        bool bind =
            m.type == "bind" || std::any_of(m.options.begin(), m.options.end(),
                                            [](auto& o) { return o == "bind" || o == "rbind"; });
        if (bind && ::stat(m.source.c_str(), &st) < 0)
            return sys::errno_error("mounts[" + std::to_string(i) + "].source:", m.source);
    }
    return parsed;
}

}  // namespace spec
