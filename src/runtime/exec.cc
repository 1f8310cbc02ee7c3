#include "runtime/exec.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>

#include "cgroup/cgroup.h"
#include "runtime/internal.h"
#include "runtime/systemd_unit.h"
#include "sandbox/enter.h"
#include "sandbox/lsm.h"
#include "sandbox/process_attrs.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"
#include "spec/names.h"
#include "sys/child_process.h"
#include "sys/clone.h"
#include "sys/fault.h"
#include "sys/fs.h"
#include "sys/proc.h"
#include "sys/text.h"

namespace runtime {
namespace {

using spec::NamespaceType;

sys::Result<std::uint32_t> parse_id(const std::string& text, const std::string& what) {
    char* end = nullptr;
    unsigned long v = std::strtoul(text.c_str(), &end, 10);
    if (text.empty() || end == nullptr || *end != '\0' || v > 0xffffffffUL)
        return sys::plain_error(what + ": expected a number, got \"" + text + "\"");
    return static_cast<std::uint32_t>(v);
}

}  // namespace

sys::Result<spec::Process> exec_process_spec(const spec::Process& base, const ExecOptions& opts,
                                             std::vector<std::string>& warnings) {
    spec::Process p;
    if (!opts.process_file.empty()) {
        HAKO_ASSIGN(auto text,
                    opts.process_file == "-" ? sys::read_fd(0) : sys::read_file(opts.process_file));
        HAKO_ASSIGN(auto parsed, spec::parse_process_json(text, warnings));
        return parsed;
    }
    p = base;
    if (opts.args.empty()) return sys::plain_error("exec: a command to run is required");
    p.args = opts.args;
    p.terminal = opts.tty;
    for (const auto& e : opts.env) {
        if (e.find('=') == std::string::npos || e[0] == '=')
            return sys::plain_error("--env: expected KEY=value, got \"" + e + "\"");
        std::string key = e.substr(0, e.find('=') + 1);
        std::erase_if(p.env, [&](const std::string& x) { return x.rfind(key, 0) == 0; });
        p.env.push_back(e);
    }
    if (!opts.cwd.empty()) {
        if (opts.cwd[0] != '/') return sys::plain_error("--cwd: must be an absolute path");
        p.cwd = opts.cwd;
    }
    if (!opts.user.empty()) {
        size_t colon = opts.user.find(':');
        auto uid = parse_id(opts.user.substr(0, colon), "--user");
        if (!uid) return sys::fail(uid.error());
        p.user.uid = *uid;
        if (colon != std::string::npos) {
            auto gid = parse_id(opts.user.substr(colon + 1), "--user");
            if (!gid) return sys::fail(gid.error());
            p.user.gid = *gid;
        }
    }
    for (const auto& g : opts.additional_gids) {
        HAKO_ASSIGN(auto gid, parse_id(g, "--additional-gids"));
        p.user.additional_gids.push_back(gid);
    }
    for (const auto& c : opts.caps) {
        auto n = spec::capability_number(c);
        if (!n) return sys::plain_error("--cap: unknown capability \"" + c + "\"");
        if (!p.capabilities) p.capabilities = spec::Capabilities{};
        for (auto* set :
             {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted,
              &p.capabilities->ambient, &p.capabilities->inheritable})
            if (std::find(set->begin(), set->end(), *n) == set->end()) set->push_back(*n);
    }
    if (opts.no_new_privs) p.no_new_privileges = true;
    if (!opts.apparmor.empty()) p.apparmor_profile = opts.apparmor;
    if (!opts.process_label.empty()) p.selinux_label = opts.process_label;
    return p;
}

namespace {

constexpr const char* kNoSubCgroup =
    "--cgroup names a sub-cgroup that does not exist; make it first (mkdir in the container's "
    "cgroup)";

// The container's saved config with the exec'd process in it, checked.
sys::Result<spec::Spec> exec_spec(const Runtime& rt, const StateStore& store, const State& st,
                                  const ExecOptions& opts) {
    auto saved = internal::saved_spec(store.dir_of(opts.id), st.bundle);
    if (!saved)
        return sys::plain_error("exec: the container's saved config is missing or unreadable");
    spec::Spec s = std::move(*saved);
    std::vector<std::string> warnings;
    HAKO_ASSIGN(auto proc, exec_process_spec(s.process.value_or(spec::Process{}), opts, warnings));
    if (proc.capabilities) {
        if (auto w = sandbox::drop_ungrantable_capabilities(*proc.capabilities,
                                                            sandbox::in_own_bounding_set))
            warnings.push_back(*w);
    }
    for (const auto& w : warnings) rt.log.warn(w);
    HAKO_TRY(internal::check_console(proc.terminal, opts.console_socket, !opts.detach));
    s.process = std::move(proc);
    s.hooks = {};  // hooks belong to the container's lifecycle, not to exec
    HAKO_TRY(sandbox::check_lsm(s));
    return s;
}

// The init's namespaces, opened while its pid is pinned: user first (it owns the others), mount
// last (after it, the other /proc paths would no longer be the host's). A container that shares
// the runtime's mount namespace was confined by chroot(2): the process joins it the same way,
// through the init's root (`*shared_root`).
sys::Result<std::vector<sys::UniqueFd>> open_init_namespaces(const spec::Spec& s, const State& st,
                                                             sandbox::EnterContext& ctx,
                                                             sys::UniqueFd* shared_root) {
    HAKO_ASSIGN(auto pidfd, sys::pidfd_open(st.pid));
    auto again = sys::read_proc_stat(st.pid);
    if (!again || again->start_time != st.start_time)
        return sys::plain_error("container not running");
    std::string init_proc = "/proc/" + std::to_string(st.pid);
    std::vector<sys::UniqueFd> fds;
    for (std::size_t i : sandbox::join_order(s.linux.namespaces)) {
        const spec::Namespace& ns = s.linux.namespaces[i];
        // The pid and time namespaces of the init are what its children get.
        HAKO_ASSIGN(auto fd, sys::open_path(init_proc + "/ns/" + spec::namespace_proc_name(ns.type),
                                            O_RDONLY));
        ctx.joins.push_back({ns.type, fd.get()});
        fds.push_back(std::move(fd));
        if (ns.type == NamespaceType::kPid || ns.type == NamespaceType::kTime)
            ctx.extra_fork = true;
    }
    HAKO_ASSIGN(auto init_mnt, sys::open_path(init_proc + "/ns/mnt", O_RDONLY));
    if (sys::same_file(init_mnt.get(), "/proc/self/ns/mnt")) {
        HAKO_ASSIGN(auto root, sys::open_path(init_proc + "/root", O_PATH | O_DIRECTORY));
        *shared_root = std::move(root);
        ctx.chroot_fd = shared_root->get();
        std::erase_if(ctx.joins, [](const auto& j) { return j.type == NamespaceType::kMount; });
    }
    return fds;
}

// The container's pid namespace as the one our children are born in (setns CLONE_NEWPID changes
// only that, never our own), so that the process is cloned straight into it: no middle process
// that joins and forks once more (a copy of hako's page tables, its faults, its exit: ~1 ms
// here). The kernel allows it with CAP_SYS_ADMIN in our own user namespace (root); elsewhere
// (rootless) `enter` fails and the middle process joins as before. Our children's namespace is
// ours again when this goes.
class PidNamespaceForChildren {
public:
    PidNamespaceForChildren() = default;
    PidNamespaceForChildren(const PidNamespaceForChildren&) = delete;
    PidNamespaceForChildren& operator=(const PidNamespaceForChildren&) = delete;
    ~PidNamespaceForChildren() { restore(); }

