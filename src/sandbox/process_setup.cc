#include "sandbox/process_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "exec_stub_bytes.h"
#include "sandbox/exec_check.h"
#include "sandbox/process_attrs.h"
#include "sandbox/sync.h"
#include "spec/names.h"
#include "sys/fs.h"
#include "sys/text.h"

namespace sandbox {
namespace {

using sys::Status;

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

Status set_rlimits(const spec::Process& p) {
    for (const auto& r : p.rlimits) {
        rlimit lim{r.soft, r.hard};
        if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &lim) < 0) {
            auto e = sys::errno_error("setrlimit " + r.type, "soft=" + std::to_string(r.soft) +
                                                                 " hard=" + std::to_string(r.hard));
            rlimit cur{};
            if (errno == EPERM &&
                ::getrlimit(static_cast<__rlimit_resource>(r.resource), &cur) == 0 &&
                r.hard > cur.rlim_max)
                e.value().hint = "the hard limit is above the current " +
                                 std::to_string(cur.rlim_max) +
                                 " and raising it needs CAP_SYS_RESOURCE, which this host lacks";
            return e;
        }
    }
    return {};
}

std::uint64_t cap_mask(const std::vector<int>& caps) {
    std::uint64_t m = 0;
    for (int c : caps) m |= std::uint64_t{1} << c;
    return m;
}

Status drop_bounding(const spec::Capabilities& caps) {
    // Up to the kernel's last capability: the first number it does not know (EINVAL) ends
    // the loop (no read of /proc/sys/kernel/cap_last_cap, which may not be there).
    std::uint64_t keep = cap_mask(caps.bounding);
    for (int c = 0; c < 64; ++c) {
        if ((keep & (std::uint64_t{1} << c)) != 0) continue;
        if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
            if (errno == EINVAL) return {};
            return sys::errno_error("drop bounding capability", spec::capability_name(c));
        }
    }
    return {};
}

Status set_capabilities(const spec::Capabilities& caps, bool root,
                        std::vector<std::string>& warnings) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    auto fill = [&](const std::vector<int>& set, auto member) {
        std::uint64_t m = cap_mask(set);
        data[0].*member = static_cast<std::uint32_t>(m);
        data[1].*member = static_cast<std::uint32_t>(m >> 32);
    };
    fill(caps.effective, &__user_cap_data_struct::effective);
    fill(caps.permitted, &__user_cap_data_struct::permitted);
    fill(caps.inheritable, &__user_cap_data_struct::inheritable);
    if (::syscall(SYS_capset, &header, data) < 0) {
        auto e = sys::errno_error("capset", "process.capabilities");
        if (errno == EPERM)
            e.value().hint =
                "effective capabilities must be a subset of permitted ones, and "
                "permitted ones of the bounding set";
        return e;
    }
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    std::uint64_t raisable = cap_mask(caps.inheritable) & cap_mask(caps.permitted);
    for (int c : caps.ambient) {
        // As runc: not a failure, and silent when the kernel's rule (an ambient capability must
        // be permitted and inheritable) excludes it, which runc's own default spec does for
        // every one; a warning only when the raise fails for another reason. For uid 0 the
        // ambient set changes nothing.
        bool possible = (raisable & (std::uint64_t{1} << c)) != 0;
        if (!possible) continue;  // the kernel would refuse it (EPERM): not even asked
        if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0 && !root)
            warnings.push_back(std::string("process.capabilities.ambient: cannot raise ") +
                               spec::capability_name(c) + ": " + std::strerror(errno) +
                               " (an ambient capability must be permitted and inheritable too)");
    }
    return {};
}

Status set_user(const spec::Process& p) {
    const spec::User& u = p.user;
    std::vector<gid_t> groups(u.additional_gids.begin(), u.additional_gids.end());
    // setgroups is refused (EPERM) in a user namespace whose setgroups file says "deny".
    if (::setgroups(groups.size(), groups.data()) < 0 && !(errno == EPERM && groups.empty()))
        return sys::errno_error("setgroups", "process.user.additionalGids");
    if (::setresgid(u.gid, u.gid, u.gid) < 0) {
        auto e = sys::errno_error("setresgid", std::to_string(u.gid));
        if (errno == EINVAL)
            e.value().hint = "the gid is not mapped in the container's user namespace";
        return e;
    }
    // Keep the permitted set across the uid change; capset sets the final sets right after.
    if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return sys::errno_error("prctl PR_SET_KEEPCAPS");
    if (::setresuid(u.uid, u.uid, u.uid) < 0) {
        auto e = sys::errno_error("setresuid", std::to_string(u.uid));
        if (errno == EINVAL)
            e.value().hint = "the uid is not mapped in the container's user namespace";
        return e;
    }
    ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    return {};
}

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
    for (const auto& e : env)
        if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
            return e.substr(key.size() + 1);
    return {};
}

