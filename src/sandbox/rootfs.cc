#include "sandbox/rootfs.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>

#include "sandbox/console.h"
#include "sandbox/hook_runner.h"
#include "sandbox/sync.h"
#include "spec/mount_options.h"
#include "sys/fs.h"
#include "sys/mount_api.h"
#include "sys/text.h"

namespace sandbox {
namespace {

using spec::NamespaceType;
using sys::Status;
using sys::UniqueFd;

struct DefaultDevice {
    const char* path;
    unsigned major, minor;
};
// config-linux.md "Default Devices": the runtime supplies these whatever the config says.
constexpr std::array<DefaultDevice, 6> kDefaultDevices = {{
    {"/dev/null", 1, 3},
    {"/dev/zero", 1, 5},
    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8},
    {"/dev/urandom", 1, 9},
    {"/dev/tty", 5, 0},
}};

bool is_bind(const spec::Mount& m, const spec::MountOptions& o) {
    return m.type == "bind" || o.bind;
}

std::string basename_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }
std::string dirname_of(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

// Attach the error's cause in words, keeping what the kernel itself said.
sys::SysError explained(sys::SysError e, const spec::Mount& m, const spec::Linux& linux) {
    std::string ours = mount_hint(m, linux, e.err);
    if (!ours.empty()) e.hint = e.hint.empty() ? ours : ours + " (" + e.hint + ")";
    return e;
}

Status apply_propagation_and_attrs(int root_fd, const spec::Mount& m, const spec::MountOptions& o) {
    if (o.propagation.empty() && o.attr_set == 0 && o.attr_clr == 0) return {};
    HAKO_ASSIGN(auto fd, sys::open_in_root(root_fd, m.destination, O_PATH));
    for (unsigned long p : o.propagation)
        HAKO_TRY(
            sys::set_mount_attr(fd.get(), 0, 0, p & ~MS_REC, (p & MS_REC) != 0, m.destination));
    if (o.attr_set != 0 || o.attr_clr != 0)
        HAKO_TRY(sys::set_mount_attr(fd.get(), o.attr_set, o.attr_clr, 0, true, m.destination));
    return {};
}

Status mount_bind(int root_fd, const spec::Mount& m, const spec::MountOptions& o, int userns_fd,
                  int source_fd) {
    struct stat st {};
    int rc = source_fd >= 0 ? ::fstat(source_fd, &st) : ::stat(m.source.c_str(), &st);
    if (rc < 0) return sys::errno_error("bind mount: stat", m.source);
    auto target = S_ISDIR(st.st_mode) ? sys::mkdir_all_in_root(root_fd, m.destination)
                                      : sys::make_file_in_root(root_fd, m.destination);
    if (!target) return sys::fail(target.error());
    auto tree = source_fd >= 0 ? sys::clone_tree(source_fd, "", o.recursive_bind)
                               : sys::clone_tree(AT_FDCWD, m.source, o.recursive_bind);
    if (!tree) return sys::fail(tree.error());
    if (userns_fd >= 0) {
        // Id-mapped: owners seen through this mount go through the mount's own maps. Only a
        // detached mount can be id-mapped.
        auto st = sys::set_mount_idmap(tree->get(), userns_fd, o.recursive_bind, m.destination);
        if (!st) return st;
    }
    // "ro", "nosuid"... on a bind apply to its top mount; "rro" and friends to all of it.
    std::uint64_t attrs = sys::mount_attrs_from_flags(o.flags);
    if (attrs != 0) HAKO_TRY(sys::set_mount_attr(tree->get(), attrs, 0, 0, false, m.destination));
    return sys::move_mount_to(tree->get(), target->get(), m.destination);
}

Status mount_filesystem(int root_fd, const spec::Mount& m, const spec::MountOptions& o,
                        const std::string& fstype, const std::string& data,
                        const std::string& mount_label) {
    if (fstype == "proc" || fstype == "sysfs") {
        // CVE-2019-19921: procfs or sysfs over a symlink would land wherever the container
        // points it; masked paths and sysctls then miss. As runc, only a real directory.
        auto existing = sys::open_in_root(root_fd, m.destination, O_PATH | O_NOFOLLOW);
        struct stat st {};
        if (existing && ::fstat(existing->get(), &st) == 0 && S_ISLNK(st.st_mode))
            return sys::plain_error(m.destination + " is a symlink in the rootfs: " + fstype +
                                        " must be mounted on ordinary directory",
                                    "replace the symlink by a directory (CVE-2019-19921)");
    }
    HAKO_ASSIGN(auto target, sys::mkdir_all_in_root(root_fd, m.destination));
    std::string shown = m.destination;
    if (!m.options.empty()) {
        shown += " (";
        for (size_t i = 0; i < m.options.size(); ++i) shown += (i ? "," : "") + m.options[i];
        shown += ")";
    }
    HAKO_ASSIGN(auto fs, sys::FsContext::open(fstype, shown));
    // What `mount` and /proc/self/mountinfo show as the source; the VFS takes it for any type.
    if (!m.source.empty()) (void)fs.set_string("source", m.source);
    // SELinux: new filesystems carry the container's mount label (check_lsm made sure SELinux is
    // on when one is set).
    if (!mount_label.empty() && fstype != "proc" && fstype != "sysfs" && fstype != "cgroup2" &&
        fstype != "mqueue")
        HAKO_TRY(fs.set_string("context", mount_label));
    size_t pos = 0;
    while (pos < data.size()) {
        size_t comma = data.find(',', pos);
        if (comma == std::string::npos) comma = data.size();
        std::string option = data.substr(pos, comma - pos);
        if (comma > pos) {
            auto st = fs.set(option);
            if (!st && st.error().hint.find("Unknown parameter") != std::string::npos) {
                // `tmpfs: Unknown parameter 'nosiud'`: say which option, and what was meant.
                std::string msg = "unknown option \"" + option + "\" for " + fstype;
                if (auto near = spec::closest_mount_option(option))
                    msg += " (did you mean " + *near + "?)";
                return sys::plain_error(msg, st.error().hint);
            }
            HAKO_TRY(st);
        }
        pos = comma + 1;
    }
    for (auto [flag, name] : {std::pair{MS_SYNCHRONOUS, "sync"}, std::pair{MS_DIRSYNC, "dirsync"},
                              std::pair{MS_LAZYTIME, "lazytime"}, std::pair{MS_MANDLOCK, "mand"}})
        if ((o.flags & flag) != 0) HAKO_TRY(fs.set_flag(name));
    HAKO_ASSIGN(auto mnt, fs.mount(sys::mount_attrs_from_flags(o.flags)));
    return sys::move_mount_to(mnt.get(), target.get(), m.destination);
}

// /sys/fs/cgroup in the container. With a cgroup namespace every hierarchy is mounted afresh
// from inside it, so the container sees its own cgroup as "/"; without one, the container's own
// cgroup directories are bound from the host (as runc does).
Status mount_cgroup(const InitContext& ctx, int root_fd, const spec::Mount& m,
                    const spec::MountOptions& o) {
    const cgroup::Host& host = *ctx.cgroup_host;
    bool cgroupns = ctx.spec->linux.find_namespace(NamespaceType::kCgroup) != nullptr;
    std::uint64_t attrs = sys::mount_attrs_from_flags(o.flags);
    auto one = [&](const cgroup::Hierarchy& h, const std::string& dir, int target_fd,
                   const std::string& shown) -> Status {
        if (!cgroupns) {
            HAKO_ASSIGN(auto tree, sys::clone_tree(AT_FDCWD, dir, false));
            HAKO_TRY(sys::set_mount_attr(tree.get(), attrs, 0, 0, false, shown));
            return sys::move_mount_to(tree.get(), target_fd, shown);
        }
        HAKO_ASSIGN(auto fs, sys::FsContext::open(h.v2 ? "cgroup2" : "cgroup", shown));
        size_t pos = 0;
        while (!h.v2 && pos < h.controllers.size()) {
            size_t comma = h.controllers.find(',', pos);
            if (comma == std::string::npos) comma = h.controllers.size();
            HAKO_TRY(fs.set(h.controllers.substr(pos, comma - pos)));
            pos = comma + 1;
        }
        HAKO_ASSIGN(auto mnt, fs.mount(attrs));
        return sys::move_mount_to(mnt.get(), target_fd, shown);
    };
    // The container's directory in hierarchy i; a rootless container without cgroups of its own
    // lives in its caller's.
    auto dir_of = [&](std::size_t i) {
        if (i < ctx.cgroup_dirs.size()) return ctx.cgroup_dirs[i];
        return cgroup::host_dir(host.hierarchies[i], host.hierarchies[i].caller_path);
    };
    HAKO_ASSIGN(auto target, sys::mkdir_all_in_root(root_fd, m.destination));
    if (host.mode == cgroup::Mode::kUnified && !host.hierarchies.empty())
        return one(host.hierarchies[0], dir_of(0), target.get(), m.destination);

    // v1 and hybrid: a tmpfs that holds one mount per hierarchy, named as on the host.
    HAKO_ASSIGN(auto fs, sys::FsContext::open("tmpfs", m.destination));
    HAKO_TRY(fs.set_string("mode", "755"));
    HAKO_ASSIGN(auto tmp, fs.mount(MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
    HAKO_TRY(sys::move_mount_to(tmp.get(), target.get(), m.destination));
    HAKO_ASSIGN(auto dir, sys::open_in_root(root_fd, m.destination, O_RDONLY | O_DIRECTORY));
    for (size_t i = 0; i < host.hierarchies.size(); ++i) {
        const auto& h = host.hierarchies[i];
        std::string name = basename_of(h.mount_point);
        std::string shown = m.destination + "/" + name;
        if (::mkdirat(dir.get(), name.c_str(), 0755) < 0 && errno != EEXIST)
            return sys::errno_error("mkdir", shown);
        HAKO_ASSIGN(auto sub, sys::open_at(dir.get(), name, O_PATH | O_DIRECTORY | O_NOFOLLOW));
        HAKO_TRY(one(h, dir_of(i), sub.get(), shown));
    }
    if ((attrs & MOUNT_ATTR_RDONLY) != 0) {
        HAKO_ASSIGN(auto top, sys::open_in_root(root_fd, m.destination, O_PATH));
        HAKO_TRY(sys::set_mount_attr(top.get(), MOUNT_ATTR_RDONLY, 0, 0, false, m.destination));
    }
    return {};
}

bool defers_readonly(const spec::Mount& m, const spec::MountOptions& o) {
    return m.type == "tmpfs" && (o.flags & MS_RDONLY) != 0 && !is_bind(m, o);
}

// The read-only tmpfs mounts that mount_one made writable, read-only now.
Status finish_readonly_tmpfs(int root_fd, const spec::Spec& s) {
    for (std::size_t i = 0; i < s.mounts.size(); ++i) {
        const spec::Mount& m = s.mounts[i];
        if (!defers_readonly(m, spec::parse_mount_options(m.options))) continue;
        HAKO_ASSIGN(auto target, sys::open_in_root(root_fd, m.destination, O_PATH | O_DIRECTORY));
        HAKO_TRY(sys::set_mount_attr(target.get(), MOUNT_ATTR_RDONLY, 0, 0, false,
                                     "mounts[" + std::to_string(i) + "] " + m.destination));
    }
    return {};
}

}  // namespace

sys::Result<MountPlan> plan_mount(const spec::Mount& m, std::size_t index, bool user_namespace) {
    MountPlan p;
    p.options = spec::parse_mount_options(m.options);
    bool bind = is_bind(m, p.options);
    p.kind = bind                                        ? MountPlan::Kind::kBind
             : m.type == "cgroup" || m.type == "cgroup2" ? MountPlan::Kind::kCgroup
                                                         : MountPlan::Kind::kFilesystem;
    p.readonly_later = defers_readonly(m, p.options);
    if (p.readonly_later) p.options.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    p.idmapped = !m.uid_mappings.empty();  // the parent makes a user namespace for these
    if (p.idmapped && !bind)
        return sys::plain_error("mounts[" + std::to_string(index) +
                                "]: uidMappings/gidMappings need a bind mount");
    if (user_namespace && p.kind == MountPlan::Kind::kFilesystem)
        p.host_fallback = m.type == "sysfs" ? "/sys" : m.type == "mqueue" ? "/dev/mqueue" : "";
    return p;
}

namespace {

Status mount_one(const InitContext& ctx, int root_fd, std::size_t index, int source_fd) {
    const spec::Mount& m = ctx.spec->mounts[index];
    bool in_userns = ctx.spec->linux.find_namespace(NamespaceType::kUser) != nullptr;
    HAKO_ASSIGN(MountPlan plan, plan_mount(m, index, in_userns));
    const spec::MountOptions& o = plan.options;
    int userns = index < ctx.mount_userns.size() ? ctx.mount_userns[index] : -1;
    Status st;
    if (plan.kind == MountPlan::Kind::kBind) {
        st = mount_bind(root_fd, m, o, userns, source_fd);
    } else if (plan.kind == MountPlan::Kind::kCgroup) {
        st = mount_cgroup(ctx, root_fd, m, o);
    } else {
        st = mount_filesystem(root_fd, m, o, m.type, o.data, ctx.spec->linux.mount_label);
        if (!st && st.error().err == EPERM && !plan.host_fallback.empty()) {
            std::string why = mount_hint(m, ctx.spec->linux, EPERM);
            if (why.empty()) why = "the kernel refused a new " + m.type + " here (EPERM)";
            send_warning(ctx.sync_fd, "mounts[" + std::to_string(index) + "] (" + m.type + " on " +
                                          m.destination + "): " + why + "; bound the host's " +
                                          plan.host_fallback + " instead");
            spec::Mount bound = m;
            bound.source = plan.host_fallback;
            spec::MountOptions bind_options = o;
            bind_options.recursive_bind = true;
            st = mount_bind(root_fd, bound, bind_options, -1, -1);
        }
    }
    if (!st) return sys::fail(explained(st.error(), m, ctx.spec->linux));
    return apply_propagation_and_attrs(root_fd, m, o);
}

// The directory devices are made in, and who a new node belongs to without a chown.
struct DevDir {
    UniqueFd fd;
    std::string path;
    uid_t owner = 0;  // a new node's: our fsuid, and our fsgid unless the directory is setgid
    gid_t group = 0;
    bool setgid = false;
};

sys::Result<DevDir> open_dev_dir(int root_fd, const std::string& path) {
    DevDir d;
    HAKO_ASSIGN(d.fd, sys::mkdir_all_in_root(root_fd, path));
    struct stat st {};
    if (::fstat(d.fd.get(), &st) < 0) return sys::errno_error("stat", path);
    d.path = path;
    d.owner = ::geteuid();
    d.group = ::getegid();
    d.setgid = (st.st_mode & S_ISGID) != 0;
    return d;
}

Status make_device(const DevDir& dir, const std::string& path, char type, unsigned major,
                   unsigned minor, mode_t perm, uid_t uid, gid_t gid) {
    std::string name = basename_of(path);
    mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    dev_t dev = type == 'p' ? 0 : makedev(major, minor);
    // What is there (the rootfs's own node, a file) is replaced; mostly nothing is.
    int made = ::mknodat(dir.fd.get(), name.c_str(), kind | perm, dev);
    if (made < 0 && errno == EEXIST) {
        if (::unlinkat(dir.fd.get(), name.c_str(), 0) < 0 && errno != ENOENT)
            return sys::errno_error("remove", path);
        made = ::mknodat(dir.fd.get(), name.c_str(), kind | perm, dev);
    }
    if (made == 0) {
        if ((uid != dir.owner || gid != dir.group || dir.setgid) &&
            ::fchownat(dir.fd.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
            return sys::errno_error("chown", path);
        return {};
    }
    if (errno != EPERM) return sys::errno_error("mknod", path);
    // No mknod in a user namespace: bind the host's node over an empty file instead. The host
    // node is never chowned (runc and crun both once chowned the host's /dev/null).
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0 || (st.st_mode & S_IFMT) != kind || st.st_rdev != dev)
        return sys::fail(sys::SysError{"create device", path, EPERM,
                                       "mknod is not allowed here and the host has no such device "
                                       "at the same path to bind-mount"});
    int fd = ::openat(dir.fd.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) return sys::errno_error("create", path);
    UniqueFd placeholder(fd);
    HAKO_ASSIGN(auto target, sys::open_at(dir.fd.get(), name, O_PATH | O_NOFOLLOW));
    HAKO_ASSIGN(auto tree, sys::clone_tree(AT_FDCWD, path, false));
    return sys::move_mount_to(tree.get(), target.get(), path);
}

Status setup_dev(int root_fd, const spec::Spec& s) {
    const auto& devices = s.linux.devices;
    auto configured = [&](const char* path) {
        return std::any_of(devices.begin(), devices.end(), [&](auto& d) { return d.path == path; });
    };
    // /dev opened once for the default nodes (and each configured one's directory as needed).
    HAKO_ASSIGN(DevDir dev, open_dev_dir(root_fd, "/dev"));
    for (const auto& d : kDefaultDevices) {
        if (configured(d.path)) continue;
        HAKO_TRY(make_device(dev, d.path, 'c', d.major, d.minor, 0666, 0, 0));
    }
    for (const auto& d : devices) {
        std::optional<DevDir> other;
        if (dirname_of(d.path) != dev.path) {
            HAKO_ASSIGN(auto opened, open_dev_dir(root_fd, dirname_of(d.path)));
            other.emplace(std::move(opened));
        }
        HAKO_TRY(make_device(other ? *other : dev, d.path, d.type, static_cast<unsigned>(d.major),
                             static_cast<unsigned>(d.minor), d.file_mode.value_or(0666) & 07777,
                             d.uid.value_or(0), d.gid.value_or(0)));
    }
    std::vector<std::pair<const char*, const char*>> links = {{"/proc/self/fd", "fd"},
                                                              {"/proc/self/fd/0", "stdin"},
                                                              {"/proc/self/fd/1", "stdout"},
                                                              {"/proc/self/fd/2", "stderr"}};
    if (!configured("/dev/ptmx")) links.emplace_back("pts/ptmx", "ptmx");
    for (const auto& [target, name] : links) {
        if (std::string(name) == "ptmx") ::unlinkat(dev.fd.get(), name, 0);
        if (::symlinkat(target, dev.fd.get(), name) < 0 && errno != EEXIST)
            return sys::errno_error("symlink", std::string("/dev/") + name);
    }
    return {};
}

// --no-pivot leaves the host's mounts in the container's mount namespace, outside its root. A
// procfs or sysfs among them is "fully visible", and the kernel then lets the container mount a
// fresh, unmasked /proc or /sys of its own (runc's CVE-2016 class "bare /proc"). So every proc
// and sysfs mount outside the rootfs goes first (detached; covered with an empty read-only
// tmpfs where the kernel keeps it locked), as runc's msMoveRoot does.
Status hide_host_proc_and_sys(int root_fd) {
    std::array<char, PATH_MAX> buf{};
    auto n = ::readlink(sys::fd_path(root_fd).c_str(), buf.data(), buf.size() - 1);
    if (n < 0) return sys::errno_error("readlink", "rootfs");
    std::string root(buf.data(), static_cast<std::size_t>(n));
    HAKO_ASSIGN(auto mountinfo, sys::read_file("/proc/self/mountinfo"));
    std::vector<std::string> targets;
    for (const auto& line : sys::split(mountinfo, '\n')) {
        auto fields = sys::split(line, ' ');
        auto dash = line.find(" - ");
        if (fields.size() < 5 || dash == std::string::npos) continue;
        std::string fstype = line.substr(dash + 3, line.find(' ', dash + 3) - dash - 3);
        const std::string& at = fields[4];
        bool inside = at == root || at.rfind(root + "/", 0) == 0;
        if ((fstype == "proc" || fstype == "sysfs") && !inside) targets.push_back(at);
    }
    std::reverse(targets.begin(), targets.end());  // deepest first
    for (const auto& at : targets) {
        if (::umount2(at.c_str(), MNT_DETACH) == 0 || errno == EINVAL || errno == ENOENT) continue;
        if (::mount("tmpfs", at.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    "size=0") < 0)
            return sys::errno_error("--no-pivot: hide the host's " + at);
    }
    return {};
}

// A detached mount (fsmount) that dies with its last fd is unmounted then, and the kernel waits
// out an RCU grace period for it (namespace_unlock: up to 15 ms on a VM whose idle vCPUs must be
// woken). Attached in the old root just before that is detached, it goes with the old root, in
// the grace period that unmount waits for anyway, and its fd (still usable, in no namespace, so
// nothing can be mounted over it) is later closed at no cost. Best effort: a kernel that refuses
// the move leaves the handle detached, as before. Only in a mount namespace the init made: no
// other process can look into the old root while the procfs (unmasked) sits there.
void park_in_old_root(int old_root_fd, int detached_mount) {
    if (detached_mount < 0) return;
    auto target = sys::open_at(old_root_fd, "proc", O_PATH | O_DIRECTORY | O_NOFOLLOW);
    if (target) (void)sys::move_mount_to(detached_mount, target->get(), "old root's /proc");
}

Status pivot(int root_fd, bool no_pivot, int detached_procfs) {
    if (no_pivot) HAKO_TRY(hide_host_proc_and_sys(root_fd));
    if (::fchdir(root_fd) < 0) return sys::errno_error("chdir", "rootfs");
    if (no_pivot) {
        // --no-pivot: for ramfs roots where pivot_root is impossible. Weaker: the old root
        // stays reachable to a process with CAP_SYS_CHROOT.
        if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0)
            return sys::errno_error("move rootfs to /");
        if (::chroot(".") < 0) return sys::errno_error("chroot", "rootfs");
        if (::chdir("/") < 0) return sys::errno_error("chdir", "/");
        return {};
    }
    HAKO_ASSIGN(auto old_root, sys::open_path("/", O_DIRECTORY | O_RDONLY));
    if (::syscall(SYS_pivot_root, ".", ".") < 0) {
        auto e = sys::errno_error("pivot_root", "rootfs");
        if (errno == EINVAL)
            e.value().hint = "the rootfs may be on a ramfs or initramfs; try --no-pivot";
        return e;
    }
    // The old root now sits on top of the new one: detach it, making sure the unmount does not
    // propagate to the host.
    if (::fchdir(old_root.get()) < 0) return sys::errno_error("chdir", "old root");
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
        return sys::errno_error("make old root rslave");
    park_in_old_root(old_root.get(), detached_procfs);  // rslave: nothing reaches the host
    if (::umount2(".", MNT_DETACH) < 0) return sys::errno_error("unmount old root");
    if (::chdir("/") < 0) return sys::errno_error("chdir", "/");
    return {};
}

Status mask_paths(int root_fd, const spec::Linux& linux) {
    if (linux.masked_paths.empty()) return {};
    // Mask with a /dev/null that is verified to be the null device (CVE-2025-31133).
    HAKO_ASSIGN(auto null, sys::open_in_root(root_fd, "/dev/null", O_PATH));
    struct stat st {};
    if (::fstat(null.get(), &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
        return sys::plain_error(
            "linux.maskedPaths: /dev/null in the container is not the null "
            "device; refusing to mask with it");
    for (const auto& p : linux.masked_paths) {
        auto target = sys::open_in_root(root_fd, p, O_PATH);
        if (!target && target.error().err == ENOENT) continue;
        if (!target) return sys::fail(target.error());
        if (::fstat(target->get(), &st) < 0) return sys::errno_error("stat", p);
        if (S_ISDIR(st.st_mode)) {
            HAKO_ASSIGN(auto fs, sys::FsContext::open("tmpfs", p));
            HAKO_ASSIGN(auto mnt, fs.mount(MOUNT_ATTR_RDONLY));
            HAKO_TRY(sys::move_mount_to(mnt.get(), target->get(), p));
        } else {
            HAKO_ASSIGN(auto tree, sys::clone_tree(null.get(), "", false));
            HAKO_TRY(sys::move_mount_to(tree.get(), target->get(), p));
        }
    }
    return {};
}

Status readonly_paths(int root_fd, const spec::Linux& linux) {
    for (const auto& p : linux.readonly_paths) {
        auto target = sys::open_in_root(root_fd, p, O_PATH);
        if (!target && target.error().err == ENOENT) continue;
        if (!target) return sys::fail(target.error());
        HAKO_ASSIGN(auto tree, sys::clone_tree(target->get(), "", true));
        HAKO_TRY(sys::set_mount_attr(
            tree.get(),
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0,
            true, p));
        HAKO_TRY(sys::move_mount_to(tree.get(), target->get(), p));
    }
    return {};
}

}  // namespace

std::string mount_hint(const spec::Mount& m, const spec::Linux& linux, int err) {
    const auto* user = linux.find_namespace(NamespaceType::kUser);
    // (uid=/gid= options naming unmapped ids, the devpts trap, are refused by
    // spec::parse_config before anything is mounted.)
    if (err == EPERM && user != nullptr) {
        if (m.type == "sysfs" && linux.find_namespace(NamespaceType::kNetwork) == nullptr)
            return "sysfs can be mounted in a user namespace only with a network namespace of "
                   "its own; add one or bind-mount /sys";
        if (m.type == "proc" && linux.find_namespace(NamespaceType::kPid) == nullptr)
            return "proc can be mounted in a user namespace only with a pid namespace of its "
                   "own; add one or bind-mount /proc";
        if (m.type == "mqueue" && linux.find_namespace(NamespaceType::kIpc) == nullptr)
            return "mqueue can be mounted in a user namespace only with an ipc namespace of its "
                   "own; add one or bind-mount /dev/mqueue";
    }
    return {};
}

// runtime.md: prestart and createRuntime hooks run in the runtime namespace (the parent does it
// while we wait), then createContainer hooks in the container namespace, path resolved in the
// runtime's (we have not pivoted yet, so host paths are still visible).
Status run_create_hooks(const InitContext& ctx, int* host_pid) {
    const spec::Hooks& h = ctx.spec->hooks;
    if (h.prestart.empty() && h.create_runtime.empty() && h.create_container.empty() &&
        h.start_container.empty())
        return {};
    HAKO_TRY(send_message(ctx.sync_fd, SyncType::kRunHooks));
    HAKO_ASSIGN(auto m, receive_message(ctx.sync_fd));
    if (!m || (m)->type != SyncType::kHooksDone)
        return sys::plain_error("hooks: the hako parent did not finish the runtime hooks");
    *host_pid = (m)->pid;
    std::string state = hook_state_json(*ctx.spec, ctx.id, "created", *host_pid);
    for (std::size_t i = 0; i < h.create_container.size(); ++i)
        HAKO_TRY(run_hook(h.create_container[i], state,
                          "hooks.createContainer[" + std::to_string(i) + "]"));
    return {};
}

// The container shares the runtime's mount namespace: nothing is mounted (it would change the
// host's mount table and outlive the container; create warned of what is left out), and the
// rootfs is entered with chroot(2), as runc and crun do.
Status enter_shared_rootfs(const InitContext& ctx, int* host_pid, sys::UniqueFd* console) {
    const spec::Spec& s = *ctx.spec;
    HAKO_ASSIGN(auto root, sys::open_path(s.root.path, O_PATH | O_DIRECTORY));
    if (s.process && s.process->terminal) {
        HAKO_ASSIGN(auto slave, open_console(root.get(), *s.process, ctx.sync_fd, true));
        *console = std::move(slave);
    }
    HAKO_TRY(run_create_hooks(ctx, host_pid));
    if (::fchdir(root.get()) < 0) return sys::errno_error("chdir", s.root.path);
    if (::chroot(".") < 0) return sys::errno_error("chroot", s.root.path);
    return {};
}

Status setup_rootfs(const InitContext& ctx, const std::vector<sys::UniqueFd>& sources,
                    int* host_pid, sys::UniqueFd* console, int detached_procfs) {
    const spec::Spec& s = *ctx.spec;
    if (ctx.shared_mounts) return enter_shared_rootfs(ctx, host_pid, console);
    const std::string& prop = s.linux.rootfs_propagation;
    // Nothing done in here may reach the host: cut propagation towards it first.
    unsigned long root_flags =
        (prop == "private" || prop == "rprivate") ? MS_PRIVATE | MS_REC : MS_SLAVE | MS_REC;
    if (::mount(nullptr, "/", nullptr, root_flags, nullptr) < 0)
        return sys::errno_error("set propagation of", "/");
    // pivot_root needs the new root to be a mount point: bind the rootfs onto itself.
    if (::mount(s.root.path.c_str(), s.root.path.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) {
        auto e = sys::errno_error("bind mount rootfs", s.root.path);
        if (errno == EACCES && s.linux.find_namespace(NamespaceType::kUser) != nullptr)
            e.value().hint =
                "the container's root user (mapped to host uid " +
                std::to_string(s.linux.uid_mappings.empty() ? 0 : s.linux.uid_mappings[0].host_id) +
                ") cannot reach the rootfs; every directory above it must be "
                "searchable by that uid (chmod o+x)";
        return e;
    }
    HAKO_ASSIGN(auto root, sys::open_path(s.root.path, O_PATH | O_DIRECTORY));
    for (std::size_t i = 0; i < s.mounts.size(); ++i) {
        auto st = mount_one(ctx, root.get(), i, i < sources.size() ? sources[i].get() : -1);
        if (!st) {
            // The config entry as the error's field; with the destination too unless the
            // error's path already is it.
            const std::string& dest = s.mounts[i].destination;
            std::string field = "mounts[" + std::to_string(i) + "]";
            if (st.error().path.rfind(dest, 0) != 0) field += " (" + dest + ")";
            return sys::fail(std::move(st.error()).in(field));
        }
    }
    HAKO_TRY(setup_dev(root.get(), s));
    if (s.process && s.process->terminal) {
        HAKO_ASSIGN(auto slave, open_console(root.get(), *s.process, ctx.sync_fd, true));
        *console = std::move(slave);
    }
    HAKO_TRY(finish_readonly_tmpfs(root.get(), s));
    HAKO_TRY(run_create_hooks(ctx, host_pid));
    HAKO_TRY(pivot(root.get(), ctx.no_pivot, detached_procfs));
    HAKO_ASSIGN(auto new_root, sys::open_path("/", O_PATH | O_DIRECTORY));
    HAKO_TRY(mask_paths(new_root.get(), s.linux));
    HAKO_TRY(readonly_paths(new_root.get(), s.linux));
    if (s.root.readonly)
        HAKO_TRY(sys::set_mount_attr(new_root.get(), MOUNT_ATTR_RDONLY, 0, 0, false, "/"));
    if (prop == "shared" || prop == "rshared" || prop == "unbindable" || prop == "runbindable") {
        unsigned long p = prop.find("shared") != std::string::npos ? MS_SHARED : MS_UNBINDABLE;
        HAKO_TRY(sys::set_mount_attr(new_root.get(), 0, 0, p, prop[0] == 'r', "/"));
    }
    return {};
}

bool is_bind_mount(const spec::Mount& m) {
    return is_bind(m, spec::parse_mount_options(m.options));
}

std::vector<std::string> default_device_paths() {
    std::vector<std::string> paths;
    for (const auto& d : kDefaultDevices) paths.emplace_back(d.path);
    return paths;
}

sys::Result<std::vector<sys::UniqueFd>> receive_mount_sources(const InitContext& ctx) {
    std::vector<sys::UniqueFd> sources;
    const spec::Spec& s = *ctx.spec;
    bool any_bind = std::any_of(s.mounts.begin(), s.mounts.end(), is_bind_mount);
    if (ctx.shared_mounts || !any_bind || s.linux.find_namespace(NamespaceType::kUser) == nullptr)
        return sources;
    sources.resize(s.mounts.size());
    HAKO_TRY(send_message(ctx.sync_fd, SyncType::kNeedMountSources));
    for (;;) {
        sys::UniqueFd fd;
        HAKO_ASSIGN(auto m, receive_message(ctx.sync_fd, &fd));
        if (!m) return sys::plain_error("mounts: the hako parent went away");
        if ((m)->type == SyncType::kMountSourcesDone) return sources;
        auto i = static_cast<std::size_t>((m)->pid);
        if ((m)->type != SyncType::kMountSource || i >= sources.size())
            return sys::plain_error("mounts: unexpected message from the hako parent");
        sources[i] = std::move(fd);
    }
}

sys::Status send_mount_sources(int sync_fd, const spec::Spec& s, pid_t pid) {
    // /proc/PID/root is the init's root in its own mount namespace (not pivoted yet): a path
    // resolved through it with our credentials lands on the init's mounts, which it may clone.
    std::string root = "/proc/" + std::to_string(pid) + "/root";
    for (std::size_t i = 0; i < s.mounts.size(); ++i) {
        const auto& m = s.mounts[i];
        if (!is_bind_mount(m) || m.source.empty() || m.source[0] != '/') continue;
        auto fd = sys::open_path(root + m.source, O_PATH | O_CLOEXEC);
        if (!fd) continue;  // the init tries itself, and reports what it finds
        HAKO_TRY(
            send_fd_message(sync_fd, SyncType::kMountSource, fd->get(), static_cast<pid_t>(i)));
    }
    return send_message(sync_fd, SyncType::kMountSourcesDone);
}

}  // namespace sandbox