    // True when our next child is born in `target`'s pid namespace.
    bool enter(int target) {
        auto own = sys::open_path("/proc/self/ns/pid", O_RDONLY);
        if (!own) return false;
        if (::setns(target, CLONE_NEWPID) < 0) return false;
        own_ = std::move(*own);
        return true;
    }
    void restore() {
        if (own_.valid()) (void)::setns(own_.get(), CLONE_NEWPID);
        own_.reset();
    }

private:
    sys::UniqueFd own_;
};

// With the pid namespace the only one that applies to children (no time namespace), it is
// joined here for the child instead of by an extra fork in it.
void join_pid_namespace_for_child(sandbox::EnterContext& ctx, PidNamespaceForChildren& pidns) {
    auto is = [](NamespaceType t) {
        return [t](const sandbox::NamespaceJoin& j) { return j.type == t; };
    };
    if (!ctx.extra_fork ||
        std::any_of(ctx.joins.begin(), ctx.joins.end(), is(NamespaceType::kTime)))
        return;
    auto pid = std::find_if(ctx.joins.begin(), ctx.joins.end(), is(NamespaceType::kPid));
    if (pid == ctx.joins.end() || !pidns.enter(pid->fd)) return;
    ctx.joins.erase(pid);
    ctx.extra_fork = false;
}

// The container's cgroup directories, or the sub-cgroups --cgroup names.
sys::Result<std::vector<std::string>> exec_cgroup_dirs(const State& st, const ExecOptions& opts) {
    if (opts.cgroups.empty()) return st.cgroup_dirs;
    HAKO_ASSIGN(auto host, cgroup::discover());
    std::vector<std::string> controllers;
    for (const auto& h : host.hierarchies) controllers.push_back(h.v2 ? "" : h.controllers);
    return sub_cgroup_dirs(st.cgroup_dirs, controllers, opts.cgroups);
}

sys::SysError with_cgroup_hint(sys::SysError e, const ExecOptions& opts) {
    if (e.err == ENOENT && !opts.cgroups.empty()) e.hint = kNoSubCgroup;
    return e;
}

// The process's messages up to "ready" (its console, its seccomp listener, its warnings).
sys::Result<sys::ChildProcess> await_process_ready(const Runtime& rt, const ExecOptions& opts,
                                                   int parent_end, sys::ChildProcess first,
                                                   sys::UniqueFd* console_master) {
    internal::ChildSession session;
    session.first = std::move(first);
    HAKO_TRY(internal::await_ready(
        rt, parent_end, session, opts.console_socket,
        [](const sandbox::SyncMessage&, sys::UniqueFd&) -> sys::Result<bool> { return false; },
        [](int status) {
            return sys::SysError{"exec: the process " + internal::describe_wait_status(status) +
                                     " before it was ready",
                                 {},
                                 0,
                                 {}};
        }));
    *console_master = std::move(session.console_master);
    return std::move(session.target());
}

// sandbox::run_enter in a child that shares our memory (sys::clone3_vfork): returns once it has
// exec'd the stub or exited; nullopt when the kernel refuses such a clone (we fork instead). Not
// in a sanitizer's build: its runtime does not expect a second process on its memory.
std::optional<sys::Cloned> clone_sharing_memory(sandbox::EnterContext& ctx, int cgroup_fd) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    (void)ctx, (void)cgroup_fd;
    return std::nullopt;
#else
    ctx.shared_memory = true;
    auto cloned = sys::clone3_vfork(CLONE_PIDFD, cgroup_fd, sandbox::run_enter_shared, &ctx);
    if (!cloned) {
        ctx.shared_memory = false;
        return std::nullopt;
    }
    return std::move(*cloned);
#endif
}

// The process cloned (straight into the v2 cgroup; it moves itself into the v1 ones), joined
// to the cgroups, told to go, and ready in the container.
sys::Result<sys::ChildProcess> start_in_container(const Runtime& rt, const ExecOptions& opts,
                                                  const State& st, sandbox::EnterContext& ctx,
                                                  std::vector<sys::UniqueFd>& ns_fds,
                                                  const std::vector<std::string>& cgroup_dirs,
                                                  int parent_end, sys::UniqueFd child_end,
                                                  sys::UniqueFd* console_master, Trace& trace) {
    cgroup::Cgroup cg(cgroup_dirs, {});
    cg.commit();  // not ours to remove
    auto entry = cg.open_entry();
    if (!entry) return sys::fail(with_cgroup_hint(std::move(entry.error()), opts));
    ctx.sync_fd = child_end.get();
    ctx.cgroup_tasks = entry->task_fds();
    ctx.cgroup_tasks_dirs = entry->tasks_dirs;
    // The common case, one process that needs nothing of us before it joins (and no seccomp
    // agent it could wait for before we can pass the listener on): cloned in our
    // memory (no copy of hako's page tables, no faults, no image to unmap at its exec) while we
    // wait, its messages read once it has exec'd the stub, which waits for the release.
    if (!ctx.extra_fork && entry->by_pid.empty() &&
        !sandbox::seccomp_may_wait_for_agent(ctx.spec->linux.seccomp)) {
        if (auto shared = clone_sharing_memory(ctx, entry->v2.get())) {
            sys::ChildProcess first(shared->pid, std::move(shared->pidfd));
            child_end.reset();
            ns_fds.clear();
            entry->tasks.clear();
            entry->v2.reset();
            trace.step("namespaces opened, process cloned in our memory, cgroups joined");
            sys::fault_point("exec-go");
            return await_process_ready(rt, opts, parent_end, std::move(first), console_master);
        }
    }
    auto clone = sys::clone3_fork(CLONE_PIDFD, entry->v2.get());
    // A rootless caller outside its systemd's tree (a login session's scope, a service) may not
    // move a process into the unit: cgroup.procs of the common ancestor is root's. Then the
    // process starts outside, and the user's systemd moves it before it is told to go.
    bool via_systemd = false;
    if (!clone && entry->v2.get() >= 0 && st.systemd_user && !st.systemd_unit.empty() &&
        opts.cgroups.empty() && (clone.error().err == EACCES || clone.error().err == EPERM)) {
        clone = sys::clone3_fork(CLONE_PIDFD);
        via_systemd = true;
    }
    if (!clone) return sys::fail(std::move(clone.error()));
    auto& cloned = *clone;
    if (cloned.pid == 0) {
        ::close(parent_end);
        sandbox::run_enter(ctx);  // never returns
    }
    sys::ChildProcess first(cloned.pid, std::move(cloned.pidfd));
    child_end.reset();
    ns_fds.clear();
    entry->tasks.clear();
    entry->v2.reset();
    if (via_systemd)
        HAKO_TRY(internal::attach_to_unit(st, first.pid()).map_error([&](sys::SysError e) {
            return std::move(e).in("exec: join " + st.systemd_unit);
        }));
    if (auto joined = entry->add_process(first.pid()); !joined)
        return sys::fail(with_cgroup_hint(std::move(joined.error()), opts));
    trace.step("namespaces opened, process cloned, cgroups joined");
    HAKO_TRY(sandbox::send_message(parent_end, sandbox::SyncType::kGo));
    sys::fault_point("exec-go");
    return await_process_ready(rt, opts, parent_end, std::move(first), console_master);
}

}  // namespace