// process.cwd, resolved inside the container's root ("/" now: after pivot_root, or the joined
// mount namespace of exec) without following a magic link, so that "/proc/self/fd/N" or a
// symlink planted in the rootfs names nothing of the host's (CVE-2024-21626).
Status enter_cwd(const std::string& cwd) {
    HAKO_ASSIGN(auto root, sys::open_path("/", O_PATH | O_DIRECTORY));
    auto dir = sys::open_in_root(root.get(), cwd, O_PATH | O_DIRECTORY);
    if (!dir) {
        sys::SysError e{"process.cwd: chdir", cwd, dir.error().err, {}};
        if (e.err == ELOOP || e.err == EXDEV)
            e.hint =
                "it leads through a magic link such as /proc/self/fd/N, which could name "
                "a directory outside the container (CVE-2024-21626); name a directory "
                "inside the rootfs";
        return sys::fail(e);
    }
    if (::fchdir(dir->get()) < 0) return sys::errno_error("process.cwd: chdir", cwd);
    return {};
}

// The user's home from the container's /etc/passwd (read inside the root), else "/" (runc's).
std::string home_of(uid_t uid) {
    auto root = sys::open_path("/", O_PATH | O_DIRECTORY);
    if (!root) return "/";
    auto fd = sys::open_in_root(root->get(), "/etc/passwd", O_RDONLY);
    if (!fd) return "/";
    auto passwd = sys::read_fd(fd->get());
    if (!passwd) return "/";
    // name:pw:uid:gid:gecos:home:shell
    for (const auto& f : sys::colon_records(*passwd))
        if (f.size() >= 6 && f[2] == std::to_string(uid)) return f[5];
    return "/";
}

Status raise_effective_to_permitted() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    if (::syscall(SYS_capget, &header, data) < 0) return sys::errno_error("capget");
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    if (::syscall(SYS_capset, &header, data) < 0)
        return sys::errno_error("capset", "effective = permitted, to load the seccomp filter");
    return {};
}

}  // namespace

bool is_executable_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0) return false;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
        return false;
    }
    return ::faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) == 0;
}

