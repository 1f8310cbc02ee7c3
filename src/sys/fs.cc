#include "sys/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>  // renameat2
#include <cstring>

namespace sys {

Result<UniqueFd> open_path(const std::string& path, int flags, mode_t mode) {
    return open_at(AT_FDCWD, path, flags, mode);
}

Result<UniqueFd> open_at(int dir, const std::string& path, int flags, mode_t mode) {
    int fd = ::openat(dir, path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return errno_error("open", path);
    return UniqueFd(fd);
}

Result<UniqueFd> open_in_root(int root_fd, const std::string& path, int flags, mode_t mode) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) != 0 ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel = path.empty() ? "." : path;
    for (;;) {
        long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
        if (fd >= 0) return UniqueFd(static_cast<int>(fd));
        if (errno != EAGAIN && errno != EINTR) break;  // EAGAIN: a rename raced the walk
    }
    return errno_error("open", path);
}

namespace {
// `depth` bounds how many symlinks we follow by creating their targets (ELOOP past 40, as the
// kernel's own path walk).
Result<UniqueFd> mkdir_all_in_root_depth(int root_fd, const std::string& path, mode_t mode,
                                         int depth) {
    std::string clean = clean_path(path);
    // Mostly the directory is there: one lookup (resolved in the root as the walk's are), and
    // the walk only for what is missing or not a directory.
    auto whole = open_in_root(root_fd, clean, O_PATH | O_DIRECTORY);
    if (whole || (whole.error().err != ENOENT && whole.error().err != ENOTDIR)) return whole;
    // Next most often only the last component is missing (/dev/pts in a fresh /dev): its
    // parent, the mkdir, the lookup again. Anything else (a dangling symlink, a race) walks.
    if (std::size_t slash = clean.rfind('/');
        whole.error().err == ENOENT && slash > 0 && slash != std::string::npos && depth == 0) {
        auto parent = open_in_root(root_fd, clean.substr(0, slash), O_PATH | O_DIRECTORY);
        if (parent && ::mkdirat(parent->get(), clean.c_str() + slash + 1, mode) == 0) {
            auto made = open_in_root(root_fd, clean, O_PATH | O_DIRECTORY);
            if (made) return made;
        }
    }
    auto cur = open_in_root(root_fd, "/", O_PATH | O_DIRECTORY);
    if (!cur) return cur;
    std::string walked;
    size_t pos = 1;
    while (pos < clean.size()) {
        size_t next = clean.find('/', pos);
        if (next == std::string::npos) next = clean.size();
        std::string part = clean.substr(pos, next - pos);
        std::string parent = walked.empty() ? "/" : walked;
        walked += "/" + part;
        pos = next + 1;
        // Each component is resolved in the root again, so a symlink component stays inside.
        auto child = open_in_root(root_fd, walked, O_PATH | O_DIRECTORY);
        if (!child && child.error().err == ENOENT) {
            if (::mkdirat(cur->get(), part.c_str(), mode) < 0 && errno != EEXIST)
                return errno_error("mkdir", walked);
            child = open_in_root(root_fd, walked, O_PATH | O_DIRECTORY);
            char target[4096];
            ssize_t n = 0;
            if (!child && child.error().err == ENOENT &&
                (n = ::readlinkat(cur->get(), part.c_str(), target, sizeof target - 1)) > 0) {
                // A symlink whose target is missing: make the target, inside the root (as
                // runc's MkdirAllInRoot does), then walk on through the link.
                if (depth >= 40) return fail(SysError{"mkdir", walked, ELOOP, {}});
                std::string t(target, static_cast<size_t>(n));
                std::string inside = t[0] == '/' ? t : join_path(parent, t);
                auto made = mkdir_all_in_root_depth(root_fd, inside, mode, depth + 1);
                if (!made) return made;
                child = open_in_root(root_fd, walked, O_PATH | O_DIRECTORY);
            }
        }
        if (!child) {
            if (child.error().err == ENOTDIR)
                child.error().hint = "a component of the path exists and is not a directory";
            return child;
        }
        cur = std::move(child);
    }
    return cur;
}
}  // namespace

Result<UniqueFd> mkdir_all_in_root(int root_fd, const std::string& path, mode_t mode) {
    return mkdir_all_in_root_depth(root_fd, path, mode, 0);
}

Result<UniqueFd> make_file_in_root(int root_fd, const std::string& path) {
    std::string clean = clean_path(path);
    if (auto existing = open_in_root(root_fd, clean, O_PATH); existing) return existing;
    size_t slash = clean.rfind('/');
    std::string parent = slash == 0 ? "/" : clean.substr(0, slash);
    auto dir = mkdir_all_in_root(root_fd, parent);
    if (!dir) return dir;
    std::string name = clean.substr(slash + 1);
    // O_PATH dirs cannot be used for openat with O_CREAT: reopen the parent for real.
    auto real_dir = open_at(dir->get(), ".", O_RDONLY | O_DIRECTORY);
    if (!real_dir) return real_dir;
    int fd =
        ::openat(real_dir->get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) return errno_error("create", clean);
    UniqueFd created(fd);
    return open_in_root(root_fd, clean, O_PATH);
}

Result<std::string> read_fd(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;  // a non-blocking fd: what is there so far
        if (n < 0) return errno_error("read", fd_path(fd));
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    return out;
}

Result<std::string> read_file(const std::string& path) {
    auto fd = open_path(path, O_RDONLY);
    if (!fd) return fail(fd.error());
    auto data = read_fd(fd->get());
    if (!data) return fail(SysError{"read", path, data.error().err, {}});
    return data;
}

