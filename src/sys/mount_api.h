// The new mount API (fsopen/fsconfig/fsmount, open_tree, move_mount, mount_setattr): every
// mount is made on a detached tree and attached onto an fd that was resolved inside the rootfs,
// and a filesystem that refuses an option says why in its fs context log.
#pragma once

#include <cstdint>
#include <string>

#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sys {

// A new filesystem instance being configured (fsopen).
class FsContext {
public:
    static Result<FsContext> open(const std::string& fstype, const std::string& shown_target);
    // "mode=0620" -> SET_STRING, "newinstance" -> SET_FLAG.
    Status set(const std::string& option);
    Status set_string(const std::string& key, const std::string& value);
    Status set_flag(const std::string& key);
    // Create the superblock and return a detached mount with the given MOUNT_ATTR_* flags.
    Result<UniqueFd> mount(std::uint64_t attrs);

private:
    FsContext(UniqueFd fd, std::string fstype, std::string target)
        : fd_(std::move(fd)), fstype_(std::move(fstype)), target_(std::move(target)) {}
    // What the filesystem logged about the failure ("e devpts: ...").
    std::string kernel_log();
    SysError error(const std::string& what, int err);

    UniqueFd fd_;
    std::string fstype_, target_;
};

// open_tree(OPEN_TREE_CLONE): a detached copy of the mount at `path` (recursive if asked).
Result<UniqueFd> clone_tree(int dir, const std::string& path, bool recursive);
// Attach a detached mount onto the object `target_fd` refers to.
Status move_mount_to(int mount_fd, int target_fd, const std::string& shown_target);
// mount_setattr on the mount `fd` refers to (AT_RECURSIVE if asked).
Status set_mount_attr(int fd, std::uint64_t set, std::uint64_t clr, std::uint64_t propagation,
                      bool recursive, const std::string& shown_target);

// MOUNT_ATTR_IDMAP with the maps of the user namespace `userns_fd`, on a detached mount.
Status set_mount_idmap(int fd, int userns_fd, bool recursive, const std::string& shown_target);

// MS_* mount flags that map to mount attributes (nosuid, nodev, noexec, ro, atime) as MOUNT_ATTR_*.
std::uint64_t mount_attrs_from_flags(unsigned long flags);

}  // namespace sys
