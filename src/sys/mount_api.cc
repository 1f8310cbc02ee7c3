#include "sys/mount_api.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sys {

Result<FsContext> FsContext::open(const std::string& fstype, const std::string& shown_target) {
    long fd = ::syscall(SYS_fsopen, fstype.c_str(), FSOPEN_CLOEXEC);
    if (fd < 0) {
        auto e = errno_error("mount " + fstype + " on", shown_target);
        if (errno == ENODEV)
            e.value().hint = "the kernel does not know the filesystem type \"" + fstype + "\"";
        return e;
    }
    return FsContext(UniqueFd(static_cast<int>(fd)), fstype, shown_target);
}

std::string FsContext::kernel_log() {
    std::string out;
    char buf[512];
    for (;;) {
        ssize_t n = ::read(fd_.get(), buf, sizeof buf - 1);
        if (n <= 0) break;
        std::string line(buf, static_cast<size_t>(n));
        // Lines are "e msg", "w msg" or "i msg".
        if (line.size() > 2 && line[1] == ' ') line = line.substr(2);
        if (!out.empty()) out += "; ";
        out += line;
    }
    return out;
}

SysError FsContext::error(const std::string& what, int err) {
    SysError e{"mount " + fstype_ + " on", target_ + what, err, {}};
    std::string log = kernel_log();
    if (!log.empty()) e.hint = "the kernel said: " + log;
    return e;
}

Status FsContext::set(const std::string& option) {
    size_t eq = option.find('=');
    if (eq == std::string::npos) return set_flag(option);
    return set_string(option.substr(0, eq), option.substr(eq + 1));
}

Status FsContext::set_string(const std::string& key, const std::string& value) {
    if (::syscall(SYS_fsconfig, fd_.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0) < 0)
        return fail(error(" (" + key + "=" + value + ")", errno));
    return {};
}

Status FsContext::set_flag(const std::string& key) {
    if (::syscall(SYS_fsconfig, fd_.get(), FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0) < 0)
        return fail(error(" (" + key + ")", errno));
    return {};
}

Result<UniqueFd> FsContext::mount(std::uint64_t attrs) {
    if (::syscall(SYS_fsconfig, fd_.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
        return fail(error("", errno));
    long m = ::syscall(SYS_fsmount, fd_.get(), FSMOUNT_CLOEXEC, attrs);
    if (m < 0) return fail(error("", errno));
    return UniqueFd(static_cast<int>(m));
}

Result<UniqueFd> clone_tree(int dir, const std::string& path, bool recursive) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    if (path.empty()) flags |= AT_EMPTY_PATH;
    long fd = ::syscall(SYS_open_tree, dir, path.c_str(), flags);
    if (fd < 0) return errno_error("bind mount: open_tree", path);
    return UniqueFd(static_cast<int>(fd));
}

Status move_mount_to(int mount_fd, int target_fd, const std::string& shown_target) {
    if (::syscall(SYS_move_mount, mount_fd, "", target_fd, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return errno_error("attach mount on", shown_target);
    return {};
}

Status set_mount_attr(int fd, std::uint64_t set, std::uint64_t clr, std::uint64_t propagation,
                      bool recursive, const std::string& shown_target) {
    mount_attr attr{};
    attr.attr_set = set;
    attr.attr_clr = clr;
    // The atime modes are values of one field, not flags: setting one must clear the field.
    if ((set & MOUNT_ATTR__ATIME) != 0) attr.attr_clr |= MOUNT_ATTR__ATIME;
    attr.propagation = propagation;
    unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    if (::syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof attr) < 0)
        return errno_error("set mount attributes on", shown_target);
    return {};
}

Status set_mount_idmap(int fd, int userns_fd, bool recursive, const std::string& shown_target) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<std::uint64_t>(userns_fd);
    unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    if (::syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof attr) < 0) {
        auto e = errno_error("id-map mount on", shown_target);
        if (errno == EINVAL)
            e.value().hint = "the source filesystem may not support id-mapped mounts";
        return e;
    }
    return {};
}

std::uint64_t mount_attrs_from_flags(unsigned long flags) {
    std::uint64_t a = 0;
    if ((flags & MS_RDONLY) != 0) a |= MOUNT_ATTR_RDONLY;
    if ((flags & MS_NOSUID) != 0) a |= MOUNT_ATTR_NOSUID;
    if ((flags & MS_NODEV) != 0) a |= MOUNT_ATTR_NODEV;
    if ((flags & MS_NOEXEC) != 0) a |= MOUNT_ATTR_NOEXEC;
    if ((flags & MS_NODIRATIME) != 0) a |= MOUNT_ATTR_NODIRATIME;
    if ((flags & MS_NOSYMFOLLOW) != 0) a |= MOUNT_ATTR_NOSYMFOLLOW;
    if ((flags & MS_NOATIME) != 0) {
        a |= MOUNT_ATTR_NOATIME;
    } else if ((flags & MS_STRICTATIME) != 0) {
        a |= MOUNT_ATTR_STRICTATIME;
    }
    return a;
}

}  // namespace sys
