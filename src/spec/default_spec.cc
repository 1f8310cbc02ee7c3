#include "spec/default_spec.h"

#include <nlohmann/json.hpp>

#include "spec/names.h"

namespace spec {

using nlohmann::json;
using ordered = nlohmann::ordered_json;

namespace {

// runc's `spec --rootless`: a user namespace mapping only the caller's own ids, no network
// namespace (an unprivileged user cannot give it an interface), /sys bound from the host (sysfs
// needs a network namespace of the user namespace's own), no uid=/gid= mount options (only the
// caller's id is mapped, so gid=5 would make the devpts mount fail), no resources (cgroups are not
// delegated to the user on v1).
void make_rootless(ordered& j, unsigned uid, unsigned gid) {
    ordered namespaces = ordered::array();
    for (const auto& ns : j["linux"]["namespaces"])
        if (ns["type"] != "network" && ns["type"] != "user") namespaces.push_back(ns);
    namespaces.push_back({{"type", "user"}});
    j["linux"]["namespaces"] = namespaces;
    j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", uid}, {"size", 1}}};
    j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", gid}, {"size", 1}}};
    j["linux"].erase("resources");
    ordered mounts = ordered::array();
    for (auto m : j["mounts"]) {
        if (m["destination"] == "/sys") {
            mounts.push_back({{"destination", "/sys"},
                              {"type", "none"},
                              {"source", "/sys"},
                              {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}});
            continue;
        }
        if (m.contains("options")) {
            ordered options = ordered::array();
            for (const auto& o : m["options"]) {
                const auto& text = o.get_ref<const std::string&>();
                if (text.rfind("uid=", 0) != 0 && text.rfind("gid=", 0) != 0) options.push_back(o);
            }
            m["options"] = options;
        }
        mounts.push_back(m);
    }
    j["mounts"] = mounts;
}

}  // namespace

std::string default_config_json(const RootlessIds* rootless) {
    ordered caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    ordered j = {
        {"ociVersion", "1.3.0"},
        {"process",
         {{"terminal", true},
          {"user", {{"uid", 0}, {"gid", 0}}},
          {"args", {"sh"}},
          {"env",
           {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
          {"cwd", "/"},
          {"capabilities",
           {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
          {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
          {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "hako"},
        {"mounts",
         {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
          {{"destination", "/dev"},
           {"type", "tmpfs"},
           {"source", "tmpfs"},
           {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
          {{"destination", "/dev/pts"},
           {"type", "devpts"},
           {"source", "devpts"},
           {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
          {{"destination", "/dev/shm"},
           {"type", "tmpfs"},
           {"source", "shm"},
           {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
          {{"destination", "/dev/mqueue"},
           {"type", "mqueue"},
           {"source", "mqueue"},
           {"options", {"nosuid", "noexec", "nodev"}}},
          {{"destination", "/sys"},
           {"type", "sysfs"},
           {"source", "sysfs"},
           {"options", {"nosuid", "noexec", "nodev", "ro"}}},
          {{"destination", "/sys/fs/cgroup"},
           {"type", "cgroup"},
           {"source", "cgroup"},
           {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}}}},
        {"linux",
         {{"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
          {"namespaces",
           {{{"type", "pid"}},
            {{"type", "network"}},
            {{"type", "ipc"}},
            {{"type", "uts"}},
            {{"type", "mount"}}}},
          {"maskedPaths",
           {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
            "/proc/scsi"}},
          {"readonlyPaths",
           {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}}}},
    };
    if (rootless != nullptr) make_rootless(j, rootless->uid, rootless->gid);
    return j.dump(1, '\t') + "\n";
}

std::string features_json() {
    ordered caps = ordered::array();
    for (int c = 0; c <= 40; ++c) caps.push_back(capability_name(c));
    ordered j = {
        {"ociVersionMin", "1.0.0"},
        {"ociVersionMax", "1.3.0"},
        {"hooks",
         {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
          "poststop"}},
        {"mountOptions", {"async",       "atime",          "bind",        "defaults",
                          "dev",         "diratime",       "dirsync",     "exec",
                          "lazytime",    "mand",           "noatime",     "nodev",
                          "nodiratime",  "noexec",         "nolazytime",  "nomand",
                          "norelatime",  "nostrictatime",  "nosuid",      "nosymfollow",
                          "private",     "ratime",         "rbind",       "rdev",
                          "rdiratime",   "relatime",       "remount",     "rexec",
                          "rnoatime",    "rnodev",         "rnodiratime", "rnoexec",
                          "rnorelatime", "rnostrictatime", "rnosuid",     "rnosymfollow",
                          "ro",          "rprivate",       "rrelatime",   "rro",
                          "rrw",         "rshared",        "rslave",      "rstrictatime",
                          "rsuid",       "rsymfollow",     "runbindable", "rw",
                          "shared",      "silent",         "slave",       "strictatime",
                          "suid",        "symfollow",      "sync",        "unbindable"}},
        {"linux",
         {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
          {"capabilities", caps},
          {"cgroup",
           {{"v1", true},
            {"v2", true},
            {"systemd", false},
            {"systemdUser", false},
            {"rdma", false}}},
          {"seccomp",
           {{"enabled", true},
            {"actions",
             {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
              "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
              "SCMP_ACT_TRAP"}},
            {"operators",
             {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
              "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
            {"knownFlags",
             {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
              "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}},
            {"supportedFlags",
             {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
              "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}}}},
          {"apparmor", {{"enabled", false}}},
          {"selinux", {{"enabled", false}}},
          {"intelRdt", {{"enabled", false}}},
          {"mountExtensions", {{"idmap", {{"enabled", true}}}}}}},
        // runc's key: checkpoint and restore are there (through criu; `hako doctor` says
        // whether criu can run on this kernel).
        {"annotations",
         {{"org.opencontainers.runtime-spec.features", "hako"},
          {"org.opencontainers.runc.checkpoint.enabled", "true"}}},
    };
    return j.dump(4) + "\n";
}

}  // namespace spec
