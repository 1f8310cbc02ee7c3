// The container's root filesystem: propagation, the rootfs bound onto itself, mounts in config
// order, devices, /dev links, pivot_root, masked and read-only paths.
#pragma once

#include "sandbox/init.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

// Hooks of the create phase run in here, before pivot_root; `*host_pid` receives the init's pid
// as the runtime sees it when any hook needs it (0 otherwise).
// With process.terminal, `*console` receives the pty slave (the master went to the parent).
sys::Status setup_rootfs(const InitContext& ctx, int* host_pid, sys::UniqueFd* console);

// The words for a mount failure whose cause we know (the devpts gid=5 trap and friends).
std::string mount_hint(const spec::Mount& m, const spec::Linux& linux, int err);

}  // namespace sandbox