Status write_all(int fd, std::string_view data, const std::string& what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("write", what);
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Status write_file(const std::string& path, std::string_view data, int flags) {
    auto fd = open_path(path, O_WRONLY | flags, 0644);
    if (!fd) return fail(fd.error());
    return write_all(fd->get(), data, path);
}

Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                         bool exchange) {
    std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        auto fd = open_path(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL, mode);
        if (!fd) return fail(fd.error());
        if (auto w = write_all(fd->get(), data, tmp); !w) {
            ::unlink(tmp.c_str());
            return w;
        }
    }
    // Over an existing file, an exchange and an unlink of the old one: a plain rename over it
    // makes ext4 write the new file's blocks out at once (auto_da_alloc), and freeing them
    // later costs a synchronous discard on a `discard` mount; readers see one or the other file
    // whole either way.
    // Only where the caller owns `path` (a user's pid file could be a directory, moved aside).
    if (exchange &&
        ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) {
        ::unlink(tmp.c_str());  // the old contents
        return {};
    }
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        auto e = errno_error("rename", tmp + " to " + path);
        ::unlink(tmp.c_str());
        return e;
    }
    return {};
}

Status mkdir_all(const std::string& path, mode_t mode, std::vector<std::string>* created) {
    std::string clean = clean_path(path);
    size_t pos = 1;
    while (pos <= clean.size()) {
        size_t next = clean.find('/', pos);
        if (next == std::string::npos) next = clean.size();
        std::string prefix = clean.substr(0, next);
        if (::mkdir(prefix.c_str(), mode) == 0) {
            if (created != nullptr) created->push_back(prefix);
        } else if (errno != EEXIST) {
            return errno_error("mkdir", prefix);
        }
        pos = next + 1;
    }
    return {};
}

Result<DirStream> DirStream::open(const std::string& path) {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return errno_error("open directory", path);
    return DirStream(d);
}

Result<DirStream> DirStream::adopt(UniqueFd fd, const std::string& shown) {
    DIR* d = ::fdopendir(fd.get());
    if (d == nullptr) return errno_error("opendir", shown);
    (void)fd.release();  // the stream's now
    return DirStream(d);
}

const dirent* DirStream::next() {
    while (const dirent* e = ::readdir(dir_.get())) {
        std::string_view name = e->d_name;
        if (name != "." && name != "..") return e;
    }
    return nullptr;
}

namespace {
Status remove_tree_at(int dir_fd, const std::string& name, const std::string& shown, dev_t dev) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? Status{} : errno_error("stat", shown);
    if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
        auto fd = open_at(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        if (!fd) return fail(SysError{"open", shown, fd.error().err, {}});
        auto d = DirStream::adopt(std::move(*fd), shown);
        if (!d) return fail(d.error());
        while (const dirent* e = d->next()) {
            std::string child = e->d_name;
            HAKO_TRY(remove_tree_at(d->fd(), child, shown + "/" + child, dev));
        }
        if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT)
            return errno_error("rmdir", shown);
        return {};
    }
    if (::unlinkat(dir_fd, name.c_str(), 0) < 0 && errno != ENOENT)
        return errno_error("unlink", shown);
    return {};
}
}  // namespace

Status remove_all(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) < 0)
        return errno == ENOENT ? Status{} : errno_error("stat", path);
    return remove_tree_at(AT_FDCWD, path, path, st.st_dev);
}

Status close_fds_except(int first, std::vector<int> keep) {
    std::sort(keep.begin(), keep.end());
    auto lo = static_cast<unsigned>(first);
    for (int k : keep) {
        if (k < first || static_cast<unsigned>(k) < lo) continue;
        auto fd = static_cast<unsigned>(k);
        if (fd > lo && ::syscall(SYS_close_range, lo, fd - 1, 0) < 0)
            return errno_error("close_range", std::to_string(lo) + "-" + std::to_string(fd - 1));
        lo = fd + 1;
    }
    if (::syscall(SYS_close_range, lo, ~0U, 0) < 0)
        return errno_error("close_range", std::to_string(lo) + "-");
    return {};
}

Status check_cwd_inside_root(const std::string& what) {
    std::array<char, PATH_MAX> buf{};
    // The raw syscall: glibc's getcwd turns "(unreachable)" into ENOENT, and so hides which.
    long n = ::syscall(SYS_getcwd, buf.data(), buf.size());
    if (n < 0) return errno_error(what + ": getcwd");
    std::string_view cwd(buf.data());
    if (cwd.rfind('/', 0) != 0)
        return fail(SysError{what, std::string(cwd), 0,
                             "the working directory is outside the container's root "
                             "(CVE-2024-21626); it must be a directory inside the rootfs"});
    return {};
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string clean_path(std::string_view path) {
    std::vector<std::string_view> parts;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t next = path.find('/', pos);
        if (next == std::string_view::npos) next = path.size();
        std::string_view part = path.substr(pos, next - pos);
        if (part == "..") {
            if (!parts.empty()) parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        pos = next + 1;
    }
    std::string out;
    for (auto p : parts) {
        out += '/';
        out += p;
    }
    return out.empty() ? "/" : out;
}

std::string join_path(std::string_view base, std::string_view rel) {
    std::string b(base);
    std::string r = clean_path(rel);
    if (b.empty()) return r;
    if (b.back() == '/') b.pop_back();
    return r == "/" ? (b.empty() ? "/" : b) : b + r;
}

bool same_file(int fd, const std::string& path) {
    struct stat a {
    }, b{};
    if (::fstat(fd, &a) < 0 || ::stat(path.c_str(), &b) < 0) return false;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace sys
