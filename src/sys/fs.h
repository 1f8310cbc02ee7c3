// Filesystem helpers. Paths inside a container's rootfs are always resolved against a rootfs fd
// with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so a symlink planted in the rootfs can
// never lead outside it (CVE-2021-30465 and its descendants).
#pragma once

#include <dirent.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sys {

Result<UniqueFd> open_path(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> open_at(int dir, const std::string& path, int flags, mode_t mode = 0);
// Open `path` below the root `root_fd`; absolute paths and ".." stay inside the root.
Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags, mode_t mode = 0);
// Create every missing directory of `path` below `root_fd` and return an O_PATH fd to it.
Result<UniqueFd> mkdir_all_in_root(int root_fd, const std::string& path, mode_t mode = 0755);
// Create an empty regular file at `path` below `root_fd` (parents too) unless something is there.
Result<UniqueFd> make_file_in_root(int root_fd, const std::string& path);

Result<std::string> read_file(const std::string& path);
Result<std::string> read_fd(int fd);
Status write_file(const std::string& path, std::string_view data, int flags = 0);
// Write to a temporary file in the same directory, then rename over `path`. With `exchange`,
// for a regular file of hako's own that is replaced again and again (state.json): swapped with
// the old one, which is then unlinked (see write_file_atomic in fs.cc).
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                         bool exchange = false);
Status write_all(int fd, std::string_view data, const std::string& what);
// mkdir -p on the host; appends each directory it created (outermost first) to `created`.
Status mkdir_all(const std::string& path, mode_t mode, std::vector<std::string>* created = nullptr);
// rm -rf of a directory tree that hako owns (a state directory); does not cross mounts.
Status remove_all(const std::string& path);

// Close every fd from `first` up, except those in `keep` (CVE-2024-21626: what the container
// could reach through /proc/self/fd/N must be what it was given, nothing of the host's).
Status close_fds_except(int first, std::vector<int> keep);
// The working directory, which must be below the process's root: getcwd(2) says
// "(unreachable)" for one outside it (a directory fd of the host's that the process entered).
Status check_cwd_inside_root(const std::string& what);

// An open directory stream, closed when it goes: the one owner of a DIR*.
class DirStream {
public:
    // opendir(path); the error's errno is ENOENT when there is no such directory.
    static Result<DirStream> open(const std::string& path);
    // fdopendir: the stream takes the fd.
    static Result<DirStream> adopt(UniqueFd fd, const std::string& shown);
    // The next entry other than "." and "..", or nullptr at the end.
    const dirent* next();
    [[nodiscard]] int fd() const { return ::dirfd(dir_.get()); }

private:
    struct Close {
        void operator()(DIR* d) const { ::closedir(d); }
    };
    explicit DirStream(DIR* d) : dir_(d) {}
    std::unique_ptr<DIR, Close> dir_;
};

// "/proc/self/fd/N": the path through which the kernel reaches the object behind fd N.
std::string fd_path(int fd);
// Whether fd and path name the same inode (false when path cannot be stat'ed).
bool same_file(int fd, const std::string& path);
// Lexically clean a path: collapse "//", ".", and ".." (never above "/").
std::string clean_path(std::string_view path);
// Join, keeping `rel` below `base` lexically.
std::string join_path(std::string_view base, std::string_view rel);

}  // namespace sys
