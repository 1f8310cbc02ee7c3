#include "spec/mount_options.h"

#include <linux/mount.h>
#include <sys/mount.h>

#include <array>
#include <string_view>

#include "spec/names.h"

namespace spec {
namespace {

struct FlagOption {
    std::string_view name;
    bool clear;  // the option turns the flag off
    unsigned long flag;
};

constexpr std::array<FlagOption, 26> kFlags = {{
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},
}};

constexpr std::array<std::pair<std::string_view, unsigned long>, 8> kPropagation = {{
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
}};

struct AttrOption {
    std::string_view name;
    bool clear;
    std::uint64_t attr;
};

// The recursive forms, applied with mount_setattr(AT_RECURSIVE) (runc's "rro" and friends).
constexpr std::array<AttrOption, 11> kAttrs = {{
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
}};

// The atime mode is one value in a 3-bit field: setting it means clearing MOUNT_ATTR__ATIME and
// setting the mode (MOUNT_ATTR_RELATIME is 0).
constexpr std::array<std::pair<std::string_view, std::uint64_t>, 5> kAtimeAttrs = {{
    {"rrelatime", MOUNT_ATTR_RELATIME},
    {"ratime", MOUNT_ATTR_RELATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME},
    {"rnorelatime", MOUNT_ATTR_STRICTATIME},
}};

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options) {
    MountOptions out;
    for (const std::string& opt : options) {
        bool done = false;
        for (const auto& f : kFlags) {
            if (opt != f.name) continue;
            if (f.clear) {
                out.flags &= ~f.flag;
                out.cleared |= f.flag;
            } else {
                out.flags |= f.flag;
                out.cleared &= ~f.flag;
            }
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& [name, flag] : kPropagation) {
            if (opt != name) continue;
            out.propagation.push_back(flag);
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& a : kAttrs) {
            if (opt != a.name) continue;
            (a.clear ? out.attr_clr : out.attr_set) |= a.attr;
            done = true;
            break;
        }
        if (done) continue;
        for (const auto& [name, mode] : kAtimeAttrs) {
            if (opt != name) continue;
            out.attr_set = (out.attr_set & ~std::uint64_t{MOUNT_ATTR__ATIME}) | mode;
            out.attr_clr |= MOUNT_ATTR__ATIME;
            done = true;
            break;
        }
        if (done) continue;
        if (opt == "bind") {
            out.bind = true;
        } else if (opt == "rbind") {
            out.bind = out.recursive_bind = true;
        } else if (opt == "tmpcopyup") {
            out.tmpcopyup = true;
        } else if (opt == "idmap" || opt == "ridmap") {
            out.idmap = true;
        } else if (opt == "symfollow" || opt == "rsymfollow") {
            // the default; nothing to do
        } else if (opt == "nosymfollow") {
            out.flags |= MS_NOSYMFOLLOW;
        } else {
            if (!out.data.empty()) out.data += ',';
            out.data += opt;
        }
    }
    return out;
}

std::optional<std::string> closest_mount_option(std::string_view wrong) {
    // The generic options, and the data options the filesystems of a container take most.
    static constexpr std::array<std::string_view, 12> kData = {
        "mode",        "size",     "uid",  "gid",   "nr_inodes", "nr_blocks",
        "newinstance", "ptmxmode", "bind", "rbind", "idmap",     "ridmap"};
    std::string_view key = wrong.substr(0, wrong.find('='));
    std::optional<std::string> best;
    std::size_t best_distance = 3;  // at most 2 edits
    auto consider = [&](std::string_view name) {
        std::size_t d = edit_distance(key, name);
        if (d < best_distance && d > 0) {
            best_distance = d;
            best = std::string(name);
        }
    };
    for (const auto& f : kFlags) consider(f.name);
    for (const auto& p : kPropagation) consider(p.first);
    for (const auto& a : kAttrs) consider(a.name);
    for (const auto& a : kAtimeAttrs) consider(a.first);
    for (auto d : kData) consider(d);
    return best;
}

}  // namespace spec
