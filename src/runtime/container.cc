#include "runtime/container.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "cgroup/cgroup.h"
#include "cgroup/stats.h"
#include "runtime/criu.h"
#include "runtime/internal.h"
#include "runtime/net_devices.h"
#include "runtime/systemd_unit.h"
#include "sandbox/console.h"
#include "sandbox/hook_runner.h"
#include "sandbox/idmap.h"
#include "sandbox/init.h"
#include "sandbox/lsm.h"
#include "sandbox/process_attrs.h"
#include "sandbox/rootfs.h"
#include "sandbox/seccomp.h"
#include "sandbox/sync.h"
#include "spec/config.h"
#include "sys/clone.h"
#include "sys/fault.h"
#include "sys/fs.h"
#include "sys/proc.h"
#include "sys/text.h"
#include "sys/unix_socket.h"

namespace runtime {
namespace {

using spec::NamespaceType;
using sys::Status;

std::string absolute(const std::string& path) {
    if (!path.empty() && path[0] == '/') return sys::clean_path(path);
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return sys::clean_path("/" + path);
    return sys::join_path(cwd, path);
}

// What the host or this hako cannot do is refused in words before anything exists.
Status refuse_unsupported(const spec::Spec& s) {
    HAKO_TRY(sandbox::check_lsm(s));
    HAKO_TRY(sandbox::check_caller_maps(s.linux));
    const auto& l = s.linux;
    if (l.has_intel_rdt)
        return sys::plain_error("linux.intelRdt: resctrl is not mounted on this host");
    HAKO_TRY(sandbox::check_memory_policy(l));
    HAKO_TRY(check_net_devices(l));
    return {};
}

bool is_permission_error(int err) { return err == EACCES || err == EPERM || err == EROFS; }

// The host id that container id `id` maps to (itself without a user namespace).
std::uint32_t host_id(const std::vector<spec::IdMapping>& maps, std::uint32_t id) {
    for (const auto& m : maps)
        if (id >= m.container_id && id - m.container_id < m.size)
            return m.host_id + (id - m.container_id);
    return maps.empty() ? id : 0;
}

// config-linux.md: the seccomp agent at listenerPath gets the container process state with the
// notify fd (SCM_RIGHTS), once per connection.
Status send_to_seccomp_listener(const spec::Spec& s, const std::string& id, pid_t pid,
                                int notify_fd) {
    const spec::Seccomp& sc = *s.linux.seccomp;
    nlohmann::ordered_json state = {{"ociVersion", kOciVersion},
                                    {"fds", {"seccompFd"}},
                                    {"pid", pid},
                                    {"metadata", sc.listener_metadata},
                                    {"state",
                                     {{"ociVersion", kOciVersion},
                                      {"id", id},
                                      {"status", "creating"},
                                      {"pid", pid},
                                      {"bundle", s.bundle},
                                      {"annotations", s.annotations}}}};
    HAKO_ASSIGN(auto sock, sys::connect_unix(sc.listener_path, "linux.seccomp.listenerPath"));
    // One container process state per connection, then close (config-linux.md).
    return sys::send_with_fd(sock.get(), state.dump(), notify_fd,
                             "linux.seccomp.listenerPath " + sc.listener_path);
}

// poststart and poststop: a failing hook is a warning, and the others still run (runtime.md).
void run_hooks_warning(const Runtime& rt, const std::vector<spec::Hook>& hooks, const char* name,
                       const std::string& state) {
    for (std::size_t i = 0; i < hooks.size(); ++i) {
        auto st = sandbox::run_hook(hooks[i], state,
                                    std::string("hooks.") + name + "[" + std::to_string(i) + "]");
        if (!st) rt.log.warn(st.error().message());
    }
}

Status write_pid_file(const std::string& path, pid_t pid) {
    if (path.empty()) return {};
    return sys::write_file_atomic(absolute(path), std::to_string(pid), 0644);
}

// Wait until `pid` (by its pidfd) has exited, at most `ms` milliseconds.
bool wait_exit(int pidfd, int ms) {
    pollfd p{pidfd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
}

sys::Result<sys::UniqueFd> open_pidfd_checked(const State& s) {
    auto fd = sys::pidfd_open(s.pid);
    if (!fd) return fd;
    // The pid could have been reused after the check that derived the status: check again now
    // that the pidfd pins the process.
    auto st = sys::read_proc_stat(s.pid);
    if (!st || st->start_time != s.start_time) return sys::plain_error("container not running");
    return fd;
}

Status destroy(const State& s, ContainerDir& dir) {
    cgroup::Cgroup cg(s.cgroup_dirs, s.cgroup_created);
    if (!s.systemd_unit.empty()) {
        // Its processes first (systemd would SIGTERM them and wait), then the unit. Should
        // systemd fail us, the state stays for another delete -f.
        if (!cg.kill_all())
            for (pid_t pid : cg.pids()) ::kill(pid, SIGKILL);
        HAKO_TRY(internal::stop_unit(s));
    }
    auto st = cg.destroy();
    sys::fault_point("delete-cgroups");  // a second delete -f finds the state and finishes
    auto rm = dir.remove();
    if (!st) return st;
    return rm;
}

// Every process of the container: from its cgroup, or, when it has none (rootless on a host that
// does not delegate cgroups), every process in its own pid namespace.
std::vector<pid_t> container_pids(const State& s) {
    if (!s.cgroup_dirs.empty()) {
        cgroup::Cgroup cg(s.cgroup_dirs, {});
        cg.commit();
        return cg.pids();
    }
    std::vector<pid_t> out;
    if (s.status == "stopped") return out;
    if (!s.own_pid_namespace) return {s.pid};
    auto ns_of = [](const std::string& pid) {
        char buf[64];
        auto n = ::readlink(("/proc/" + pid + "/ns/pid").c_str(), buf, sizeof buf);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    };
    std::string ns = ns_of(std::to_string(s.pid));
    if (ns.empty()) return out;
    auto proc = sys::DirStream::open("/proc");
    if (!proc) return out;
    while (const dirent* e = proc->next()) {
        std::string name = e->d_name;
        if (name.find_first_not_of("0123456789") == std::string::npos && ns_of(name) == ns)
            out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

Status kill_and_wait(const State& s) {
    auto fd = open_pidfd_checked(s);
    if (fd) {
        (void)sys::pidfd_send_signal(fd->get(), SIGKILL, "container init");
        if (!wait_exit(fd->get(), 10000))
            return sys::plain_error("container init did not exit after SIGKILL within 10s");
    }
    return {};
}

// The state as create records it before making anything (see State::creating).
State intended_state(const std::string& id, const std::string& bundle, const spec::Spec& s) {
    State state;
    state.id = id;
    state.bundle = bundle;
    state.rootfs = s.root.path;
    state.annotations = s.annotations;
    state.created = rfc3339_now();
    state.owner = ::geteuid();
    const auto* pid_ns = s.linux.find_namespace(NamespaceType::kPid);
    state.own_pid_namespace = pid_ns != nullptr && pid_ns->path.empty();
    state.creating = true;
    state.status = "creating";
    return state;
}

// A cgroup that already holds processes is shared (allowed, as runc, with its warning); a
// frozen one would freeze the init before it is ready, and create would wait forever.
Status check_cgroup_usable(const Runtime& rt, const cgroup::Cgroup& cg) {
    const auto& made = cg.created();
    if (std::all_of(cg.dirs().begin(), cg.dirs().end(), [&](const std::string& d) {
            return std::find(made.begin(), made.end(), d) != made.end();
        }))
        return {};  // all made just now: nothing can be in them yet
    if (cg.frozen())
        return sys::plain_error(
            "linux.cgroupsPath: container's cgroup unexpectedly frozen: " + cg.dirs()[0],
            "its processes are paused (freezer.state FROZEN or cgroup.freeze 1); resume what "
            "runs there or choose another cgroupsPath");
    if (auto pids = cg.pids(); !pids.empty())
        rt.log.warn("container's cgroup is not empty: " + std::to_string(pids.size()) +
                    " process(es) found; the container shares it (and its limits) with them");
    return {};
}

// Record `pid` (with its start time, against pid reuse) as the container's process. With
// `only_without_cgroups`, the state is written now only when the container has no cgroup: one
// that has is found and emptied there by delete -f, and its pid goes into the next save.
Status record_process(const StateStore& store, State& state, pid_t pid,
                      bool only_without_cgroups = false) {
    auto st = sys::read_proc_stat(pid);
    if (!st) return sys::plain_error("container init exited before it was ready");
    // The init is the first child itself unless it forked once more: nothing new to write.
    if (state.pid == pid && state.start_time == st->start_time) return {};
    state.pid = pid;
    state.start_time = st->start_time;
    if (only_without_cgroups && !state.cgroup_dirs.empty()) return {};
    return store.save(state);
}

}  // namespace

namespace internal {

// The namespaces named by path, opened and checked to be of their type before anything exists,
// so that a wrong path is reported with nothing to undo. The user namespace is joined first.
sys::Result<Joins> open_joins(const spec::Linux& l) {
    Joins out;
    const spec::Namespace* mnt = l.find_namespace(NamespaceType::kMount);
    out.shared_mounts = mnt == nullptr;
    for (std::size_t i : sandbox::join_order(l.namespaces)) {
        const auto& ns = l.namespaces[i];
        if (ns.path.empty()) continue;
        std::string field =
            "linux.namespaces[" + std::to_string(i) + "] (" + spec::namespace_name(ns.type) + ")";
        auto fd = sys::open_path(ns.path, O_RDONLY);
        if (!fd) return sys::fail(std::move(fd.error()).in(field));
        int type = ::ioctl(fd->get(), NS_GET_NSTYPE);
        if (type < 0)
            return sys::plain_error(field + ": " + ns.path + " is not a namespace",
                                    "name a /proc/PID/ns/" +
                                        std::string(spec::namespace_proc_name(ns.type)) +
                                        " file or a bind mount of one");
        if (type != spec::namespace_clone_flag(ns.type)) {
            auto actual = spec::namespace_of_clone_flag(type);
            return sys::plain_error(
                field + ": " + ns.path + " is " +
                    (actual ? std::string("a ") + spec::namespace_name(*actual) : "another") +
                    " namespace, not a " + spec::namespace_name(ns.type) + " one",
                "the path must name a namespace of the entry's type");
        }
        // Joining the runtime's own mount namespace is sharing it.
        if (ns.type == NamespaceType::kMount && sys::same_file(fd->get(), "/proc/self/ns/mnt")) {
            out.shared_mounts = true;
            continue;
        }
        out.list.push_back({ns.type, fd->get()});
        out.fds.push_back(std::move(*fd));
    }
    return out;
}

// Without a mount namespace of its own the container shares the host's mount table: hako
// mounts nothing there (it would change the host and outlive the container) and enters the
// rootfs with chroot(2). Say what that leaves out.
std::string shared_mounts_warning(const spec::Spec& s) {
    std::vector<std::string> skipped;
    if (!s.mounts.empty()) skipped.push_back("mounts (" + std::to_string(s.mounts.size()) + ")");
    if (!s.linux.masked_paths.empty()) skipped.emplace_back("linux.maskedPaths");
    if (!s.linux.readonly_paths.empty()) skipped.emplace_back("linux.readonlyPaths");
    if (!s.linux.devices.empty()) skipped.emplace_back("linux.devices");
    if (s.root.readonly) skipped.emplace_back("root.readonly");
    std::string msg =
        "linux.namespaces: no mount namespace of its own: the container shares the host's mount "
        "table and is confined to its rootfs by chroot(2) only, which a process holding "
        "CAP_SYS_CHROOT can leave";
    if (!skipped.empty()) msg += "; not applied, as they would change the host's mounts: ";
    for (std::size_t i = 0; i < skipped.size(); ++i) msg += (i ? ", " : "") + skipped[i];
    return msg;
}

sys::Result<cgroup::Host> cgroup_host_of(const State& s, const char* what) {
    if (s.cgroup_dirs.empty())
        return sys::plain_error(std::string(what) + ": container " + s.id + " has no cgroup",
                                "it was created without one because its user cannot write to "
                                "the host's cgroups (v1 hierarchies are not delegated to users)");
    HAKO_ASSIGN(auto host, cgroup::discover());
    if (host.hierarchies.size() != s.cgroup_dirs.size())
        return sys::plain_error(std::string(what) +
                                ": the host's cgroup hierarchies changed since create");
    return host;
}

std::optional<spec::Spec> saved_spec(const std::string& dir, const std::string& bundle,
                                     std::string_view hook) {
    auto text = sys::read_file(dir + "/" + kSavedConfig);
    if (!text) return std::nullopt;
    // A key spelled with \u escapes is still that key: such a text is parsed whatever it names.
    if (!hook.empty() && text->find("\"" + std::string(hook) + "\"") == std::string::npos &&
        text->find("\\u") == std::string::npos)
        return std::nullopt;
    auto parsed = spec::parse_config(*text, bundle);
    if (!parsed) return std::nullopt;
    return std::move(parsed->spec);
}

namespace {
// Our own terminal in raw mode while we proxy, restored on every way out.
class RawTerminal {
public:
    RawTerminal() {
        if (::isatty(0) == 0 || ::tcgetattr(0, &saved_) < 0) return;
        termios raw = saved_;
        ::cfmakeraw(&raw);
        active_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;
    ~RawTerminal() {
        if (active_) ::tcsetattr(0, TCSANOW, &saved_);
    }

private:
    termios saved_{};
    bool active_ = false;
};

// Move what is readable on `from` to `to`; false at EOF or error.
bool pump(int from, int to) {
    char buf[8192];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
    return sys::write_all(to, std::string_view(buf, static_cast<size_t>(n)), "terminal")
        .has_value();
}
}  // namespace

// Without a signalfd (or once poll fails for good) nothing can be forwarded: wait for the
// process plainly rather than spin or hang, and say so.
int wait_plainly(pid_t pid, const char* why) {
    std::string line = std::string("hako: warning: ") + why + ": " + std::strerror(errno) +
                       "; signals are no longer forwarded to the container\n";
    (void)!::write(2, line.data(), line.size());
    int status = 0;
    for (;;) {
        pid_t reaped = ::waitpid(-1, &status, 0);
        if (reaped < 0 && errno == EINTR) continue;
        if (reaped < 0) return 255;
        if (reaped == pid)
            return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
}

void copy_window_size(int master) {
    winsize ws{};
    if (::ioctl(0, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

int wait_forwarding(pid_t pid, const BlockedSignals& signals, int console_master) {
    int sfd = ::signalfd(-1, &signals.all(), SFD_CLOEXEC);
    if (sfd < 0) return wait_plainly(pid, "signalfd");
    sys::UniqueFd sig(sfd);
    std::optional<RawTerminal> raw;
    if (console_master >= 0) {
        raw.emplace();
        copy_window_size(console_master);
    }
    bool in_open = console_master >= 0, out_open = console_master >= 0;
    for (;;) {
        pollfd fds[3] = {{sig.get(), POLLIN, 0},
                         {in_open ? 0 : -1, POLLIN, 0},
                         {out_open ? console_master : -1, POLLIN, 0}};
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            return wait_plainly(pid, "poll");
        }
        if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
            out_open = pump(console_master, 1);
        if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) in_open = pump(0, console_master);
        if ((fds[0].revents & POLLIN) == 0) continue;
        signalfd_siginfo info{};
        if (::read(sig.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
        if (info.ssi_signo == SIGWINCH && console_master >= 0) {
            copy_window_size(console_master);
            continue;
        }
        if (info.ssi_signo != SIGCHLD) {
            ::kill(pid, static_cast<int>(info.ssi_signo));  // forward to the container process
            continue;
        }
        int status = 0;
        for (pid_t reaped; (reaped = ::waitpid(-1, &status, WNOHANG)) > 0;) {
            if (reaped != pid) continue;
            // What the process wrote last is still in the pty: hand it on before leaving.
            while (out_open) {
                pollfd p{console_master, POLLIN, 0};
                if (::poll(&p, 1, 0) <= 0) break;
                out_open = pump(console_master, 1);
            }
            return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        }
    }
}

std::string describe_wait_status(int status) { return sys::describe_wait_status(status); }

Status await_ready(
    const Runtime& rt, int sync_fd, ChildSession& session, const std::string& console_socket,
    const std::function<sys::Result<bool>(const sandbox::SyncMessage&, sys::UniqueFd&)>& extra,
    const std::function<sys::SysError(int)>& died) {
    for (;;) {
        sys::UniqueFd passed;
        HAKO_ASSIGN(auto m, sandbox::receive_message(sync_fd, &passed));
        if (!m) return sys::fail(died(session.target().wait()));
        const sandbox::SyncMessage& msg = *m;
        switch (msg.type) {
            case sandbox::SyncType::kReady:
                return {};
            case sandbox::SyncType::kFailure:
                return sys::fail(sandbox::to_error(msg.failure));
            case sandbox::SyncType::kWarning:
                rt.log.warn(msg.failure.hint.data());
                break;
            case sandbox::SyncType::kInitPid: {
                HAKO_ASSIGN(auto pidfd, sys::pidfd_open(msg.pid));
                session.process = sys::ChildProcess(msg.pid, std::move(pidfd));
                session.first.wait();  // the intermediate process exits right after the fork
                break;
            }
            case sandbox::SyncType::kConsoleFd:
                if (console_socket.empty()) {
                    session.console_master = std::move(passed);  // we proxy it ourselves
                } else {
                    HAKO_TRY(pass_console(console_socket, passed.get()));
                }
                break;
            default: {
                HAKO_ASSIGN(auto handled, extra(msg, passed));
                if (!handled)
                    return sys::plain_error("unexpected message from the container process");
            }
        }
    }
}

Status check_console(bool terminal, const std::string& console_socket, bool proxy) {
    if (terminal && console_socket.empty() && !proxy)
        return sys::plain_error(
            "process.terminal is true but no --console-socket was given",
            "pass --console-socket (as podman and containerd do); hako does not "
            "proxy a terminal itself yet");
    if (!terminal && !console_socket.empty())
        return sys::plain_error("--console-socket was given but process.terminal is false");
    return {};
}

Status pass_console(const std::string& console_socket, int master) {
    unsigned n = 0;
    std::string name = "/dev/ptmx";
    if (::ioctl(master, TIOCGPTN, &n) == 0) name = "/dev/pts/" + std::to_string(n);
    return sandbox::send_console(console_socket, master, name);
}

}  // namespace internal

using internal::check_console;
using internal::kSavedConfig;
using internal::saved_spec;

namespace {

// create, step by step. Each step says what it makes; what it made is owned by an object that
// undoes it unless create commits (the state directory, the cgroups, the processes).

// The bundle loaded and fitted to this host; everything refusable is refused before anything
// exists.
struct Loaded {
    std::string bundle;
    spec::Spec spec;
    std::string config_text;  // the bundle's config.json as parsed: the state's copy of it
    int preserve_fds = 0;
};

sys::Result<Loaded> load_for_create(const Runtime& rt, const CreateOptions& opts) {
    Loaded l;
    l.bundle = absolute(opts.bundle);
    HAKO_ASSIGN(auto parsed, spec::load_bundle(l.bundle));
    for (const auto& w : parsed.warnings) rt.log.warn(w);
    l.spec = std::move(parsed.spec);
    l.config_text = std::move(parsed.text);
    spec::Spec& s = l.spec;
    if (!s.process) return sys::plain_error("process: required to create a container");
    if (s.process->capabilities) {
        if (auto w = sandbox::drop_ungrantable_capabilities(*s.process->capabilities,
                                                            sandbox::in_own_bounding_set))
            rt.log.warn(*w);
    }
    // systemd socket activation, as runc: LISTEN_FDS in our environment means fds 3.. are
    // listening sockets for the container; they follow --preserve-fds, and the process learns
    // of them through its own LISTEN_FDS/LISTEN_PID.
    l.preserve_fds = opts.preserve_fds;
    if (const char* listen = ::getenv("LISTEN_FDS"); listen != nullptr) {
        int n = std::atoi(listen);
        if (n > 0) {
            l.preserve_fds += n;
            s.process->env.emplace_back("LISTEN_FDS=" + std::to_string(n));
            s.process->env.emplace_back("LISTEN_PID=1");
        }
    }
    HAKO_TRY(refuse_unsupported(s));
    if (!s.linux.mount_label.empty() && !sandbox::selinux_enabled()) {
        // A mount label only means something to SELinux; without it there is nothing to label
        // or enforce (crun ignores it too; a process label, which would confine, is refused).
        rt.log.warn("linux.mountLabel: ignored, SELinux is not enabled on this host");
        s.linux.mount_label.clear();
    }
    HAKO_TRY(check_console(s.process->terminal, opts.console_socket, opts.proxy_terminal));
    return l;
}

// On hybrid and v1 hosts, as root and without a user namespace, the v1 cgroups are made after
// the clone, while the child makes its network namespace (most of what a clone costs), and the
// child joins them by path after "go". Before the clone: only the v2 directory, which the clone
// enters (CLONE_INTO_CGROUP).
struct CgroupSplit {
    bool active = false;
    cgroup::Host first;  // made before the clone
    cgroup::Host later;  // made while the child makes its namespaces
    int early_flags = 0;
};

CgroupSplit plan_split(const Runtime& rt, const cgroup::Host& host, const spec::Spec& s) {
    CgroupSplit split;
    split.early_flags = sandbox::early_unshare_flags(sandbox::plan_namespaces(s.linux));
    split.active = !rt.systemd_cgroup && !rt.rootless && ::geteuid() == 0 &&
                   host.mode != cgroup::Mode::kUnified && split.early_flags != 0;
    if (!split.active) return CgroupSplit{};
    split.first = split.later = host;
    std::erase_if(split.first.hierarchies, [](const cgroup::Hierarchy& h) { return !h.v2; });
    std::erase_if(split.later.hierarchies, [](const cgroup::Hierarchy& h) { return h.v2; });
    return split;
}

// Whether the init can be cloned in our memory (sys::clone3_vfork) and go all the way to the
// exec stub, which then waits for `start`, without a word from us: no user namespace (id maps,
// mount sources), no hooks of the create phase (run by us, or forked by the init), no systemd
// unit (it needs the pid before "go"), no extra fork (pid or time namespace joined), no seccomp
// agent to wait for. Root only: the fifo is opened for reading too, and the rest of hako's
// rootless paths talk to the init.
bool init_can_share_memory(const Runtime& rt, const spec::Spec& s) {
    if (rt.systemd_cgroup || rt.rootless || ::geteuid() != 0) return false;
    sandbox::NamespacePlan plan = sandbox::plan_namespaces(s.linux);
    if (plan.extra_fork || plan.new_user || (plan.birth_flags & CLONE_NEWUSER) != 0) return false;
    const auto& h = s.hooks;
    if (!h.prestart.empty() || !h.create_runtime.empty() || !h.create_container.empty() ||
        !h.start_container.empty())
        return false;
    // A seccomp agent answers only once we have passed it the listener, after "ready".
    if (sandbox::seccomp_may_wait_for_agent(s.linux.seccomp)) return false;
    return std::all_of(s.mounts.begin(), s.mounts.end(),
                       [](const spec::Mount& m) { return m.uid_mappings.empty(); });
}

// The container's cgroups, with the intent recorded first: what this create is about to make,
// so that a hako killed at any later instruction leaves a state that delete -f (or the next
// create of the id) cleans up. With a split, the intent is all of them, made now the first part.
sys::Result<cgroup::Cgroup> make_cgroups(const Runtime& rt, const cgroup::Host& host,
                                         const spec::Spec& s, const StateStore& store, State& state,
                                         const CgroupSplit& split = {}) {
    cgroup::Cgroup planned = cgroup::Cgroup::plan(host, s.linux.cgroups_path, state.id);
    state.cgroup_dirs = planned.dirs();
    state.cgroup_created = planned.created();
    HAKO_TRY(store.save(state));
    sys::fault_point("create-intent");
    if (split.active) {
        auto cg = cgroup::Cgroup::create(split.first, s.linux.cgroups_path, state.id);
        if (cg) HAKO_TRY(check_cgroup_usable(rt, *cg));
        return cg;
    }
    auto cg = cgroup::Cgroup::create(host, s.linux.cgroups_path, state.id);
    if (!cg && rt.rootless && is_permission_error(cg.error().err)) {
        // Rootless where the host does not delegate cgroups (v1, hybrid, an undelegated v2):
        // run without one, unless the config asks for limits that would then not hold.
        if (s.linux.resources && s.linux.resources->limits_anything())
            return sys::fail(std::move(cg.error())
                                 .with_hint("linux.resources cannot be applied by uid " +
                                            std::to_string(::geteuid()) +
                                            ": the host does not delegate this cgroup; remove "
                                            "linux.resources or run as root"));
        rt.log.warn("cgroups: skipped, " + cg.error().message() + " (uid " +
                    std::to_string(::geteuid()) +
                    " has no delegated cgroup here); ps and kill --all use the pid namespace, "
                    "pause and update are unavailable");
        cg = cgroup::Cgroup();
    }
    if (!cg) return sys::fail(cg.error());
    if (state.cgroup_dirs != cg->dirs()) {  // rootless without cgroups
        state.cgroup_dirs = cg->dirs();
        state.cgroup_created = cg->created();
        HAKO_TRY(store.save(state));
    }
    sys::fault_point("create-cgroups");
    HAKO_TRY(check_cgroup_usable(rt, *cg));
    return cg;
}

// --systemd-cgroup: the unit and the cgroup it will have, recorded before anything is made (a
// hako killed later leaves a state whose delete -f stops the unit). The unit itself is started
// once the init exists (enter_systemd_unit): systemd moves it in.
sys::Result<internal::SystemdUnit> plan_systemd_unit(const Runtime& rt, const cgroup::Host& host,
                                                     const spec::Spec& s, const StateStore& store,
                                                     State& state) {
    HAKO_ASSIGN(auto unit, internal::SystemdUnit::plan(rt, host, s, state.id));
    cgroup::Cgroup planned = cgroup::Cgroup::plan(host, unit.cgroup_path(), state.id);
    // A unit whose cgroup is there already is someone else's: recording it as ours would let
    // delete -f of an interrupted create kill and stop it.
    for (const auto& d : planned.dirs())
        if (::access(d.c_str(), F_OK) == 0)
            return sys::plain_error(
                "linux.cgroupsPath: the cgroup of unit " + unit.unit() + " already exists: " + d,
                "another container or unit uses it; choose another name");
    rt.log.debug("--systemd-cgroup: unit " + unit.unit() + ", cgroup " + unit.cgroup_path());
    state.systemd_unit = unit.unit();
    state.systemd_user = rt.rootless;
    state.cgroup_dirs = planned.dirs();
    // Only the unit's own directories are the container's: the slices are systemd's.
    state.cgroup_created = planned.dirs();
    HAKO_TRY(store.save(state));
    sys::fault_point("create-intent");
    return unit;
}

// The unit started with the init in it, and the init in the unit's directory of every hierarchy
// systemd does not manage (v1 ones, on a host that has them).
sys::Result<cgroup::Cgroup> enter_systemd_unit(const Runtime& rt, const cgroup::Host& host,
                                               internal::SystemdUnit& unit, const spec::Spec& s,
                                               const StateStore& store, State& state, pid_t pid) {
    HAKO_TRY(unit.start(pid, s));
    sys::fault_point("create-unit");
    rt.log.debug("--systemd-cgroup: " + unit.unit() + " started, in " + unit.cgroup_path());
    HAKO_ASSIGN(auto cg, cgroup::Cgroup::create(host, unit.cgroup_path(), state.id));
    cgroup::Entry join;
    join.by_pid = cg.dirs();
    HAKO_TRY(join.add_process(pid));
    if (cg.dirs() != state.cgroup_dirs) {  // systemd put it elsewhere than we reckoned
        state.cgroup_dirs = cg.dirs();
        state.cgroup_created = cg.dirs();
        HAKO_TRY(store.save(state));
    }
    return cg;
}

// linux.resources but the device rules, which are returned for later: the init creates
// linux.devices with mknod, which a deny-all rule would refuse; as runc, they hold from
// before start.
sys::Result<spec::Resources> apply_early_resources(const cgroup::Host& host,
                                                   const cgroup::Cgroup& cg, const spec::Spec& s) {
    spec::Resources device_rules;
    if (s.linux.resources && !cg.dirs().empty()) {
        spec::Resources early = *s.linux.resources;
        device_rules.devices = std::move(early.devices);
        HAKO_TRY(cgroup::apply_resources(host, cg.dirs(), early));
    }
    return device_rules;
}

// The cgroups made before the clone, the resources but the device rules applied (after the
// clone with a split), and how the child enters them.
sys::Status cgroups_before_clone(const Runtime& rt, const cgroup::Host& host, const spec::Spec& s,
                                 const StateStore& store, State& state, const CgroupSplit& split,
                                 cgroup::Cgroup& cg, spec::Resources& device_rules,
                                 cgroup::Entry& entry) {
    HAKO_ASSIGN(cg, make_cgroups(rt, host, s, store, state, split));
    if (!split.active) {
        HAKO_ASSIGN(device_rules, apply_early_resources(host, cg, s));
    }
    HAKO_ASSIGN(entry, cg.open_entry());
    return {};
}

// The split's second part, while the child makes its namespaces: the v1 cgroups, and then all of
// them (in the host's order) owned by `cg`, with the resources but the device rules applied.
sys::Status finish_split(const Runtime& rt, const cgroup::Host& host, const CgroupSplit& split,
                         const spec::Spec& s, const State& state, cgroup::Cgroup& cg,
                         spec::Resources& device_rules) {
    if (!split.active) return {};
    HAKO_ASSIGN(auto later, cgroup::Cgroup::create(split.later, s.linux.cgroups_path, state.id));
    HAKO_TRY(check_cgroup_usable(rt, later));
    std::vector<std::string> created = cg.created();
    created.insert(created.end(), later.created().begin(), later.created().end());
    cg.commit();
    later.commit();
    cg = cgroup::Cgroup(state.cgroup_dirs, std::move(created));
    sys::fault_point("create-cgroups");
    HAKO_ASSIGN(device_rules, apply_early_resources(host, cg, s));
    return {};
}

// exec.fifo, which `start` opens to release the init; an O_PATH fd of it for the init.
sys::Result<sys::UniqueFd> make_exec_fifo(const std::string& dir, const spec::Spec& s) {
    std::string fifo_path = dir + "/exec.fifo";
    if (::mkfifo(fifo_path.c_str(), 0622) < 0) return sys::errno_error("mkfifo", fifo_path);
    // Writable by the container's user (whatever the umask), who opens it last, before execve;
    // owned by the container's root as runc does.
    if (::chmod(fifo_path.c_str(), 0622) < 0) return sys::errno_error("chmod", fifo_path);
    // (An unprivileged caller keeps it: the init reaches it through a procfs fd, not a path.)
    if (::geteuid() == 0 && ::chown(fifo_path.c_str(), host_id(s.linux.uid_mappings, 0),
                                    host_id(s.linux.gid_mappings, 0)) < 0)
        return sys::errno_error("chown", fifo_path);
    return sys::open_path(fifo_path, O_PATH);
}

// Id-mapped mounts: a user namespace per mount that has maps, made here (as root of the host)
// and used by the init. `per_mount[i]` is mounts[i]'s fd or -1.
sys::Result<std::vector<sys::UniqueFd>> make_mount_userns(const spec::Spec& s,
                                                          std::vector<int>& per_mount) {
    std::vector<sys::UniqueFd> fds;
    for (std::size_t i = 0; i < s.mounts.size(); ++i) {
        const auto& m = s.mounts[i];
        if (m.uid_mappings.empty()) {
            per_mount.push_back(-1);
            continue;
        }
        auto fd = sandbox::make_userns_fd(m.uid_mappings, m.gid_mappings,
                                          "mounts[" + std::to_string(i) + "]");
        if (!fd) return sys::fail(fd.error());
        per_mount.push_back(fd->get());
        fds.push_back(std::move(*fd));
    }
    return fds;
}

// Why clone3 refused the init, in words.
sys::SysError explain_clone_failure(sys::SysError e, int birth_flags, const cgroup::Entry& entry,
                                    const std::vector<std::string>& cgroup_dirs) {
    bool new_user = (birth_flags & CLONE_NEWUSER) != 0;
    if (entry.v2.valid()) {
        for (const auto& d : cgroup_dirs)
            if (::access((d + "/cgroup.controllers").c_str(), F_OK) == 0) e.path = d;
    }
    if (e.err == EINVAL && new_user) e.hint = "the kernel refused the namespace flags";
    // user_namespaces(7): EPERM for a new user namespace inside a chroot, or past
    // user.max_user_namespaces; else CLONE_INTO_CGROUP was refused.
    if (e.err == EPERM && new_user)
        e.hint =
            "a new user namespace was refused: hako runs in a chroot, or "
            "/proc/sys/user/max_user_namespaces is 0";
    else if (e.err == EPERM || e.err == EACCES)
        e.hint = "the container's cgroup cannot be entered by this user";
    return e;
}

// The init, cloned into its namespaces (and the v2 cgroup) and waiting for "go".
struct ClonedInit {
    sys::ChildProcess first;
    sys::UniqueFd sync;  // our end of the sync socket
    cgroup::Entry entry;
    int birth_flags = 0;
    // Cloned in our memory: it has exec'd the stub (or died) by now, its messages are queued,
    // and the stub waits for "go" (release_stub, just before the last save).
    bool shared = false;
};

// `entry` is how it enters its cgroups (empty with --systemd-cgroup: systemd moves it into the
// unit, before "go").
sys::Result<ClonedInit> clone_init(const CreateOptions& opts, const Loaded& l,
                                   const cgroup::Host& host,
                                   const std::vector<std::string>& cgroup_dirs, cgroup::Entry entry,
                                   internal::Joins& joins, int fifo_fd, ContainerDir& dir,
                                   const CgroupSplit& split, bool shared) {
    const spec::Spec& s = l.spec;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        return sys::errno_error("socketpair");
    sys::UniqueFd parent_end(sv[0]), child_end(sv[1]);

    sandbox::InitContext ctx;
    ctx.joins = joins.list;
    ctx.shared_mounts = joins.shared_mounts;
    HAKO_ASSIGN(auto userns_fds, make_mount_userns(s, ctx.mount_userns));
    ctx.spec = &s;
    ctx.cgroup_host = &host;
    ctx.cgroup_dirs = cgroup_dirs;
    ctx.id = opts.id;
    ctx.sync_fd = child_end.get();
    ctx.fifo_fd = fifo_fd;
    ctx.no_pivot = opts.no_pivot;
    ctx.no_new_keyring = opts.no_new_keyring;
    ctx.preserve_fds = l.preserve_fds;
    ctx.reset_signals = sys::changed_signals();
    sandbox::NamespacePlan plan = sandbox::plan_namespaces(s.linux);
    ctx.birth_flags = plan.birth_flags;

    // The v2 cgroup is entered by the clone itself: the child is never outside it (and never
    // charged to our cgroup, whose limits are not the container's). The child moves itself into
    // the v1 hierarchies once it has "go" (cgroup::Entry says why not by pid).
    ctx.cgroup_tasks = entry.task_fds();
    ctx.cgroup_tasks_dirs = entry.tasks_dirs;
    ctx.early_flags = split.early_flags;
    for (std::size_t i = 0; i < host.hierarchies.size() && i < cgroup_dirs.size(); ++i)
        if (split.active && !host.hierarchies[i].v2) ctx.cgroup_join_dirs.push_back(cgroup_dirs[i]);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // In our memory, while we wait (no copy of hako's page tables, no faults on either side, no
    // image to unmap at its exec): when it needs nothing of us before "ready" and enters every
    // cgroup itself. Sanitizer builds fork: their runtime expects no second process on its memory.
    if (shared && !split.active && entry.by_pid.empty()) {
        ctx.shared_memory = true;
        auto vforked = sys::clone3_vfork(static_cast<std::uint64_t>(plan.birth_flags) | CLONE_PIDFD,
                                         entry.v2.get(), sandbox::run_init_shared, &ctx);
        if (vforked) {
            joins.fds.clear();
            return ClonedInit{sys::ChildProcess(vforked->pid, std::move(vforked->pidfd)),
                              std::move(parent_end), std::move(entry), plan.birth_flags, true};
        }
        if (vforked.error().err != ENOSYS)
            return sys::fail(
                explain_clone_failure(vforked.error(), plan.birth_flags, entry, cgroup_dirs));
        ctx.shared_memory = false;  // not on this architecture: forked as usual below
    }
#else
    (void)shared;
#endif
    auto cloned = sys::clone3_fork(
        static_cast<std::uint64_t>(plan.birth_flags & ~split.early_flags) | CLONE_PIDFD,
        entry.v2.get());
    if (!cloned)
        return sys::fail(
            explain_clone_failure(cloned.error(), plan.birth_flags, entry, cgroup_dirs));
    if (cloned->pid == 0) {
        parent_end.reset();
        dir.forget_in_child();
        sandbox::run_init(ctx);  // never returns
    }
    joins.fds.clear();
    return ClonedInit{sys::ChildProcess(cloned->pid, std::move(cloned->pidfd)),
                      std::move(parent_end), std::move(entry), plan.birth_flags};
}

// "go" to the child; one that failed before it (an early unshare) said why, and that is the
// error rather than the broken pipe.
sys::Status send_go(int sync_fd) {
    auto sent = sandbox::send_message(sync_fd, sandbox::SyncType::kGo);
    if (sent) return sent;
    if (auto m = sandbox::receive_message(sync_fd);
        m && *m && (*m)->type == sandbox::SyncType::kFailure)
        return sys::fail(sandbox::to_error((*m)->failure));
    return sent;
}

// prestart and createRuntime hooks, in the runtime's namespaces, while the init waits.
sys::Status run_creation_hooks(const spec::Spec& s, const std::string& id, pid_t pid) {
    std::string st = sandbox::hook_state_json(s, id, "created", pid);
    for (std::size_t i = 0; i < s.hooks.prestart.size(); ++i)
        HAKO_TRY(sandbox::run_hook(s.hooks.prestart[i], st,
                                   "hooks.prestart[" + std::to_string(i) + "]"));
    for (std::size_t i = 0; i < s.hooks.create_runtime.size(); ++i)
        HAKO_TRY(sandbox::run_hook(s.hooks.create_runtime[i], st,
                                   "hooks.createRuntime[" + std::to_string(i) + "]"));
    return {};
}

// What the init asks of us while it sets itself up (await_ready handles the common ones).
struct CreateConversation {
    const spec::Spec& s;
    const std::string& id;
    int sync_fd;
    internal::ChildSession& session;
    sys::UniqueFd seccomp_notify;

    sys::Result<bool> operator()(const sandbox::SyncMessage& m, sys::UniqueFd& passed) {
        switch (m.type) {
            case sandbox::SyncType::kNeedMaps:
                HAKO_TRY(sandbox::write_id_maps(session.first.pid(), s.linux));
                HAKO_TRY(sandbox::send_message(sync_fd, sandbox::SyncType::kMapsDone));
                return true;
            case sandbox::SyncType::kRunHooks: {
                pid_t pid = session.target().pid();
                HAKO_TRY(run_creation_hooks(s, id, pid));
                HAKO_TRY(sandbox::send_message(sync_fd, sandbox::SyncType::kHooksDone, pid));
                return true;
            }
            case sandbox::SyncType::kNeedMountSources:
                HAKO_TRY(sandbox::send_mount_sources(sync_fd, s, session.target().pid()));
                return true;
            case sandbox::SyncType::kSeccompFd:
                seccomp_notify = std::move(passed);
                return true;
            default:
                return false;
        }
    }
};

// The init died before it was ready: how, and the likely cause when it was SIGKILL under a
// memory limit.
sys::SysError init_died_error(const spec::Spec& s, int status) {
    std::string hint;
    const auto& res = s.linux.resources;
    bool limited = res && res->memory && res->memory->limit && *res->memory->limit >= 0;
    if (limited && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        hint = "the kernel's OOM killer may have ended it: linux.resources.memory.limit is " +
               std::to_string(*res->memory->limit) + " bytes";
    // An init that shares our memory until its exec faults nothing into the container's cgroup;
    // under too small a limit its system calls fail instead (ENOMEM), and so does the message
    // that would have said so (ENOBUFS): an exit without a word.
    else if (limited && WIFEXITED(status) && WEXITSTATUS(status) != 0)
        hint =
            "the kernel may have refused it memory (then it cannot even say why): "
            "linux.resources.memory.limit is " +
            std::to_string(*res->memory->limit) + " bytes";
    return sys::SysError{
        "container init " + internal::describe_wait_status(status) + " before it was ready",
        {},
        0,
        hint};
}

// The config exec, poststart and poststop will use, kept with the state (written while the init
// makes its rootfs: nothing reads it before the state says "created").
sys::Status save_config(const ContainerDir& dir, const Loaded& l) {
    return sys::write_file_atomic(dir.path() + "/" + kSavedConfig, l.config_text, 0600);
}

// Once the init is ready: what needs its pid (net devices, the seccomp listener) and the device
// rules.
sys::Status finish_ready(const cgroup::Host& host, const cgroup::Cgroup& cg, const Loaded& l,
                         const std::string& id, pid_t pid, const spec::Resources& device_rules,
                         int seccomp_notify) {
    HAKO_TRY(move_net_devices(l.spec.linux, pid));
    if (!device_rules.devices.empty())
        HAKO_TRY(cgroup::apply_resources(host, cg.dirs(), device_rules));
    if (seccomp_notify >= 0) HAKO_TRY(send_to_seccomp_listener(l.spec, id, pid, seccomp_notify));
    return {};
}

// The init ready (its messages up to "ready" read and answered: hooks, id maps, console,
// seccomp listener).
struct ReadyInit {
    sys::ChildProcess init;
    sys::UniqueFd console_master;
    sys::UniqueFd seccomp_notify;
};
sys::Result<ReadyInit> await_init_ready(const Runtime& rt, const CreateOptions& opts,
                                        const spec::Spec& s, ClonedInit& cloned) {
    internal::ChildSession session;
    session.first = std::move(cloned.first);
    CreateConversation talk{s, opts.id, cloned.sync.get(), session, sys::UniqueFd()};
    HAKO_TRY(internal::await_ready(rt, cloned.sync.get(), session, opts.console_socket,
                                   std::ref(talk),
                                   [&](int status) { return init_died_error(s, status); }));
    return ReadyInit{std::move(session.target()), std::move(session.console_master),
                     std::move(talk.seccomp_notify)};
}

// An init that shared our memory waits in the exec stub for "go"; its parent-death signal is
// cleared already (init.cc, outlive_parent_from_here), so once "go" is sent it outlives us
// without our waiting for it. Sent before the last save: a create killed before it leaves a
// stub that finds the socket's end and exits; killed after it, a stub whose pid the state has
// (delete -f finds it), and after the save a created container.
sys::Status release_stub(int sync_fd) {
    return sandbox::send_message(sync_fd, sandbox::SyncType::kGo);
}

}  // namespace

sys::Result<Created> create(const Runtime& rt, const CreateOptions& opts) {
    if (!valid_container_id(opts.id)) return sys::fail(invalid_id_error(opts.id));
    Trace trace(rt.log, "create " + opts.id);
    HAKO_ASSIGN(Loaded loaded, load_for_create(rt, opts));
    const spec::Spec& s = loaded.spec;
    HAKO_ASSIGN(internal::Joins joins, internal::open_joins(s.linux));
    if (joins.shared_mounts) rt.log.warn(internal::shared_mounts_warning(s));
    HAKO_ASSIGN(cgroup::Host host, cgroup::discover());

    StateStore store(rt.root);
    // A create of this id that was killed half-way is cleaned up first, as delete -f would.
    if (store.crashed_creation(opts.id)) HAKO_TRY(remove(rt, opts.id, true));
    HAKO_ASSIGN(auto dir, store.claim(opts.id));
    sys::fault_point("create-claimed");
    trace.step("config loaded and checked, state directory claimed");

    State state = intended_state(opts.id, loaded.bundle, s);
    // An init that shares our memory makes its namespaces while we wait: no split then.
    bool shared = init_can_share_memory(rt, s);
    CgroupSplit split = shared ? CgroupSplit{} : plan_split(rt, host, s);
    // Declared before the init: unwound after it is gone.
    std::optional<internal::SystemdUnit> unit;
    cgroup::Cgroup cg;
    cgroup::Entry entry;
    spec::Resources device_rules;
    if (rt.systemd_cgroup) {
        HAKO_ASSIGN(auto planned, plan_systemd_unit(rt, host, s, store, state));
        unit.emplace(std::move(planned));
    } else {
        HAKO_TRY(cgroups_before_clone(rt, host, s, store, state, split, cg, device_rules, entry));
    }
    trace.step("cgroups made");
    HAKO_ASSIGN(sys::UniqueFd fifo, make_exec_fifo(dir.path(), s));

    HAKO_ASSIGN(ClonedInit cloned,
                clone_init(opts, loaded, host, state.cgroup_dirs, std::move(entry), joins,
                           fifo.get(), dir, split, shared));
    HAKO_TRY(finish_split(rt, host, split, s, state, cg, device_rules));
    // The first child exits if we die before "go" (EOF on sync) and is in the cgroups after.
    HAKO_TRY(record_process(store, state, cloned.first.pid(), true));
    sys::fault_point("create-cloned");
    trace.step("init cloned");
    if ((cloned.birth_flags & CLONE_NEWUSER) != 0)
        HAKO_TRY(sandbox::write_id_maps(cloned.first.pid(), s.linux));
    if (unit) {
        HAKO_ASSIGN(cg, enter_systemd_unit(rt, host, *unit, s, store, state, cloned.first.pid()));
        trace.step("systemd unit started");
        HAKO_ASSIGN(device_rules, apply_early_resources(host, cg, s));
    }
    HAKO_TRY(cloned.entry.add_process(cloned.first.pid()));
    cloned.entry.tasks.clear();
    if (!cloned.shared) HAKO_TRY(send_go(cloned.sync.get()));
    sys::fault_point("create-go");
    trace.step("id maps written, go sent");
    HAKO_TRY(save_config(dir, loaded));

    HAKO_ASSIGN(ReadyInit ready, await_init_ready(rt, opts, s, cloned));
    sys::ChildProcess init = std::move(ready.init);
    sys::UniqueFd console_master = std::move(ready.console_master);
    // The init (a sibling of the first child when there was one more fork) blocks on the fifo
    // from here on, outliving us: its pid goes into the state now (or, in cgroups, at the end).
    HAKO_TRY(record_process(store, state, init.pid(), true));
    sys::fault_point("create-ready");
    trace.step("rootfs made, init ready");
    HAKO_TRY(finish_ready(host, cg, loaded, opts.id, init.pid(), device_rules,
                          ready.seccomp_notify.get()));
    if (cloned.shared) HAKO_TRY(release_stub(cloned.sync.get()));
    state.created = rfc3339_now();
    state.creating = false;
    state.status = "created";
    HAKO_TRY(store.save(state));
    sys::fault_point("create-saved");
    trace.step("state saved");
    HAKO_TRY(write_pid_file(opts.pid_file, init.pid()));

    cg.commit();
    if (unit) unit->commit();
    dir.commit();
    return Created{std::move(state), std::move(init), std::move(console_master)};
}

namespace {

// criu's --cgroup-root for each hierarchy: where the restored tree goes (the new container's
// cgroup, wherever the dumped one was).
std::vector<std::pair<std::string, std::string>> cgroup_roots(const cgroup::Host& host,
                                                              const cgroup::Cgroup& cg) {
    std::vector<std::pair<std::string, std::string>> roots;
    for (std::size_t i = 0; i < host.hierarchies.size() && i < cg.dirs().size(); ++i) {
        const auto& h = host.hierarchies[i];
        std::string rel = cg.dirs()[i].substr(h.mount_point.size());
        if (rel.empty()) rel = "/";
        roots.emplace_back(h.v2 ? std::string() : h.controllers, rel);
    }
    return roots;
}

// The joined net and pid namespaces, opened in the config's order (criu inherits them).
sys::Result<std::vector<sys::UniqueFd>> open_external_namespaces(const spec::Spec& s) {
    std::vector<sys::UniqueFd> fds;
    for (const auto& n : s.linux.namespaces) {
        if (n.path.empty()) continue;
        if (n.type != NamespaceType::kNetwork && n.type != NamespaceType::kPid) continue;
        HAKO_ASSIGN(auto fd, sys::open_path(n.path, O_RDONLY));
        fds.push_back(std::move(fd));
    }
    return fds;
}

sys::Result<std::vector<std::string>> saved_stdio_keys(const std::string& images) {
    std::vector<std::string> keys;
    auto text = sys::read_file(images + "/descriptors.json");
    if (!text) return keys;  // a dump by another tool: no stdio to hand over
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_array())
        return sys::plain_error("restore: " + images +
                                "/descriptors.json is not "
                                "a JSON array of strings");
    for (const auto& k : j) keys.push_back(k.is_string() ? k.get<std::string>() : "");
    return keys;
}

// criu's notifications during a restore, answered where runc acts: prestart and createRuntime
// at setup-namespaces (the container's namespaces made, nothing restored into them yet), the
// new terminal's master (orphan-pts-master) to the console socket.
criu::NotifyHandler restore_notes(const spec::Spec& s, const CreateOptions& opts) {
    return [&s, &opts](const criu::Response& r, sys::UniqueFd passed, std::string* why) {
        if (r.script == "setup-namespaces") {
            auto ran = run_creation_hooks(s, opts.id, r.pid);
            if (!ran) *why = ran.error().message();
            return static_cast<bool>(ran);
        }
        if (r.script == "orphan-pts-master") {
            if (passed.get() < 0) {
                *why = "criu's orphan-pts-master notification came without the terminal's fd";
                return false;
            }
            auto sent = internal::pass_console(opts.console_socket, passed.get());
            if (!sent) *why = "the restored terminal: " + sent.error().message();
            return static_cast<bool>(sent);
        }
        return true;
    };
}

// What restore checks before it makes anything.
sys::Status check_restorable(const Runtime& rt, const spec::Spec& s, const std::string& images,
                             const std::string& console_socket) {
    // A terminal's new master goes to the console socket (criu's orphan-pts-master).
    HAKO_TRY(internal::check_console(s.process->terminal, console_socket, false));
    if (rt.systemd_cgroup)
        return sys::plain_error("restore with --systemd-cgroup is not supported yet",
                                "restore without it (the container's cgroup is then a directory)");
    if (::access((images + "/inventory.img").c_str(), F_OK) != 0)
        return sys::plain_error("restore: no checkpoint in " + images + " (no inventory.img)",
                                "pass --image-path, the directory checkpoint wrote");
    return {};
}

}  // namespace

sys::Result<int> restore(const Runtime& rt, const RestoreOptions& o) {
    const CreateOptions& opts = o.create;
    if (!valid_container_id(opts.id)) return sys::fail(invalid_id_error(opts.id));
    internal::BlockedSignals signals;
    Trace trace(rt.log, "restore " + opts.id);
    HAKO_ASSIGN(Loaded loaded, load_for_create(rt, opts));
    const spec::Spec& s = loaded.spec;
    std::string images = criu::image_dir(o.criu), logs = criu::log_dir(o.criu);
    HAKO_TRY(check_restorable(rt, s, images, opts.console_socket));
    HAKO_ASSIGN(auto keys, saved_stdio_keys(images));
    HAKO_ASSIGN(auto ns_fds, open_external_namespaces(s));
    HAKO_ASSIGN(cgroup::Host host, cgroup::discover());
    StateStore store(rt.root);
    if (store.crashed_creation(opts.id)) HAKO_TRY(remove(rt, opts.id, true));
    HAKO_ASSIGN(auto dir, store.claim(opts.id));
    State state = intended_state(opts.id, loaded.bundle, s);
    HAKO_ASSIGN(auto cg, make_cgroups(rt, host, s, store, state));
    HAKO_ASSIGN(auto device_rules, apply_early_resources(host, cg, s));
    trace.step("config loaded, state claimed, cgroups made");

    HAKO_TRY(criu::prepare_mountpoints(s));
    std::string root = dir.path() + "/criu-root";
    if (::mkdir(root.c_str(), 0700) < 0) return sys::errno_error("mkdir", root);
    auto copts = criu::restore_opts(o, s, root, cgroup_roots(host, cg), keys,
                                    criu::cgroup_binds(s, host, cg.dirs()));
    criu::SwrkPlace place{s.root.path, root, {}};
    for (const auto& d : cg.dirs()) place.procs.push_back(d + "/cgroup.procs");
    HAKO_ASSIGN(auto swrk, criu::spawn_swrk(rt, &place, ns_fds));
    HAKO_TRY(
        record_process(store, state, swrk.process.pid()));  // delete -f ends an interrupted one
    HAKO_ASSIGN(auto images_fd, sys::open_path(swrk.path_in_criu(images), O_RDONLY | O_DIRECTORY));
    HAKO_ASSIGN(auto logs_fd, sys::open_path(swrk.path_in_criu(logs), O_RDONLY | O_DIRECTORY));
    copts.images_dir_fd = images_fd.get();
    copts.work_dir_fd = logs_fd.get();
    auto restored = criu::run(rt, std::move(swrk), "restore", criu::ReqType::kRestore, copts,
                              restore_notes(s, opts), logs + "/restore.log");
    ::rmdir(root.c_str());
    if (!restored) return sys::fail(std::move(restored.error()));
    trace.step("criu restored the container");
    auto pid = restored->pid;
    sys::ChildProcess init(pid, sys::UniqueFd());  // the restored init, our child (sibling)
    HAKO_TRY(record_process(store, state, pid));
    HAKO_TRY(save_config(dir, loaded));
    HAKO_TRY(finish_ready(host, cg, loaded, opts.id, pid, device_rules, -1));
    state.created = rfc3339_now();
    state.creating = false;
    state.status = "running";
    HAKO_TRY(store.save(state));
    HAKO_TRY(write_pid_file(opts.pid_file, pid));
    run_hooks_warning(rt, s.hooks.poststart, "poststart",
                      sandbox::hook_state_json(s, opts.id, "running", pid));
    cg.commit();
    dir.commit();
    dir = ContainerDir();  // its lock: delete (below, or anyone's meanwhile) takes it
    if (o.detach) {
        init.release();
        return 0;
    }
    int code = internal::wait_forwarding(init.release(), signals, -1);
    HAKO_TRY(remove(rt, opts.id, true));
    return code;
}

bool Runtime::detect_rootless() {
    if (::geteuid() != 0) return true;
    auto map = sys::read_file("/proc/self/uid_map");
    if (!map) return false;
    auto f = sys::split(*map, ' ');
    std::vector<std::string> words;
    for (const auto& w : f)
        if (!w.empty()) words.push_back(w.substr(0, w.find('\n')));
    return !(words.size() >= 3 && words[0] == "0" && words[1] == "0" && words[2] == "4294967295");
}

sys::Result<std::string> default_state_root() {
    uid_t uid = ::geteuid();
    // runc's rule: XDG_RUNTIME_DIR wherever the caller is rootless, root of a user namespace
    // included (podman's rootless mode does not pass --root).
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR");
        xdg != nullptr && *xdg != '\0' && Runtime::detect_rootless())
        return sys::join_path(xdg, "hako");
    if (uid == 0) return std::string("/run/hako");
    std::string run_user = "/run/user/" + std::to_string(uid);
    struct stat st {};
    if (::stat(run_user.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid)
        return run_user + "/hako";
    return sys::plain_error("no directory for container state: XDG_RUNTIME_DIR is not set and " +
                            run_user + " does not exist or is not owned by uid " +
                            std::to_string(uid) +
                            "; set XDG_RUNTIME_DIR to a directory of your own or pass --root");
}

namespace {

// An init whose exec stub waits for `start` (it shares the creator's memory: sandbox/init.cc)
// holds exec.fifo open for reading: our byte releases it, and its closing the fifo (no reader
// left: an error on our end) right before it execs the program is our sign to return. Else
// (ENXIO: no reader) the init itself waits to open the fifo for writing: the other way round.
sys::Status release_init(const std::string& fifo_path, int pidfd) {
    if (auto w = sys::open_path(fifo_path, O_WRONLY | O_NONBLOCK)) {
        if (::write(w->get(), "0", 1) != 1) return sys::errno_error("write", fifo_path);
        pollfd fds[2] = {{w->get(), 0, 0}, {pidfd, POLLIN, 0}};
        for (;;) {
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return sys::errno_error("wait for container init");
            }
            // The stub closed the fifo (it execs the program now), or the init is gone: the
            // program ran, or the stub died; either way nothing more to wait for.
            if ((fds[0].revents & (POLLERR | POLLHUP)) != 0 || fds[1].revents != 0) return {};
        }
    } else if (w.error().err != ENXIO) {
        return sys::fail(w.error());
    }
    HAKO_ASSIGN(auto fifo, sys::open_path(fifo_path, O_RDONLY | O_NONBLOCK));
    // The init opens the fifo for writing, writes one byte, and execs. If it dies instead, its
    // pidfd becomes readable and we stop waiting.
    pollfd fds[2] = {{fifo.get(), POLLIN, 0}, {pidfd, POLLIN, 0}};
    bool got_byte = false;
    for (;;) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return sys::errno_error("wait for container init");
        }
        if ((fds[0].revents & (POLLIN | POLLHUP)) != 0) {
            char byte = 0;
            ssize_t n = ::read(fifo.get(), &byte, 1);
            if (n == 1) {
                got_byte = true;
                continue;
            }
            // EOF: the init's end (close-on-exec) went away, i.e. it exec'd the program (after
            // the startContainer hooks) or died. poststart must come after that (runtime.md).
            if (n == 0 && got_byte) break;
            if (n < 0 && errno == EAGAIN) continue;
        }
        if (!got_byte && fds[1].revents != 0)
            return sys::plain_error("container init exited before start");
        if (got_byte && fds[1].revents != 0) break;
    }
    return {};
}

}  // namespace

sys::Status start(const Runtime& rt, const std::string& id) {
    Trace trace(rt.log, "start " + id);
    StateStore store(rt.root);
    HAKO_ASSIGN(auto s, store.load(id));
    HAKO_ASSIGN(auto dir, store.lock(id));
    s.status = derive_status(s, dir.path());
    if (s.status == "stopped") return sys::plain_error("cannot start a container that has stopped");
    if (s.status != "created")
        return sys::plain_error("cannot start an already " + s.status + " container");
    // The pidfd first: opening the fifo lets the init go, and a short-lived program can be done
    // and gone before a pidfd opened afterwards would find it (seen under podman, under load).
    HAKO_ASSIGN(auto pidfd, open_pidfd_checked(s));
    std::string fifo_path = dir.path() + "/exec.fifo";
    HAKO_TRY(release_init(fifo_path, pidfd.get()));
    trace.step("init released, program running");
    if (::unlink(fifo_path.c_str()) < 0) return sys::errno_error("remove", fifo_path);
    if (auto spec = saved_spec(dir.path(), s.bundle, "poststart"))
        run_hooks_warning(rt, spec->hooks.poststart, "poststart",
                          sandbox::hook_state_json(*spec, id, "running", s.pid));
    trace.step("poststart hooks");
    return {};
}

sys::Result<int> run(const Runtime& rt, const CreateOptions& opts, bool detach, bool keep) {
    internal::BlockedSignals signals;
    CreateOptions with_proxy = opts;
    with_proxy.proxy_terminal = !detach;
    HAKO_ASSIGN(auto created, create(rt, with_proxy));
    if (created.console_master.valid()) internal::copy_window_size(created.console_master.get());
    auto started = start(rt, opts.id);
    if (!started) {
        (void)remove(rt, opts.id, true);
        return sys::fail(started.error());
    }
    if (detach) {
        created.init.release();
        return 0;
    }
    int code =
        internal::wait_forwarding(created.init.release(), signals, created.console_master.get());
    if (!keep) HAKO_TRY(remove(rt, opts.id, true));
    return code;
}

sys::Status kill(const Runtime& rt, const std::string& id, int sig, bool all) {
    StateStore store(rt.root);
    HAKO_ASSIGN(auto s, store.load(id));
    // As runc: --all of a stopped container signals what is left in its cgroup (nothing, or
    // the stray processes of a container without a pid namespace of its own).
    if (s.status == "stopped" && !all) return sys::plain_error("container not running");
    if (all) {
        cgroup::Cgroup cg(s.cgroup_dirs, {});
        cg.commit();
        // SIGKILL through cgroup.kill also catches what forks meanwhile.
        if (sig == SIGKILL && cg.kill_all()) return {};
        for (pid_t pid : container_pids(s))
            if (::kill(pid, sig) < 0 && errno != ESRCH)
                return sys::errno_error("kill", "pid " + std::to_string(pid));
        return {};
    }
    HAKO_ASSIGN(auto fd, open_pidfd_checked(s));
    return sys::pidfd_send_signal(fd.get(), sig,
                                  "container init (pid " + std::to_string(s.pid) + ")");
}

sys::Status remove(const Runtime& rt, const std::string& id, bool force) {
    Trace trace(rt.log, std::string(force ? "delete -f " : "delete ") + id);
    StateStore store(rt.root);
    if (!valid_container_id(id)) return sys::fail(invalid_id_error(id));
    auto dir = store.lock(id);
    if (!dir) {
        if (force) return {};
        return sys::fail(dir.error());
    }
    auto s = store.load(id);
    if (!s) {
        // A directory without a readable state is hako's leftover: --force removes it.
        if (force) return dir->remove();
        return sys::fail(s.error());
    }
    if (s->creating) {
        // Its create was killed half-way (we hold the lock it held): end what it started and
        // remove what it made, as far as it got.
        if (!force)
            return sys::plain_error("container " + id + " was never fully created",
                                    "its create was interrupted; delete --force removes it");
        if (auto st = sys::read_proc_stat(s->pid); st && st->start_time == s->start_time)
            ::kill(s->pid, SIGKILL);
        return destroy(*s, *dir);
    }
    if (s->status == "running" || s->status == "paused") {
        if (!force)
            return sys::plain_error(
                "cannot delete container " + id + " that is not stopped: " + s->status,
                "stop it first or use delete --force");
    }
    if (s->status != "stopped") {
        if (!s->own_pid_namespace)
            for (pid_t pid : container_pids(*s)) ::kill(pid, SIGKILL);
        if (s->status == "paused") {
            // Frozen tasks die of SIGKILL only once thawed: kill, then thaw.
            if (auto st = sys::read_proc_stat(s->pid); st && st->start_time == s->start_time)
                ::kill(s->pid, SIGKILL);
            cgroup::Cgroup cg(s->cgroup_dirs, {});
            cg.commit();
            (void)cg.freeze(false);
        }
        HAKO_TRY(kill_and_wait(*s));
    }
    sys::fault_point("delete-killed");
    auto spec = saved_spec(dir->path(), s->bundle, "poststop");
    HAKO_TRY(destroy(*s, *dir));
    if (spec)
        run_hooks_warning(rt, spec->hooks.poststop, "poststop",
                          sandbox::hook_state_json(*spec, id, "stopped", 0));
    return {};
}

sys::Status update(const Runtime& rt, const std::string& id, const spec::Resources& r) {
    StateStore store(rt.root);
    HAKO_ASSIGN(auto s, store.load(id));
    if (s.status == "stopped") return sys::plain_error("container not running");
    HAKO_ASSIGN(auto host, internal::cgroup_host_of(s, "update"));
    // memory.checkBeforeUpdate (config-linux.md): a limit below what the container uses now is
    // refused instead of making the kernel reclaim or OOM-kill.
    if (r.memory && r.memory->check_before_update.value_or(false) && r.memory->limit &&
        *r.memory->limit > 0) {
        auto usage = cgroup::memory_usage(host, s.cgroup_dirs);
        if (usage && static_cast<std::uint64_t>(*r.memory->limit) < *usage)
            return sys::plain_error(
                "linux.resources.memory.limit: " + std::to_string(*r.memory->limit) +
                    " is below the container's current memory usage (" + std::to_string(*usage) +
                    " bytes)",
                "checkBeforeUpdate is set: raise the limit or free memory in the container first");
    }
    // No memory limit (-1) while memory+swap stays limited is refused by v1 (EINVAL): as runc,
    // lifting the memory limit lifts the swap one too unless the update sets it.
    spec::Resources want = r;
    if (want.memory && want.memory->limit == -1 && !want.memory->swap &&
        host.mode != cgroup::Mode::kUnified) {
        for (const auto& d : s.cgroup_dirs)
            if (::access((d + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0)
                want.memory->swap = -1;
    }
    if (!s.systemd_unit.empty()) HAKO_TRY(internal::update_unit(s, host, want));
    return cgroup::apply_resources(host, s.cgroup_dirs, want);
}

namespace {

// pause (freeze) and resume (thaw): the v1 freezer or v2 cgroup.freeze.
sys::Status set_frozen(const Runtime& rt, const std::string& id, bool freeze) {
    StateStore store(rt.root);
    HAKO_ASSIGN(auto s, store.load(id));
    const char* from = freeze ? "running" : "paused";
    if (s.status != from)
        return sys::plain_error(freeze ? "container not running" : "container not paused",
                                "it is " + s.status);
    HAKO_ASSIGN(auto host, internal::cgroup_host_of(s, freeze ? "pause" : "resume"));
    cgroup::Cgroup cg(s.cgroup_dirs, {});
    cg.commit();
    return cg.freeze(freeze);
}

}  // namespace

sys::Status pause(const Runtime& rt, const std::string& id) { return set_frozen(rt, id, true); }

sys::Status resume(const Runtime& rt, const std::string& id) { return set_frozen(rt, id, false); }

sys::Result<std::vector<pid_t>> pids(const Runtime& rt, const std::string& id) {
    HAKO_ASSIGN(auto s, StateStore(rt.root).load(id));
    return container_pids(s);
}

sys::Result<State> state(const Runtime& rt, const std::string& id) {
    return StateStore(rt.root).load(id);
}

sys::Result<std::vector<State>> list(const Runtime& rt) {
    StateStore store(rt.root);
    HAKO_ASSIGN(auto ids, store.ids());
    std::vector<State> out;
    for (const auto& id : ids)
        if (auto s = store.load_summary(id)) out.push_back(std::move(*s));
    return out;
}

}  // namespace runtime
