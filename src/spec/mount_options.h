// How a mount's `options` strings translate into mount(2) flags, propagation changes,
// mount_setattr(2) recursive attributes and the filesystem's data string. Pure logic.
#pragma once

#include <sys/mount.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spec {

struct MountOptions {
    unsigned long flags = 0;                 // MS_RDONLY, MS_NOSUID, ... to set at mount time
    unsigned long cleared = 0;               // flags explicitly turned off ("rw", "suid", ...)
    std::vector<unsigned long> propagation;  // MS_SHARED|MS_REC, ... applied after mounting
    std::uint64_t attr_set = 0;              // MOUNT_ATTR_* applied recursively ("rro", "rnosuid")
    std::uint64_t attr_clr = 0;
    bool bind = false;
    bool recursive_bind = false;
    bool tmpcopyup = false;
    bool idmap = false;  // "idmap"/"ridmap": mount is id-mapped
    std::string data;    // everything else, comma-joined, for the filesystem
};

MountOptions parse_mount_options(const std::vector<std::string>& options);

// The known option closest to a misspelt one (at most two edits), for "did you mean" hints.
std::optional<std::string> closest_mount_option(std::string_view wrong);

// Flags that matter for a bind remount (MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, atime ones).
constexpr unsigned long kBindRemountMask = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                           MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
                                           MS_STRICTATIME | MS_NOSYMFOLLOW;

}  // namespace spec