sys::Result<sys::UniqueFd> make_exec_stub() {
#ifndef MFD_EXEC
    constexpr unsigned kMfdExec = 0x10U;  // Linux 6.3: ask for an executable memfd explicitly
#else
    constexpr unsigned kMfdExec = MFD_EXEC;
#endif
    int fd = ::memfd_create("hako-exec-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING | kMfdExec);
    if (fd < 0 && errno == EINVAL)  // kernels before 6.3 do not know MFD_EXEC
        fd = ::memfd_create("hako-exec-stub", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return sys::errno_error("memfd_create", "exec stub");
    sys::UniqueFd stub(fd);
    std::string_view bytes(reinterpret_cast<const char*>(kExecStub), sizeof kExecStub);
    HAKO_TRY(sys::write_all(stub.get(), bytes, "exec stub memfd"));
    // Sealed: nothing can write it, grow it or shrink it, not even through /proc/self/exe.
    if (::fcntl(stub.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) <
        0)
        return sys::errno_error("seal", "exec stub memfd");
    return stub;
}

sys::Result<std::string> find_executable(const std::string& file, const std::string& path_env,
                                         bool (*is_executable)(const std::string&)) {
    if (file.find('/') != std::string::npos) {
        if (is_executable(file)) return file;
        int err = errno;
        return sys::fail(sys::SysError{"exec", "\"" + file + "\"", err, {}});
    }
    std::string path = path_env.empty() ? kDefaultPath : path_env;
    int denied = 0;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t colon = path.find(':', pos);
        if (colon == std::string::npos) colon = path.size();
        std::string dir = path.substr(pos, colon - pos);
        if (dir.empty()) dir = ".";
        std::string candidate = dir + "/" + file;
        if (is_executable(candidate)) return candidate;
        if (errno == EACCES) denied = EACCES;
        pos = colon + 1;
    }
    if (denied != 0) return sys::fail(sys::SysError{"exec", "\"" + file + "\"", denied, {}});
    return sys::plain_error("exec: \"" + file + "\": executable file not found in $PATH",
                            "PATH=" + path);
}

sys::Result<ExecPlan> prepare_process(const spec::Spec& s, SeccompFilter& filter, int preserve_fds,
                                      std::uint64_t reset_signals, sys::UniqueFd stub,
                                      std::array<int, 2> keep_open) {
    if (!s.process) return sys::plain_error("process: the container has no process to run");
    const spec::Process& p = *s.process;
    HAKO_TRY(set_rlimits(p));
    // Scheduler and I/O class need CAP_SYS_NICE / CAP_SYS_ADMIN: before the capabilities drop.
    HAKO_TRY(apply_process_attrs(s));
    // As runc: the cwd is entered as root first (a directory only root may enter, e.g. on NFS
    // with root squash the other way round), and again as the user if that failed.
    bool in_cwd = enter_cwd(p.cwd).has_value();
    if (p.capabilities) HAKO_TRY(drop_bounding(*p.capabilities));
    HAKO_TRY(set_user(p));
    if (!in_cwd) HAKO_TRY(enter_cwd(p.cwd));
    HAKO_TRY(sys::check_cwd_inside_root("process.cwd " + p.cwd));
    ExecPlan plan;
    plan.args = p.args;
    plan.env = p.env;
    if (env_value(p.env, "HOME").empty()) plan.env.push_back("HOME=" + home_of(p.user.uid));
    // Looked up as the user and before the filter: a profile need not allow faccessat2 or stat.
    auto path = find_executable(p.args[0], env_value(p.env, "PATH"), is_executable_file);
    if (!path) {
        auto e = std::move(path.error()).in("process.args[0]");
        if (e.err == EACCES && e.hint.empty() && p.args[0].find('/') != std::string::npos)
            e.hint = explain_denied(p.args[0]);
        return sys::fail(e);
    }
    plan.path = *path;
    // What execve would refuse with a bare errno (a missing #! or ELF interpreter, noexec).
    HAKO_TRY(check_executable(plan.path, plan.warnings));
    plan.umask = p.user.umask.value_or(022);
    if (!stub.valid()) {
        HAKO_ASSIGN(stub, make_exec_stub());
    }
    plan.stub = std::move(stub);
    ::umask(plan.umask);
    // Only stdio and the preserved fds cross into the container (CVE-2024-21626).
    ::syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
    // But what the exec stub is to wait on (the sync socket, exec.fifo), cleared here before
    // the filter (a profile need not allow fcntl); the stub closes them before it execs the
    // program.
    for (int fd : keep_open)
        if (fd >= 0 && ::fcntl(fd, F_SETFD, 0) < 0)
            return sys::errno_error("fcntl", "fd " + std::to_string(fd) + ", for the exec stub");
    // execve resets caught signals itself and keeps ignored ones: both go back to the default
    // here (a handler could otherwise run while the init waits on the fifo).
    for (int sig = 1; sig < NSIG && sig <= 64; ++sig)
        if ((reset_signals >> (sig - 1) & 1) != 0) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // The filter goes in as late as the rules allow, so that a profile need allow little more
    // than what the container's program does: after it come only capset (without
    // no_new_privs), the messages to the parent, the fifo and the execs.
    if (!p.no_new_privileges && !filter.empty()) {
        // Without no_new_privs the load needs CAP_SYS_ADMIN, which a non-root user still has
        // in its permitted set (PR_SET_KEEPCAPS): effective for the load, then the final sets.
        HAKO_TRY(raise_effective_to_permitted());
        HAKO_ASSIGN(auto fd, filter.load());
        plan.seccomp_notify = std::move(fd);
    }
    if (p.capabilities) HAKO_TRY(set_capabilities(*p.capabilities, p.user.uid == 0, plan.warnings));
    if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sys::errno_error("prctl PR_SET_NO_NEW_PRIVS");
    if (p.no_new_privileges && !filter.empty()) {
        HAKO_ASSIGN(auto fd, filter.load());
        plan.seccomp_notify = std::move(fd);
    }
    return plan;
}

sys::Result<ExecPlan> prepare_with_seccomp(const spec::Spec& s, int preserve_fds, int sync_fd,
                                           std::uint64_t reset_signals, sys::UniqueFd stub,
                                           std::array<int, 2> keep_open) {
    SeccompFilter filter;
    if (s.linux.seccomp) {
        std::vector<std::string> skipped;
        HAKO_ASSIGN(auto built, build_seccomp(*s.linux.seccomp, skipped));
        filter = std::move(built);
    }
    auto plan = prepare_process(s, filter, preserve_fds, reset_signals, std::move(stub), keep_open);
    if (!plan) return plan;
    for (const auto& w : plan->warnings) send_warning(sync_fd, w);
    if (plan->seccomp_notify.valid())
        HAKO_TRY(send_fd_message(sync_fd, SyncType::kSeccompFd, plan->seccomp_notify.get()));
    return plan;
}

sys::Status outlive_parent_from_here(bool shared) {
    if (shared && ::prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
        return sys::errno_error("prctl PR_SET_PDEATHSIG 0");
    return {};
}

void exec_process(const ExecPlan& plan, int go_fd, int start_fd) noexcept {
    std::vector<char*> argv, envp;
    // The stub's argv: [stub, path, the program's argv...] (see exec_stub.c).
    std::string stub_name = "hako-exec-stub";
    if (go_fd >= 0) stub_name += ":" + std::to_string(go_fd);
    if (go_fd >= 0 && start_fd >= 0) stub_name += ":" + std::to_string(start_fd);
    argv.push_back(stub_name.data());
    argv.push_back(const_cast<char*>(plan.path.c_str()));
    for (const auto& a : plan.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const auto& e : plan.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    // From the sealed stub, never from our own image: see exec_stub.c (CVE-2019-5736).
    ::syscall(SYS_execveat, plan.stub.get(), "", argv.data(), envp.data(), AT_EMPTY_PATH);
    int err = errno;
    std::string msg =
        "hako: exec " + plan.path + " through the exec stub: " + std::strerror(err) + "\n";
    (void)!::write(2, msg.data(), msg.size());
}

}  // namespace sandbox
