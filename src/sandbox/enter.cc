#include "sandbox/enter.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <exception>

#include "cgroup/cgroup.h"
#include "sandbox/console.h"
#include "sandbox/process_attrs.h"
#include "sandbox/process_setup.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"
#include "sys/clone.h"
#include "sys/fault.h"
#include "sys/fs.h"

namespace sandbox {
namespace {

using sys::Status;

[[noreturn]] void exec_main(const EnterContext& ctx) {
    auto result = [&]() -> Status {
        const spec::Spec& s = *ctx.spec;
        // Until the parent has seen "ready" and released us, we die with it: a hako exec
        // killed half-way leaves no process behind in the container.
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
            return sys::errno_error("prctl PR_SET_PDEATHSIG");
        if (s.process && s.process->terminal) {
            // setns into the mount namespace made its root ours: "/" is the container's root.
            HAKO_ASSIGN(auto root, sys::open_path("/", O_PATH | O_DIRECTORY));
            HAKO_ASSIGN(auto slave, open_console(root.get(), *s.process, ctx.sync_fd, false));
            HAKO_TRY(attach_console(std::move(slave)));
        }
        // Nothing of the host's stays reachable through /proc/self/fd/N once paths from the
        // config are resolved (CVE-2024-21626): stdio, the preserved fds and the sync socket.
        HAKO_TRY(sys::close_fds_except(3 + ctx.preserve_fds, {ctx.sync_fd}));
        HAKO_TRY(apply_memory_policy(s.linux));
        HAKO_TRY(outlive_parent_from_here(ctx.shared_memory));
        HAKO_ASSIGN(auto exec, prepare_with_seccomp(s, ctx.preserve_fds, ctx.sync_fd,
                                                    ctx.reset_signals, sys::UniqueFd(),
                                                    {ctx.shared_memory ? ctx.sync_fd : -1, -1}));
        HAKO_TRY(send_message(ctx.sync_fd, SyncType::kReady));
        if (ctx.shared_memory) {
            // The parent reads "ready" once we have exec'd (it is stopped until then); the
            // stub, holding nothing of hako's, waits for the release (exec_stub.c).
            exec_process(exec, ctx.sync_fd);
            ::_exit(127);
        }
        auto released = receive_message(ctx.sync_fd);
        if (!released || !*released || (*released)->type != SyncType::kGo) ::_exit(1);
        ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        sys::fault_point("exec-released");
        exec_process(exec);  // prints its own failure; the parent sees the exit status 127
        ::_exit(127);
    }();
    (void)send_failure(ctx.sync_fd, result.error());
    ::_exit(1);
}

}  // namespace

void run_enter(const EnterContext& ctx) noexcept {
    try {
        // The container must not ptrace or read a process that still holds hako's memory and
        // fds (CVE-2016-9962): non-dumpable until execve.
        ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        if (!ctx.shared_memory) {
            auto go = receive_message(ctx.sync_fd);
            if (!go || !*go || (*go)->type != SyncType::kGo) ::_exit(1);
        }
        if (auto joined = cgroup::join_self(ctx.cgroup_tasks, ctx.cgroup_tasks_dirs); !joined) {
            (void)send_failure(ctx.sync_fd, joined.error());
            ::_exit(1);
        }
        for (const auto& join : ctx.joins) {
            if (::setns(join.fd, spec::namespace_clone_flag(join.type)) < 0) {
                (void)send_failure(ctx.sync_fd, sys::SysError{std::string("join ") +
                                                                  spec::namespace_name(join.type) +
                                                                  " namespace of the container",
                                                              {},
                                                              errno,
                                                              {}});
                ::_exit(1);
            }
        }
        if (ctx.chroot_fd >= 0 && (::fchdir(ctx.chroot_fd) < 0 || ::chroot(".") < 0)) {
            (void)send_failure(ctx.sync_fd,
                               sys::SysError{"enter the container's root (chroot)", {}, errno, {}});
            ::_exit(1);
        }
        if (!ctx.extra_fork) exec_main(ctx);
        fork_sibling_and_exit(ctx.sync_fd, [&] { exec_main(ctx); });
    } catch (const std::exception& e) {
        (void)send_failure(ctx.sync_fd, sys::SysError{"exec", {}, 0, e.what()});
    } catch (...) {
        (void)send_failure(ctx.sync_fd, sys::SysError{"exec", {}, 0, "unknown error"});
    }
    ::_exit(1);
}

int run_enter_shared(void* ctx) noexcept { run_enter(*static_cast<const EnterContext*>(ctx)); }

}  // namespace sandbox
