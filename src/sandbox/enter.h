// Joining a running container (`exec`): in a forked single-threaded child, never in the caller
// (setns into a mount or user namespace fails with EINVAL in a multi-threaded process).
#pragma once

#include <vector>

#include "sandbox/init.h"
#include "spec/config.h"

namespace sandbox {

struct EnterContext {
    const spec::Spec* spec = nullptr;  // the container's config with the exec'd process in it
    std::vector<NamespaceJoin> joins;  // user first, mount last; fds opened by the parent
    int sync_fd = -1;
    int preserve_fds = 0;
    bool extra_fork = false;  // a pid or time namespace is joined: they apply to children
    int chroot_fd = -1;       // the init's root, when the container shares our mount namespace
    std::vector<int> cgroup_tasks;  // v1 `tasks` files to join (cgroup::join_self)
    std::vector<std::string> cgroup_tasks_dirs;
    std::uint64_t reset_signals = ~std::uint64_t{0};  // sys::changed_signals() of the parent
    // Cloned with CLONE_VM | CLONE_VFORK (run_enter_shared): the parent is stopped until we
    // exec, so there is no first "go" to wait for, and the exec stub waits for the release.
    bool shared_memory = false;
};

// The child's entry: waits for "go" (cgroups joined), joins, sets the process up, reports
// ready and execs. Never returns; never throws.
[[noreturn]] void run_enter(const EnterContext& ctx) noexcept;
// The same as a clone3_vfork entry: `ctx` is the EnterContext (shared_memory set).
int run_enter_shared(void* ctx) noexcept;

}  // namespace sandbox
