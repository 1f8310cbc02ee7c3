#include "sandbox/init.h"

#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <exception>

#include "cgroup/cgroup.h"
#include "sandbox/console.h"
#include "sandbox/hook_runner.h"
#include "sandbox/lsm.h"
#include "sandbox/process_attrs.h"
#include "sandbox/process_setup.h"
#include "sandbox/rootfs.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"
#include "sys/clone.h"
#include "sys/fault.h"
#include "sys/fs.h"
#include "sys/mount_api.h"

namespace sandbox {
namespace {

using spec::NamespaceType;
using sys::Status;

Status expect_message(int fd, SyncType wanted) {
    HAKO_ASSIGN(auto m, receive_message(fd));
    if (!m) return sys::plain_error("the hako parent went away");
    if ((m)->type != wanted) return sys::plain_error("unexpected message from the hako parent");
    return {};
}

Status write_time_offsets(const spec::Linux& linux) {
    std::string text;
    for (const auto& [clock, off] : linux.time_offsets)
        text += clock + " " + std::to_string(off.secs) + " " + std::to_string(off.nanosecs) + "\n";
    if (text.empty()) return {};
    return sys::write_file("/proc/self/timens_offsets", text);
}

// A procfs of the init's own pid namespace, attached nowhere: through it the init reaches only
// the container's processes, unlike the host's /proc, whose /proc/N/root leads to the host.
// Where the kernel refuses a new instance (a pid namespace joined from a user namespace we are
// not privileged in), the host's /proc; it is never reachable from a config path either way.
// `*detached`: whether it is a mount of its own (fsmount), rather than our /proc.
sys::Result<sys::UniqueFd> open_own_procfs(bool* detached) {
    if (auto fsc = sys::FsContext::open("proc", "hako's procfs handle")) {
        auto mnt = fsc->mount(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        *detached = mnt.has_value();
        if (mnt) return mnt;
    }
    return sys::open_path("/proc", O_PATH | O_DIRECTORY);
}

// The init's own credentials and session: non-dumpable, root of its user namespace, a session
// keyring of its own, a new session.
Status become_init(const InitContext& ctx) {
    const spec::Spec& s = *ctx.spec;
    ::umask(0);  // device nodes and directories get exactly the modes asked for
    // Until execve the init is hako's own image: the container must not be able to open
    // /proc/<pid>/exe or /proc/<pid>/fd of it (execve makes it dumpable again).
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return sys::errno_error("prctl PR_SET_DUMPABLE");
    if (s.linux.find_namespace(NamespaceType::kUser) != nullptr) {
        // Become root of the new user namespace when it is mapped; harmless when not.
        if (::setresgid(0, 0, 0) < 0 && errno != EINVAL) return sys::errno_error("setresgid", "0");
        if (::setresuid(0, 0, 0) < 0 && errno != EINVAL) return sys::errno_error("setresuid", "0");
    }
    if (!ctx.no_new_keyring) {
        // A session keyring of its own, so the container cannot read the host's keys.
        std::string name = "_ses." + ctx.id;
        if (::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.c_str()) < 0 && errno != ENOSYS)
            return sys::errno_error("join session keyring", name);
    }
    if (::setsid() < 0) return sys::errno_error("setsid");
    return {};
}

// process.oomScoreAdj, through our procfs handle.
Status write_oom_score_adj(int proc, const spec::Spec& s) {
    if (!s.process || !s.process->oom_score_adj) return {};
    HAKO_ASSIGN(auto fd, sys::open_at(proc, "self/oom_score_adj", O_WRONLY));
    int value = *s.process->oom_score_adj;
    auto w = sys::write_all(fd.get(), std::to_string(value), "/proc/self/oom_score_adj");
    if (w) return {};
    auto e = std::move(w.error()).in("process.oomScoreAdj");
    if (e.err == EACCES || e.err == EPERM)
        e.hint = "lowering a process's oom_score_adj (to " + std::to_string(value) +
                 ") needs CAP_SYS_RESOURCE, which hako does not have here; ask for a value at "
                 "or above the caller's (containerd: restrict_oom_score_adj = true)";
    return sys::fail(std::move(e));
}

// linux.sysctl, inside the container's namespaces, through the procfs handle opened before
// pivot_root: a mount the container planted over /proc/sys cannot redirect the write
// (CVE-2025-52881).
Status write_sysctls(int proc, const spec::Spec& s) {
    for (const auto& [key, value] : s.linux.sysctl) {
        std::string rel = "sys/" + key;
        std::replace(rel.begin(), rel.end(), '.', '/');
        auto fd = sys::open_at(proc, rel, O_WRONLY | O_NOFOLLOW);
        if (!fd)
            return sys::fail(
                sys::SysError{"linux.sysctl: open", "/proc/" + rel, fd.error().err, {}});
        auto w = sys::write_all(fd->get(), value, "/proc/" + rel);
        if (!w)
            return sys::fail(sys::SysError{
                "linux.sysctl: write " + value + " to", "/proc/" + rel, w.error().err, {}});
    }
    return {};
}

// Sharing the parent's memory, the init leaves the wait for `start` to the exec stub: on
// exec.fifo, opened here for reading and writing (it never blocks so; as root, before the user
// switch: the fifo is the container root's) through the procfs handle. Else nothing.
sys::Result<sys::UniqueFd> fifo_for_stub(const InitContext& ctx, int proc) {
    if (!ctx.shared_memory) return sys::UniqueFd();
    return sys::open_at(proc, "self/fd/" + std::to_string(ctx.fifo_fd), O_RDWR);
}

// The container init proper: in all its namespaces, as the process that will execve.
[[noreturn]] void init_main(const InitContext& ctx, sys::UniqueFd stub) {
    bool ready_sent = false;
    auto result = [&]() -> Status {
        const spec::Spec& s = *ctx.spec;
        HAKO_TRY(become_init(ctx));
        // A handle on procfs opened before pivot_root: the fifo is reopened through it at the
        // end, when the container may have no /proc and its user no access to the state dir.
        bool detached = false;
        HAKO_ASSIGN(auto proc, open_own_procfs(&detached));
        HAKO_TRY(write_oom_score_adj(proc.get(), s));
        int host_pid = 0;
        sys::UniqueFd console;
        {
            HAKO_ASSIGN(auto sources, receive_mount_sources(ctx));
            // Parked only in a mount namespace of the init's own: in one joined by path, other
            // processes could see the unmasked procfs in the moment before the old root goes.
            bool own_mounts = std::none_of(ctx.joins.begin(), ctx.joins.end(), [](const auto& j) {
                return j.type == NamespaceType::kMount;
            });
            int park = detached && own_mounts ? proc.get() : -1;
            HAKO_TRY(setup_rootfs(ctx, sources, &host_pid, &console, park));
        }  // the sources are closed here, before the fd sweep below
        sys::fault_point("init-rootfs");
        if (console.valid()) HAKO_TRY(attach_console(std::move(console)));
        // The rootfs is in view: from here on paths from the config are resolved, so nothing
        // of the host's may stay reachable through /proc/self/fd/N (CVE-2024-21626): only
        // stdio, the preserved fds, the sync socket, the fifo and our procfs handle survive.
        HAKO_TRY(sys::close_fds_except(3 + ctx.preserve_fds,
                                       {ctx.sync_fd, ctx.fifo_fd, proc.get(), stub.get()}));
        if (!s.hostname.empty() && ::sethostname(s.hostname.data(), s.hostname.size()) < 0)
            return sys::errno_error("sethostname", s.hostname);
        if (!s.domainname.empty() && ::setdomainname(s.domainname.data(), s.domainname.size()) < 0)
            return sys::errno_error("setdomainname", s.domainname);
        HAKO_TRY(write_sysctls(proc.get(), s));
        HAKO_TRY(apply_exec_labels(s, proc.get()));
        HAKO_TRY(apply_memory_policy(s.linux));
        HAKO_ASSIGN(auto fifo_rw, fifo_for_stub(ctx, proc.get()));
        HAKO_TRY(outlive_parent_from_here(ctx.shared_memory));
        // From here on the container's signals are unblocked: a `kill` of a created container
        // ends it, as with runc.
        HAKO_ASSIGN(auto exec,
                    prepare_with_seccomp(s, ctx.preserve_fds, ctx.sync_fd, ctx.reset_signals,
                                         std::move(stub),
                                         {ctx.shared_memory ? ctx.sync_fd : -1, fifo_rw.get()}));
        sys::fault_point("init-prepared");
        HAKO_TRY(send_message(ctx.sync_fd, SyncType::kReady));
        ready_sent = true;
        if (ctx.shared_memory) {
            proc.reset();
            // The parent reads "ready" once we have exec'd (it is stopped until then).
            exec_process(exec, ctx.sync_fd, fifo_rw.get());
            ::_exit(127);
        }

        // Block until `start` opens the fifo for reading (runc's exec.fifo protocol).
        HAKO_ASSIGN(auto fifo,
                    sys::open_at(proc.get(), "self/fd/" + std::to_string(ctx.fifo_fd), O_WRONLY));
        HAKO_TRY(sys::write_all(fifo.get(), "0", "exec.fifo"));
        proc.reset();  // the hooks and the program need no handle of ours
        // startContainer hooks: after start, before the program, in the container (path
        // resolved there too).
        const auto& start_hooks = s.hooks.start_container;
        for (std::size_t i = 0; i < start_hooks.size(); ++i)
            HAKO_TRY(run_hook(start_hooks[i], hook_state_json(s, ctx.id, "running", host_pid),
                              "hooks.startContainer[" + std::to_string(i) + "]"));
        exec_process(exec);  // returns only on failure, having printed it
        ::_exit(127);
    }();
    // Once "ready" is sent, `create` may be gone: say it on stderr too, which `run` shares.
    if (ready_sent) {
        std::string msg = "hako: container init: " + result.error().message() + "\n";
        (void)!::write(2, msg.data(), msg.size());
    }
    (void)send_failure(ctx.sync_fd, result.error());
    ::_exit(1);
}

Status enter_namespaces(const InitContext& ctx, const NamespacePlan& plan) {
    if (ctx.early_flags != 0 && ::unshare(ctx.early_flags) < 0)
        return sys::errno_error("unshare namespaces");
    if (!ctx.shared_memory) HAKO_TRY(expect_message(ctx.sync_fd, SyncType::kGo));
    HAKO_TRY(cgroup::join_self(ctx.cgroup_tasks, ctx.cgroup_tasks_dirs));
    HAKO_TRY(cgroup::join_self_by_path(ctx.cgroup_join_dirs));
    // User namespace first: it owns the others, and joining them needs CAP_SYS_ADMIN there.
    for (const auto& join : ctx.joins) {
        if (::setns(join.fd, spec::namespace_clone_flag(join.type)) < 0)
            return sys::errno_error(std::string("join ") + spec::namespace_name(join.type) +
                                    " namespace");
    }
    if (plan.new_user) {
        if (::unshare(CLONE_NEWUSER) < 0) return sys::errno_error("unshare user namespace");
        HAKO_TRY(send_message(ctx.sync_fd, SyncType::kNeedMaps));
        HAKO_TRY(expect_message(ctx.sync_fd, SyncType::kMapsDone));
    }
    // The cgroup namespace is made here, after the parent moved us into the container's
    // cgroups, so that the container sees its own cgroup as "/".
    if (plan.unshare_flags != 0 && ::unshare(plan.unshare_flags) < 0)
        return sys::errno_error("unshare namespaces");
    if ((plan.unshare_flags & CLONE_NEWTIME) != 0) HAKO_TRY(write_time_offsets(ctx.spec->linux));
    return {};
}

}  // namespace

NamespacePlan plan_namespaces(const spec::Linux& linux) {
    NamespacePlan plan;
    int fresh = 0;
    bool joins = false;
    for (const auto& ns : linux.namespaces) {
        if (ns.path.empty()) {
            fresh |= spec::namespace_clone_flag(ns.type);
        } else {
            joins = true;
        }
    }
    const auto* pid = linux.find_namespace(NamespaceType::kPid);
    const auto* time = linux.find_namespace(NamespaceType::kTime);
    if (!joins && (fresh & CLONE_NEWTIME) == 0) {
        // The fast path: the clone itself creates every namespace (one process, no extra fork).
        plan.birth_flags = fresh & ~CLONE_NEWCGROUP;
        plan.unshare_flags = fresh & CLONE_NEWCGROUP;
        return plan;
    }
    // Joining by path must happen before creating a user namespace (from there we would lack
    // the rights to join the host's), and time offsets must be written before any process
    // enters the time namespace: so the child joins, unshares, and forks the init.
    plan.new_user = (fresh & CLONE_NEWUSER) != 0;
    plan.unshare_flags = fresh & ~CLONE_NEWUSER;
    plan.extra_fork = pid != nullptr || time != nullptr;
    return plan;
}

int early_unshare_flags(const NamespacePlan& plan) {
    if ((plan.birth_flags & CLONE_NEWUSER) != 0 || plan.new_user || plan.extra_fork) return 0;
    return plan.birth_flags & (CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS);
}

std::vector<std::size_t> join_order(const std::vector<spec::Namespace>& namespaces) {
    auto rank = [&](std::size_t i) {
        NamespaceType t = namespaces[i].type;
        return t == NamespaceType::kUser ? 0 : t == NamespaceType::kMount ? 2 : 1;
    };
    std::vector<std::size_t> order(namespaces.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return rank(a) < rank(b); });
    return order;
}

