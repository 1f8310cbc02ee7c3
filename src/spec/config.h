// The typed form of an OCI runtime-spec v1.3.0 config.json. `parse_config` fills it and checks
// every MUST of config.md / config-linux.md that can be checked before anything runs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sys/sys_error.h"

namespace spec {

struct IdMapping {
    std::uint32_t container_id = 0;
    std::uint32_t host_id = 0;
    std::uint32_t size = 0;
};

struct User {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::optional<std::uint32_t> umask;
    std::vector<std::uint32_t> additional_gids;
};

struct Capabilities {
    // Numbers of the capabilities the kernel knows; unknown names were dropped with a warning.
    std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
    int resource = 0;  // RLIMIT_*
    std::string type;  // as written
    std::uint64_t soft = 0;
    std::uint64_t hard = 0;
};

struct Scheduler {
    std::string policy;
    std::int32_t nice = 0;
    std::int32_t priority = 0;
    std::vector<std::string> flags;
    std::uint64_t runtime = 0, deadline = 0, period = 0;
};

struct IoPriority {
    std::string klass;
    std::int32_t priority = 0;
};

struct Process {
    bool terminal = false;
    std::optional<std::pair<std::uint32_t, std::uint32_t>> console_size;  // height, width
    User user;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::string apparmor_profile;
    std::optional<int> oom_score_adj;
    std::optional<Scheduler> scheduler;
    std::string selinux_label;
    std::optional<IoPriority> io_priority;
    std::string exec_cpu_affinity_initial, exec_cpu_affinity_final;
};

struct Root {
    std::string path;  // absolute after parsing (relative ones are resolved against the bundle)
    bool readonly = false;
};

struct Mount {
    std::string destination;  // absolute, cleaned
    std::string type;
    std::string source;  // for binds: absolute host path (relative ones resolved against bundle)
    std::vector<std::string> options;
    std::vector<IdMapping> uid_mappings, gid_mappings;
};

struct Hook {
    std::string path;
    std::vector<std::string> args, env;
    std::optional<int> timeout;
};

struct Hooks {
    std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
        poststop;
};

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };
struct Namespace {
    NamespaceType type;
    std::string path;  // empty: create a new one
};
const char* namespace_name(NamespaceType t);       // config.json's: "network"
const char* namespace_proc_name(NamespaceType t);  // /proc/PID/ns's: "net"
int namespace_clone_flag(NamespaceType t);
std::optional<NamespaceType> namespace_of_clone_flag(int flag);

struct Device {
    std::string path;
    char type = 'c';  // c, b, u, p
    std::int64_t major = 0, minor = 0;
    std::optional<std::uint32_t> file_mode;
    std::optional<std::uint32_t> uid, gid;
};

struct DeviceRule {
    bool allow = false;
    std::string type = "a";
    std::optional<std::int64_t> major, minor;
    std::string access = "rwm";
};

struct WeightDevice {
    std::int64_t major = 0, minor = 0;
    std::optional<std::uint16_t> weight, leaf_weight;
};
struct ThrottleDevice {
    std::int64_t major = 0, minor = 0;
    std::uint64_t rate = 0;
};

struct Resources {
    std::vector<DeviceRule> devices;
    struct Memory {
        std::optional<std::int64_t> limit, reservation, swap, kernel, kernel_tcp;
        std::optional<std::uint64_t> swappiness;
        std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
    };
    std::optional<Memory> memory;
    struct Cpu {
        std::optional<std::uint64_t> shares, period, realtime_period, burst;
        std::optional<std::int64_t> quota, realtime_runtime, idle;
        std::string cpus, mems;
    };
    std::optional<Cpu> cpu;
    std::optional<std::int64_t> pids_limit;
    struct BlockIo {
        std::optional<std::uint16_t> weight, leaf_weight;
        std::vector<WeightDevice> weight_device;
        std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
            throttle_write_iops;
    };
    std::optional<BlockIo> block_io;
    struct HugepageLimit {
        std::string page_size;
        std::uint64_t limit = 0;
    };
    std::vector<HugepageLimit> hugepage_limits;
    struct Network {
        std::optional<std::uint32_t> class_id;
        std::vector<std::pair<std::string, std::uint32_t>> priorities;
    };
    std::optional<Network> network;
    struct Rdma {
        std::optional<std::uint32_t> hca_handles, hca_objects;
    };
    std::map<std::string, Rdma> rdma;
    std::map<std::string, std::string> unified;

    // Anything beyond device rules (which a user namespace enforces by itself: no mknod there).
    [[nodiscard]] bool limits_anything() const {
        return memory || cpu || pids_limit || block_io || !hugepage_limits.empty() || network ||
               !rdma.empty() || !unified.empty();
    }
};

struct SeccompArg {
    std::uint32_t index = 0;
    std::uint64_t value = 0, value_two = 0;
    std::string op;
};
struct SeccompSyscall {
    std::vector<std::string> names;
    std::string action;
    std::optional<std::uint32_t> errno_ret;
    std::vector<SeccompArg> args;
};
struct Seccomp {
    std::string default_action;
    std::optional<std::uint32_t> default_errno_ret;
    std::vector<std::string> architectures, flags;
    std::string listener_path, listener_metadata;
    std::vector<SeccompSyscall> syscalls;
};

struct TimeOffset {
    std::int64_t secs = 0;
    std::uint32_t nanosecs = 0;
};

struct Linux {
    std::vector<IdMapping> uid_mappings, gid_mappings;
    std::map<std::string, std::string> sysctl;
    std::optional<Resources> resources;
    std::string cgroups_path;
    std::vector<Namespace> namespaces;
    std::vector<Device> devices;
    std::optional<Seccomp> seccomp;
    std::string rootfs_propagation;
    std::vector<std::string> masked_paths, readonly_paths;
    std::string mount_label;
    bool has_intel_rdt = false;
    std::optional<std::string> personality_domain;
    std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
    struct MemoryPolicy {
        int mode = 0;       // MPOL_*
        int flags = 0;      // MPOL_F_*
        std::string nodes;  // "0-3,7"; empty for none
    };
    std::optional<MemoryPolicy> memory_policy;
    // linux.netDevices: host interface -> its name in the container (the same when not given).
    std::vector<std::pair<std::string, std::string>> net_devices;

    [[nodiscard]] const Namespace* find_namespace(NamespaceType t) const;
};

struct Spec {
    std::string oci_version;
    std::optional<Process> process;
    Root root;
    std::string hostname, domainname;
    std::vector<Mount> mounts;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    Linux linux;
    std::string bundle;  // absolute path of the bundle directory
};

// Whether container id `id` is inside one of the maps.
bool id_mapped(const std::vector<IdMapping>& maps, std::uint64_t id);

struct ParseResult {
    Spec spec;
    std::vector<std::string> warnings;  // "mounts[3].destination: ..." — not fatal
    std::string text;                   // config.json as read (load_bundle), for the state's copy
};

// Parse and validate `text` (the contents of <bundle>/config.json). Errors name the JSON path
// and the value; syntax errors give line:column.
sys::Result<ParseResult> parse_config(const std::string& text, const std::string& bundle);
// A process object alone (runc's `exec --process FILE`), checked as config.md's `process`.
sys::Result<Process> parse_process_json(const std::string& text,
                                        std::vector<std::string>& warnings);
// A linux.resources object alone (runc's `update -r FILE`).
sys::Result<Resources> parse_resources_json(const std::string& text);
// Read <bundle>/config.json and parse it.
sys::Result<ParseResult> load_bundle(const std::string& bundle);

}  // namespace spec
