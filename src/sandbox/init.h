// The container's init: what runs in the cloned child, from joining namespaces to execve.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "spec/config.h"

namespace sandbox {

struct NamespaceJoin {
    spec::NamespaceType type;
    int fd;  // opened by the parent, inherited across clone
};

// Everything the child needs; it lives in the parent's memory, which clone copies.
struct InitContext {
    const spec::Spec* spec = nullptr;
    const cgroup::Host* cgroup_host = nullptr;
    std::vector<std::string> cgroup_dirs;  // the container's cgroup in each hierarchy
    std::vector<int> cgroup_tasks;         // v1 `tasks` files to join (cgroup::join_self)
    std::vector<std::string> cgroup_tasks_dirs;
    // v1 directories the parent makes while we make our namespaces (early_flags): joined after
    // "go" by writing "0" into their `tasks`, opened by path (root, no user namespace).
    std::vector<std::string> cgroup_join_dirs;
    int early_flags = 0;  // namespaces unshared right after the clone, before "go"
    std::string id;
    int sync_fd = -1;  // the child's end of the sync socket
    int fifo_fd = -1;  // O_PATH fd of exec.fifo
    bool no_pivot = false;
    bool shared_mounts = false;  // no mount namespace of its own: nothing mounted, chroot(2)
    bool no_new_keyring = false;
    int preserve_fds = 0;
    int birth_flags = 0;               // namespaces the clone itself creates
    std::vector<NamespaceJoin> joins;  // user first
    std::vector<int> mount_userns;     // per mount: user namespace fd of an idmapped mount, or -1
    std::uint64_t reset_signals = ~std::uint64_t{0};  // sys::changed_signals() of the parent
    // Cloned with CLONE_VM | CLONE_VFORK (run_init_shared): the parent is stopped until we exec,
    // so there is no "go" to wait for; we die with it (parent-death signal) until
    // outlive_parent_from_here, and the exec stub, not hako's image, then waits for the
    // parent's "go" and for `start` on exec.fifo.
    bool shared_memory = false;
};

// The plan of how the child gets into its namespaces (pure; unit-tested).
struct NamespacePlan {
    int birth_flags = 0;      // clone3 flags
    int unshare_flags = 0;    // unshared by the child after joining (user ns separately)
    bool new_user = false;    // unshare(CLONE_NEWUSER) in the child (when not born with it)
    bool extra_fork = false;  // pid/time namespaces only apply to children: fork once more
};
NamespacePlan plan_namespaces(const spec::Linux& linux);
// Of a plan's birth namespaces, those the child can as well unshare itself right after the
// clone, while the parent makes the v1 cgroups (the network namespace is most of a clone's
// cost): none with a user namespace (the child could not open the cgroup files) or a join.
int early_unshare_flags(const NamespacePlan& plan);

// The init as a clone3_vfork entry (`ctx`: the InitContext, shared_memory set). Never returns.
int run_init_shared(void* ctx) noexcept;

// The order in which namespaces are joined, as indices into `namespaces`: the user namespace
// first (it owns the others, and joining them needs CAP_SYS_ADMIN there), the mount namespace
// last (after it, the other /proc/PID/ns paths would no longer be the host's), the rest in the
// config's order. Pure; unit-tested. create joins the entries with a path, exec all of the init's.
std::vector<std::size_t> join_order(const std::vector<spec::Namespace>& namespaces);

// The child's entry after clone. Never returns; never throws.
[[noreturn]] void run_init(const InitContext& ctx) noexcept;

}  // namespace sandbox