void run_init(const InitContext& ctx) noexcept {
    try {
        // Nothing reads our messages while the parent is stopped: if it dies, so do we (and
        // had it died before this, the stub finds the sync socket's end and runs nothing),
        // until outlive_parent_from_here.
        if (ctx.shared_memory && ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) ::_exit(1);
        // execCPUAffinity.initial: the CPUs to run on before joining the container's cgroup.
        if (ctx.spec->process && !ctx.spec->process->exec_cpu_affinity_initial.empty()) {
            auto st = set_cpu_affinity(ctx.spec->process->exec_cpu_affinity_initial,
                                       "process.execCPUAffinity.initial");
            if (!st) {
                (void)send_failure(ctx.sync_fd, st.error());
                ::_exit(1);
            }
        }
        NamespacePlan plan = plan_namespaces(ctx.spec->linux);
        // The exec stub's memfd is made before the cgroups are joined (while the parent makes
        // them): its inode and page are hako's, not charged to the container's memory limit.
        auto stub = make_exec_stub();
        auto entered = stub ? enter_namespaces(ctx, plan) : Status(sys::fail(stub.error()));
        if (!entered) {
            (void)send_failure(ctx.sync_fd, entered.error());
            ::_exit(1);
        }
        sys::fault_point("init-entered");
        if (!plan.extra_fork) init_main(ctx, std::move(*stub));
        // pid and time namespaces take effect for children: the init is one more fork away.
        fork_sibling_and_exit(ctx.sync_fd, [&] { init_main(ctx, std::move(*stub)); });
    } catch (const std::exception& e) {
        (void)send_failure(ctx.sync_fd, sys::SysError{"container init", {}, 0, e.what()});
    } catch (...) {
        (void)send_failure(ctx.sync_fd, sys::SysError{"container init", {}, 0, "unknown error"});
    }
    ::_exit(1);
}

int run_init_shared(void* ctx) noexcept { run_init(*static_cast<const InitContext*>(ctx)); }

}  // namespace sandbox