sys::Result<int> exec(const Runtime& rt, const ExecOptions& opts) {
    Trace trace(rt.log, "exec " + opts.id);
    StateStore store(rt.root);
    HAKO_ASSIGN(auto st, store.load(opts.id));
    if (st.status == "stopped") return sys::plain_error("cannot exec in a stopped container");
    // A created container may be joined, as with runc: its namespaces and cgroups are all
    // there; the init (still hako's non-dumpable image) waits on exec.fifo meanwhile.
    if (st.status == "paused" && !opts.ignore_paused)
        return sys::plain_error("cannot exec in a paused container",
                                "resume it, or pass --ignore-paused");
    HAKO_ASSIGN(auto s, exec_spec(rt, store, st, opts));
    sandbox::EnterContext ctx;
    sys::UniqueFd shared_root;
    HAKO_ASSIGN(auto ns_fds, open_init_namespaces(s, st, ctx, &shared_root));
    PidNamespaceForChildren pidns;
    join_pid_namespace_for_child(ctx, pidns);
    ctx.spec = &s;
    ctx.preserve_fds = opts.preserve_fds;
    ctx.reset_signals = sys::changed_signals();
    HAKO_ASSIGN(auto cgroup_dirs, exec_cgroup_dirs(st, opts));

    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sys::errno_error("socketpair");
    sys::UniqueFd parent_end(sv[0]);
    internal::BlockedSignals signals;
    sys::UniqueFd console_master;
    auto process = start_in_container(rt, opts, st, ctx, ns_fds, cgroup_dirs, parent_end.get(),
                                      sys::UniqueFd(sv[1]), &console_master, trace);
    pidns.restore();
    if (!process) return sys::fail(process.error());
    sys::fault_point("exec-ready");
    // Released: from here on the process outlives us (exec -d), as with runc. A forked one
    // clears its parent-death signal and execs; the sync socket (close-on-exec) reaches EOF
    // then, and only then may we exit, or the signal would still be armed. One that shared our
    // memory cleared it before its exec of the stub (outlive_parent_from_here): nothing to
    // wait for.
    trace.step("process ready in the container");
    if (console_master.valid() && !opts.detach) internal::copy_window_size(console_master.get());
    HAKO_TRY(sandbox::send_message(parent_end.get(), sandbox::SyncType::kGo));
    while (!ctx.shared_memory) {
        auto m = sandbox::receive_message(parent_end.get());
        if (!m || !*m) break;
    }

    if (!opts.pid_file.empty())
        HAKO_TRY(sys::write_file_atomic(opts.pid_file, std::to_string(process->pid()), 0644));
    if (opts.detach) {
        process->release();
        return 0;
    }
    return internal::wait_forwarding(process->release(), signals, console_master.get());
}

