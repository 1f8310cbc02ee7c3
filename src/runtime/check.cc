#include "runtime/check.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "cgroup/cgroup.h"
#include "runtime/internal.h"
#include "runtime/net_devices.h"
#include "sandbox/exec_check.h"
#include "sandbox/idmap.h"
#include "sandbox/lsm.h"
#include "sandbox/process_attrs.h"
#include "sandbox/process_setup.h"
#include "spec/config.h"
#include "sys/fs.h"
#include "sys/text.h"
#include "sys/unique_fd.h"

namespace runtime {
namespace {

void add(CheckReport& r, const sys::Status& st) {
    if (!st) r.problems.push_back(st.error());
}

std::string env_value(const std::vector<std::string>& env, const std::string& key) {
    for (const auto& e : env)
        if (e.rfind(key + "=", 0) == 0) return e.substr(key.size() + 1);
    return {};
}

// process.args[0] as the init would find it, in a child chrooted into the rootfs (as root only:
// an unprivileged caller cannot chroot). Mounts are not made, so a program that a mount would
// provide is only a warning.
void check_program(const spec::Spec& s, CheckReport& r) {
    if (::geteuid() != 0) {
        r.warnings.emplace_back(
            "process.args[0]: not checked (looking inside the rootfs needs chroot, i.e. root)");
        return;
    }
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return;
    sys::UniqueFd rd(p[0]), wr(p[1]);
    pid_t pid = ::fork();
    if (pid < 0) return;
    if (pid == 0) {
        rd.reset();
        std::string out;
        if (::chroot(s.root.path.c_str()) < 0 || ::chdir("/") < 0) ::_exit(2);
        const auto& proc = *s.process;
        auto path = sandbox::find_executable(proc.args[0], env_value(proc.env, "PATH"),
                                             sandbox::is_executable_file);
        std::vector<std::string> warnings;
        sys::Status st = path ? sandbox::check_executable(*path, warnings)
                              : sys::Status(tl::unexpected(path.error()));
        if (!st) out += (path ? "E" : "N") + st.error().message() + "\n";
        for (const auto& w : warnings) out += "W" + w + "\n";
        (void)!::write(wr.get(), out.data(), out.size());
        ::_exit(0);
    }
    wr.reset();
    std::string text;
    std::array<char, 4096> buf{};
    for (ssize_t n; (n = ::read(rd.get(), buf.data(), buf.size())) > 0;)
        text.append(buf.data(), static_cast<std::size_t>(n));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // A mount could provide the program when it (or, looked up in PATH, a PATH directory) lies
    // under a mount's destination.
    auto under_a_mount = [&](const std::string& path) {
        for (const auto& m : s.mounts) {
            const std::string& d = m.destination;
            if (path == d || (path.rfind(d, 0) == 0 && (d == "/" || path[d.size()] == '/')))
                return true;
        }
        return false;
    };
    const std::string& prog = s.process->args[0];
    bool mounts_could_provide = false;
    if (prog.find('/') != std::string::npos) {
        mounts_could_provide = under_a_mount(prog[0] == '/' ? prog : "/" + prog);
    } else {
        for (const auto& dir : sys::split(env_value(s.process->env, "PATH"), ':'))
            if (!dir.empty() && under_a_mount(dir)) mounts_could_provide = true;
    }
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        std::string msg = "process.args[0]: " + line.substr(1);
        if (line[0] == 'W' || (line[0] == 'N' && mounts_could_provide)) {
            r.warnings.push_back(line[0] == 'W' ? msg
                                                : msg +
                                                      " (in the rootfs itself; a mount may "
                                                      "still provide it)");
        } else {
            r.problems.push_back(sys::SysError{msg, {}});
        }
    }
}

}  // namespace

CheckReport check(const Runtime& rt, const std::string& bundle) {
    CheckReport r;
    auto parsed = spec::load_bundle(bundle);
    if (!parsed) {
        r.problems.push_back(parsed.error());
        return r;
    }
    r.warnings = parsed->warnings;
    spec::Spec& s = parsed->spec;
    struct stat st {};
    if (::stat(s.root.path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        r.problems.push_back(sys::SysError{"root.path: " + s.root.path + " is not a directory",
                                           {},
                                           errno,
                                           "the bundle's rootfs must exist"});
    if (!s.process) {
        r.problems.push_back(sys::SysError{"process: required to create a container", {}});
    } else if (s.process->capabilities) {
        if (auto w = sandbox::drop_ungrantable_capabilities(*s.process->capabilities,
                                                            sandbox::in_own_bounding_set))
            r.warnings.push_back(*w);
    }
    add(r, sandbox::check_lsm(s));
    add(r, sandbox::check_caller_maps(s.linux));
    add(r, sandbox::check_memory_policy(s.linux));
    add(r, check_net_devices(s.linux));
    if (s.linux.has_intel_rdt)
        r.problems.push_back(
            sys::SysError{"linux.intelRdt: resctrl is not mounted on this host", {}});
    if (!s.linux.mount_label.empty() && !sandbox::selinux_enabled())
        r.warnings.emplace_back("linux.mountLabel: ignored, SELinux is not enabled on this host");
    auto joins = internal::open_joins(s.linux);
    if (!joins)
        r.problems.push_back(joins.error());
    else if (joins->shared_mounts)
        r.warnings.push_back(internal::shared_mounts_warning(s));
    if (auto host = cgroup::discover(); !host) r.problems.push_back(host.error());
    if (rt.rootless)
        r.warnings.emplace_back("rootless: cgroups are used only where this user may write them");
    if (s.process && S_ISDIR(st.st_mode)) check_program(s, r);
    return r;
}

}  // namespace runtime
