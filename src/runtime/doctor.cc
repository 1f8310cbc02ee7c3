#include "runtime/doctor.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "cgroup/cgroup.h"
#include "sandbox/idmap.h"
#include "sandbox/lsm.h"
#include "sys/fs.h"
#include "sys/proc.h"
#include "sys/text.h"

namespace runtime {
namespace {

std::string first_line(const std::string& path) {
    auto t = sys::read_file(path);
    if (!t) return {};
    return t->substr(0, t->find('\n'));
}

// A syscall is there when calling it with bad arguments fails with something else than ENOSYS.
bool has_syscall(long nr) {
    errno = 0;
    long r = ::syscall(nr, -1, nullptr, 0, 0, 0);
    bool there = !(r < 0 && errno == ENOSYS);
    sys::UniqueFd made(r >= 0 ? static_cast<int>(r) : -1);  // a call that made an fd: closed
    return there;
}

// Whether this user may make a user namespace: tried in a child, which exits at once.
bool can_unshare_user() {
    pid_t pid = ::fork();
    if (pid < 0) return false;
    if (pid == 0) ::_exit(::unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void cgroups(std::vector<Finding>& out) {
    auto host = cgroup::discover();
    if (!host) {
        out.push_back({"cgroups", "cgroup hierarchies", false, host.error().message(),
                       "every container (create needs its cgroup)"});
        return;
    }
    const char* mode = host->mode == cgroup::Mode::kUnified  ? "unified (cgroup v2 only)"
                       : host->mode == cgroup::Mode::kHybrid ? "hybrid (v1 controllers, v2 beside)"
                                                             : "legacy (cgroup v1)";
    out.push_back({"cgroups", "mode", true, mode, ""});
    for (const auto& h : host->hierarchies) {
        std::string controllers =
            h.v2 ? first_line(h.mount_point + "/cgroup.controllers") : h.controllers;
        std::string own = cgroup::host_dir(h, h.caller_path);
        bool writable = ::access(own.c_str(), W_OK) == 0;
        std::string detail = (controllers.empty() ? std::string("(no controllers)") : controllers) +
                             "; this user's cgroup " + own +
                             (writable ? " is writable" : " is not writable");
        out.push_back({"cgroups", h.mount_point, writable || ::geteuid() == 0, detail,
                       "cgroups for this user's containers (rootless: skipped with a warning; "
                       "limits refused)"});
    }
}

void user_namespaces(std::vector<Finding>& out) {
    std::string max = first_line("/proc/sys/user/max_user_namespaces");
    out.push_back({"user namespaces", "user.max_user_namespaces", !max.empty() && max != "0",
                   max.empty() ? "absent" : max,
                   "user namespaces: rootless containers and linux.uidMappings"});
    std::string clone = first_line("/proc/sys/kernel/unprivileged_userns_clone");
    if (!clone.empty())
        out.push_back({"user namespaces", "kernel.unprivileged_userns_clone", clone != "0", clone,
                       "user namespaces for unprivileged users (rootless)"});
    bool ok = can_unshare_user();
    out.push_back({"user namespaces", "unshare(CLONE_NEWUSER) as this user", ok,
                   ok ? "works" : "refused", "rootless containers, user-namespaced containers"});
    if (::geteuid() == 0) return;
    uid_t uid = ::geteuid();
    std::string name;
    if (auto passwd = sys::read_file("/etc/passwd")) name = sandbox::user_name(*passwd, uid);
    for (const char* file : {"/etc/subuid", "/etc/subgid"}) {
        auto text = sys::read_file(file);
        auto ranges =
            text ? sandbox::parse_subids(*text, name, uid) : std::vector<sandbox::SubIdRange>{};
        std::string detail;
        for (const auto& r : ranges)
            detail += (detail.empty() ? "" : ", ") + std::to_string(r.start) + "-" +
                      std::to_string(r.start + r.count - 1);
        out.push_back({"user namespaces",
                       std::string(file) + " for " + (name.empty() ? std::to_string(uid) : name),
                       !ranges.empty(), ranges.empty() ? "no range" : detail,
                       "maps beyond this user's own id (only root in the container)"});
    }
    for (const char* helper : {"/usr/bin/newuidmap", "/usr/bin/newgidmap"}) {
        struct stat st {};
        bool present = ::stat(helper, &st) == 0;
        bool setuid = present && (st.st_mode & S_ISUID) != 0 && st.st_uid == 0;
        out.push_back({"user namespaces", helper, setuid,
                       !present ? "missing (Debian's uidmap)"
                       : setuid ? "setuid root"
                                : "not setuid",
                       "maps beyond this user's own id"});
    }
}

void kernel(std::vector<Finding>& out) {
    std::string actions = first_line("/proc/sys/kernel/seccomp/actions_avail");
    out.push_back({"seccomp", "seccomp filters", !actions.empty(),
                   actions.empty() ? "absent" : actions, "linux.seccomp"});
    bool notify = actions.find("user_notif") != std::string::npos;
    out.push_back({"seccomp", "user notification (SCMP_ACT_NOTIFY)", notify,
                   notify ? "available" : "absent", "SCMP_ACT_NOTIFY and listenerPath"});
    bool apparmor = sandbox::apparmor_enabled();
    bool selinux = sandbox::selinux_enabled();
    out.push_back({"security modules", "AppArmor", apparmor, apparmor ? "enabled" : "not enabled",
                   "process.apparmorProfile (refused)"});
    out.push_back({"security modules", "SELinux", selinux, selinux ? "enabled" : "not enabled",
                   "process.selinuxLabel (refused); linux.mountLabel (ignored)"});
    struct Probe {
        const char* name;
        long nr;
        const char* disables;
    };
    const Probe probes[] = {
        {"openat2 (RESOLVE_IN_ROOT)", SYS_openat2, "every container: paths inside the rootfs"},
        {"clone3 (CLONE_INTO_CGROUP, CLONE_PIDFD)", SYS_clone3, "every container"},
        {"the mount API (fsopen, fsmount, move_mount)", SYS_fsopen, "every container"},
        {"open_tree (detached bind mounts)", SYS_open_tree, "bind mounts"},
        {"mount_setattr (id-mapped mounts, recursive attributes)", SYS_mount_setattr,
         "idmap mounts, rro and friends"},
        {"pidfd_open", SYS_pidfd_open, "start, kill and events (no pid reuse races)"},
        {"close_range", SYS_close_range, "fd hygiene before execve"},
    };
    for (const auto& p : probes) {
        bool ok = has_syscall(p.nr);
        out.push_back({"kernel", p.name, ok, ok ? "present" : "absent (ENOSYS)", p.disables});
    }
    bool time_ns = ::access("/proc/self/ns/time", F_OK) == 0;
    out.push_back({"kernel", "time namespaces", time_ns, time_ns ? "present" : "absent",
                   "linux.timeOffsets and time namespaces"});
}

// The bus a systemd driver would use: $DBUS_*_BUS_ADDRESS when it is a unix:path=, else the
// well-known socket.
std::string bus_socket(bool rootless) {
    const char* env =
        std::getenv(rootless ? "DBUS_SESSION_BUS_ADDRESS" : "DBUS_SYSTEM_BUS_ADDRESS");
    std::string addr = env != nullptr ? env : "";
    if (addr.rfind("unix:path=", 0) == 0) return addr.substr(10, addr.find(',') - 10);
    if (!rootless) return "/run/dbus/system_bus_socket";
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    return std::string(
               xdg != nullptr && *xdg != '\0' ? xdg : "/run/user/" + std::to_string(::geteuid())) +
           "/bus";
}

}  // namespace

std::string systemd_cgroup_refusal(bool rootless) {
    bool systemd = ::access("/run/systemd/system", F_OK) == 0;
    std::string bus = bus_socket(rootless);
    struct stat st {};
    bool bus_there = ::stat(bus.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
    std::string bus_kind = rootless ? "user bus" : "system bus";
    if (!systemd || !bus_there) {
        std::string init = "unknown";
        if (auto comm = sys::read_file("/proc/1/comm")) init = comm->substr(0, comm->find('\n'));
        std::string why;
        if (!systemd)
            why = "PID 1 is \"" + init + "\", not systemd (/run/systemd/system is missing)";
        if (!bus_there)
            why +=
                std::string(why.empty() ? "" : ", and ") + "there is no " + bus_kind + " at " + bus;
        return "--systemd-cgroup: there is no systemd to talk to: " + why +
               "; run without --systemd-cgroup (hako then manages cgroupfs itself)";
    }
    return {};
}

namespace {

void helpers(std::vector<Finding>& out) {
    bool systemd = ::access("/run/systemd/system", F_OK) == 0;
    out.push_back({"other", "systemd as init", systemd, systemd ? "running" : "not running",
                   "--systemd-cgroup"});
    // What criu says of this kernel: its own check, whose first error is the reason.
    std::string detail = "not installed (Debian: apt-get install criu)";
    bool criu = false;
    if (auto r = sys::run_capture(
            {"sh", "-c", "command -v criu >/dev/null || exit 3; criu check -o - 2>&1"});
        r && WIFEXITED(r->status) && WEXITSTATUS(r->status) != 3) {
        criu = WEXITSTATUS(r->status) == 0;
        std::string first;
        for (const auto& line : sys::split(r->out, '\n'))
            if (first.empty() && line.find("Error") != std::string::npos) first = line;
        detail = criu ? "`criu check` passes" : "`criu check` fails: " + first;
    }
    out.push_back({"other", "criu", criu, detail, "checkpoint and restore"});
}

}  // namespace

std::vector<Finding> doctor() {
    std::vector<Finding> out;
    cgroups(out);
    user_namespaces(out);
    kernel(out);
    helpers(out);
    return out;
}

}  // namespace runtime