sys::Result<std::vector<std::string>> sub_cgroup_dirs(const std::vector<std::string>& dirs,
                                                      const std::vector<std::string>& controllers,
                                                      const std::vector<std::string>& args) {
    std::map<std::string, std::string> paths;  // controller ("" for all) -> sub-path
    for (const auto& a : args) {
        std::size_t colon = a.find(':');
        std::string path = colon == std::string::npos ? a : a.substr(colon + 1);
        std::string clean = sys::clean_path("/" + path);
        for (const auto& part : sys::split(path, '/'))
            if (part == "..")
                return sys::plain_error("--cgroup " + a + ": " + path + " is not a sub cgroup path",
                                        "only cgroups below the container's may be joined");
        if (colon == std::string::npos) {
            if (args.size() != 1)
                return sys::plain_error("--cgroup " + a +
                                        ": a path without CONTROLLER: must be "
                                        "the only --cgroup");
            paths[""] = clean;
            continue;
        }
        for (const auto& c : sys::split(a.substr(0, colon), ',')) {
            if (c.empty()) return sys::plain_error("--cgroup " + a + ": empty controller name");
            bool known = std::any_of(controllers.begin(), controllers.end(), [&](const auto& h) {
                auto names = sys::split(h, ',');
                return std::find(names.begin(), names.end(), c) != names.end();
            });
            if (!known)
                return sys::plain_error("--cgroup " + a + ": unknown controller " + c,
                                        "name one of the container's cgroup v1 hierarchies");
            if (!paths.emplace(c, clean).second)
                return sys::plain_error("--cgroup: controller " + c + " is given more than once");
        }
    }
    std::vector<std::string> out = dirs;
    for (std::size_t i = 0; i < out.size() && i < controllers.size(); ++i) {
        std::string sub = paths.count("") != 0 ? paths[""] : "";
        for (const auto& c : sys::split(controllers[i], ','))
            if (paths.count(c) != 0) sub = paths[c];
        if (!sub.empty() && sub != "/") out[i] = sys::join_path(out[i], sub);
    }
    return out;
}

}  // namespace runtime
