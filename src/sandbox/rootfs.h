// The container's root filesystem: propagation, the rootfs bound onto itself, mounts in config
// order, devices, /dev links, pivot_root, masked and read-only paths.
#pragma once

#include <vector>

#include "sandbox/init.h"
#include "spec/mount_options.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

// Hooks of the create phase run in here, before pivot_root; `*host_pid` receives the init's pid
// as the runtime sees it when any hook needs it (0 otherwise).
// With process.terminal, `*console` receives the pty slave (the master went to the parent).
// `sources[i]`, when valid, is mounts[i]'s bind source, opened by the parent (see
// receive_mount_sources). `detached_procfs`, when not -1, is the init's own procfs handle (a
// detached mount), parked in the old root so that closing it later costs nothing (see pivot).
sys::Status setup_rootfs(const InitContext& ctx, const std::vector<sys::UniqueFd>& sources,
                         int* host_pid, sys::UniqueFd* console, int detached_procfs = -1);

// In a new user namespace the container's root may not reach a bind source (a 0700 directory of
// the host's): the parent, still the host's root, opens each one in our mount namespace (through
// /proc/PID/root) and passes the fds, as runc does. Empty without a user namespace.
sys::Result<std::vector<sys::UniqueFd>> receive_mount_sources(const InitContext& ctx);

// The parent's side: answer kNeedMountSources for the init `pid`.
sys::Status send_mount_sources(int sync_fd, const spec::Spec& s, pid_t pid);

// Whether mounts[i] is a bind mount.
bool is_bind_mount(const spec::Mount& m);
// The devices every container gets (config-linux.md "Default Devices"), by path.
std::vector<std::string> default_device_paths();

// What mounts[i] becomes, decided from the config alone (pure; unit-tested): how it is made,
// with which options, and what the init does around it.
struct MountPlan {
    enum class Kind { kBind, kCgroup, kFilesystem };
    Kind kind = Kind::kFilesystem;
    spec::MountOptions options;  // parsed; without MS_RDONLY while readonly_later
    // A read-only tmpfs (a ro /dev) is made writable first: what goes below it (devpts, device
    // nodes, /dev/shm) needs that; it turns read-only once the rootfs is complete (as runc).
    bool readonly_later = false;
    bool idmapped = false;  // uidMappings/gidMappings: a bind in a user namespace of its own
    // In a user namespace the kernel gives a new sysfs only with a network namespace of the user
    // namespace's own, and a new mqueue only with such an ipc namespace: what to bind from the
    // host instead when it refuses (EPERM), as users of rootless runc expect. "" otherwise.
    std::string host_fallback;
};
// Fails for an id-mapped mount that is not a bind.
sys::Result<MountPlan> plan_mount(const spec::Mount& m, std::size_t index, bool user_namespace);

// The words for a mount failure whose cause we know (the devpts gid=5 trap and friends).
std::string mount_hint(const spec::Mount& m, const spec::Linux& linux, int err);

}  // namespace sandbox
