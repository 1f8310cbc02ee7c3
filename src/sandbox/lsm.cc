#include "sandbox/lsm.h"

#include <fcntl.h>
#include <unistd.h>

#include "sys/fs.h"

namespace sandbox {

bool apparmor_enabled() {
    auto v = sys::read_file("/sys/module/apparmor/parameters/enabled");
    return v && v->rfind('Y', 0) == 0;
}

bool selinux_enabled() { return ::access("/sys/fs/selinux/enforce", F_OK) == 0; }

sys::Status check_lsm(const spec::Spec& s) {
    if (s.process && !s.process->apparmor_profile.empty() && !apparmor_enabled())
        return sys::plain_error("process.apparmorProfile: AppArmor is not enabled on this host",
                                "remove apparmorProfile or enable AppArmor");
    if (s.process && !s.process->selinux_label.empty() && !selinux_enabled())
        return sys::plain_error("process.selinuxLabel: SELinux is not enabled on this host",
                                "remove the label or enable SELinux");
    return {};
}

sys::Status apply_exec_labels(const spec::Spec& s, int proc_fd) {
    if (!s.process) return {};
    const auto& p = *s.process;
    auto write_attr = [&](const char* attr, const std::string& value,
                          const char* field) -> sys::Status {
        auto fd = sys::open_at(proc_fd, std::string("thread-self/attr/") + attr, O_WRONLY);
        if (!fd)
            return sys::fail(
                sys::SysError{std::string(field) + ": open", fd.error().path, fd.error().err, {}});
        auto w = sys::write_all(fd->get(), value, std::string("/proc/thread-self/attr/") + attr);
        if (!w)
            return sys::fail(
                sys::SysError{std::string(field) + ": set " + value, {}, w.error().err, {}});
        return {};
    };
    if (!p.apparmor_profile.empty()) {
        // The AppArmor-specific interface (Linux 5.8+) first, the shared one as a fallback.
        std::string value = "exec " + p.apparmor_profile;
        auto st = write_attr("apparmor/exec", value, "process.apparmorProfile");
        if (!st) HAKO_TRY(write_attr("exec", value, "process.apparmorProfile"));
    }
    if (!p.selinux_label.empty())
        HAKO_TRY(write_attr("exec", p.selinux_label, "process.selinuxLabel"));
    return {};
}

}  // namespace sandbox
