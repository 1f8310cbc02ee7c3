#include "runtime/criu.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "runtime/internal.h"
#include "runtime/log.h"
#include "runtime/state_store.h"
#include "sandbox/rootfs.h"
#include "sys/clone.h"
#include "sys/fs.h"
#include "sys/mount_api.h"
#include "sys/proc.h"
#include "sys/text.h"

namespace runtime {
namespace criu {
namespace {

using spec::NamespaceType;

std::string hex(unsigned long v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lx", v);
    return buf;
}

std::string absolute(const std::string& path) {
    if (!path.empty() && path[0] == '/') return sys::clean_path(path);
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
    return sys::join_path(cwd, path);
}

// criu's config file for the container, as runc picks it: the annotation org.criu.config
// (empty: none), else /etc/criu/runc.conf (criu skips a file that does not exist).
std::string config_file_of(const spec::Spec& s) {
    auto it = s.annotations.find("org.criu.config");
    return it != s.annotations.end() ? it->second : std::string("/etc/criu/runc.conf");
}

// What checkpoint and restore pass alike.
void common_opts(const CriuOptions& o, const spec::Spec& s, Opts& m) {
    m.config_file = config_file_of(s);
    m.manage_cgroups_mode = o.manage_cgroups_mode;
    m.tcp_established = o.tcp_established;
    m.ext_unix_sk = o.ext_unix_sk;
    m.shell_job = o.shell_job;
    m.file_locks = o.file_locks;
    m.auto_dedup = o.auto_dedup;
    m.lazy_pages = o.lazy_pages;
    // As runc: a terminal's slave whose master is outside the tree is dumped, and restored
    // with a new master handed to us (the orphan-pts-master notification).
    m.orphan_pts_master = true;
    m.notify_scripts = true;
    for (const auto& ns : o.empty_ns)
        if (ns == "network" || ns == "net") m.empty_ns |= CLONE_NEWNET;
}

}  // namespace

std::string log_excerpt(const std::string& log, std::size_t max_lines) {
    auto lines = sys::split(log, '\n');
    std::vector<bool> keep(lines.size(), false);
    constexpr std::size_t kBefore = 3;
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (lines[i].find("Error") != std::string::npos)
            for (std::size_t j = i >= kBefore ? i - kBefore : 0; j <= i; ++j) keep[j] = true;
    std::vector<std::string> out;
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (keep[i]) out.push_back(lines[i]);
    if (out.empty()) {  // no "Error": the log's end
        for (std::size_t i = lines.size() > 5 ? lines.size() - 5 : 0; i < lines.size(); ++i)
            if (!lines[i].empty()) out.push_back(lines[i]);
    }
    if (out.size() > max_lines) out.erase(out.begin(), out.end() - static_cast<long>(max_lines));
    std::string text;
    for (const auto& l : out) text += (text.empty() ? "" : "\n") + l;
    return text;
}

std::string stdio_key(const std::string& link, int mnt_id, unsigned long inode, bool regular) {
    if (link.rfind("pipe:[", 0) == 0) return link;
    if (!regular || mnt_id < 0) return {};
    return "file[" + hex(static_cast<unsigned long>(mnt_id)) + ":" + hex(inode) + "]";
}

std::string image_dir(const CriuOptions& o) {
    return absolute(o.image_path.empty() ? "checkpoint" : o.image_path);
}

std::string log_dir(const CriuOptions& o) {
    return o.work_path.empty() ? image_dir(o) : absolute(o.work_path);
}

std::vector<std::pair<std::string, std::string>> cgroup_binds(
    const spec::Spec& s, const cgroup::Host& host, const std::vector<std::string>& dirs) {
    std::vector<std::pair<std::string, std::string>> binds;
    if (s.linux.find_namespace(NamespaceType::kCgroup) != nullptr) return binds;  // fresh mounts
    for (const auto& m : s.mounts) {
        if (m.type != "cgroup" && m.type != "cgroup2") continue;
        bool unified = host.mode == cgroup::Mode::kUnified;
        for (std::size_t i = 0; i < host.hierarchies.size() && i < dirs.size(); ++i) {
            const auto& mp = host.hierarchies[i].mount_point;
            binds.emplace_back(
                unified ? m.destination : m.destination + "/" + mp.substr(mp.rfind('/') + 1),
                dirs[i]);
            if (unified) break;
        }
    }
    return binds;
}

std::vector<std::pair<std::string, std::string>> device_binds_of(const std::string& mountinfo) {
    std::vector<std::pair<std::string, std::string>> binds;
    for (const auto& line : sys::split(mountinfo, '\n')) {
        auto dash = line.find(" - ");
        if (dash == std::string::npos) continue;
        auto before = sys::split(line.substr(0, dash), ' ');
        auto after = sys::split(line.substr(dash + 3), ' ');
        if (before.size() < 5 || after.empty() || after[0] != "devtmpfs" || before[3] == "/")
            continue;
        binds.emplace_back(before[4], "/dev" + before[3]);
    }
    return binds;
}

Opts dump_opts(const CheckpointOptions& o, const spec::Spec& s, pid_t pid,
               const std::vector<std::string>& stdio_keys,
               const std::vector<std::pair<std::string, std::string>>& host_binds,
               const MountpointOf& mountpoint_of) {
    Opts m;
    m.pid = pid;
    m.log_file = o.pre_dump ? "pre-dump.log" : "dump.log";
    m.root = s.root.path;
    common_opts(o.criu, s, m);
    m.leave_running = o.leave_running && !o.pre_dump;
    m.parent_img = o.parent_path;
    m.track_mem = o.pre_dump || !o.parent_path.empty();
    if (!o.page_server.empty()) {
        auto colon = o.page_server.rfind(':');
        m.ps_address = o.page_server.substr(0, colon);
        if (colon != std::string::npos) m.ps_port = std::atoi(o.page_server.c_str() + colon + 1);
    }
    if (o.pre_dump) return m;
    // The config's bind mounts come from the host: criu finds each at its mountpoint and
    // records it by its destination, and restore says where each one's source is.
    for (const auto& mnt : s.mounts)
        if (sandbox::is_bind_mount(mnt))
            m.external.push_back(
                "mnt[" + (mountpoint_of ? mountpoint_of(mnt.destination) : mnt.destination) +
                "]:" + mnt.destination);
    for (const auto& [place, name] : host_binds) m.external.push_back("mnt[" + place + "]:" + name);
    for (const auto& k : stdio_keys)
        if (k.rfind("file[", 0) == 0) m.external.push_back(k);
    // A namespace joined by path is the caller's: criu leaves it, and restore joins it again.
    for (const auto& n : s.linux.namespaces) {
        if (n.path.empty()) continue;
        if (n.type != NamespaceType::kNetwork && n.type != NamespaceType::kPid) continue;
        struct stat st {};
        if (::stat(n.path.c_str(), &st) == 0)
            m.external.push_back(std::string(spec::namespace_proc_name(n.type)) + "[" +
                                 std::to_string(st.st_ino) + "]:extRoot" +
                                 (n.type == NamespaceType::kNetwork ? "Net" : "Pid") + "NS");
    }
    return m;
}

Opts restore_opts(const RestoreOptions& o, const spec::Spec& s, const std::string& root,
                  const std::vector<std::pair<std::string, std::string>>& cgroup_roots,
                  const std::vector<std::string>& stdio_keys,
                  const std::vector<std::pair<std::string, std::string>>& cgroup_binds) {
    Opts m;
    m.log_file = "restore.log";
    m.root = root;
    m.rst_sibling = true;
    m.evasive_devices = true;
    common_opts(o.criu, s, m);
    m.cg_root = cgroup_roots;
    m.lsm_profile = o.lsm_profile;
    m.lsm_mount_context = o.lsm_mount_context;
    for (const auto& mnt : s.mounts)
        if (sandbox::is_bind_mount(mnt))
            m.external.push_back("mnt[" + mnt.destination + "]:" + mnt.source);
    // The new container's own cgroup directories where the dumped one's were bound.
    for (const auto& [place, dir] : cgroup_binds) m.external.push_back("mnt[" + place + "]:" + dir);
    // The host's device nodes, where a dump in a user namespace found them bound (as runc:
    // named by their paths; a name no dump used is not looked at).
    std::vector<std::string> devices = sandbox::default_device_paths();
    for (const auto& d : s.linux.devices) devices.push_back(d.path);
    for (const auto& d : devices) m.external.push_back("mnt[" + d + "]:" + d);
    // The restored init's stdio is ours: criu hands our fd N to what the dumped one was.
    // One fd per key: stdout and stderr are often the same pipe.
    for (std::size_t fd = 0; fd < stdio_keys.size(); ++fd)
        if (!stdio_keys[fd].empty() &&
            std::find(stdio_keys.begin(), stdio_keys.begin() + static_cast<long>(fd),
                      stdio_keys[fd]) == stdio_keys.begin() + static_cast<long>(fd))
            m.inherit_fd.emplace_back(stdio_keys[fd], static_cast<int>(fd));
    int next_fd = 3;
    for (const auto& n : s.linux.namespaces) {
        if (n.path.empty()) continue;
        if (n.type == NamespaceType::kNetwork || n.type == NamespaceType::kPid) {
            m.inherit_fd.emplace_back(
                std::string("extRoot") + (n.type == NamespaceType::kNetwork ? "Net" : "Pid") + "NS",
                next_fd++);
        } else if (n.type != NamespaceType::kMount) {
            m.join_ns.emplace_back(spec::namespace_proc_name(n.type), n.path);
        }
    }
    return m;
}

namespace {

// A failed step in words: what hako or criu said, the log's excerpt and its path.
sys::SysError failed(const std::string& step, const std::string& what,
                     const std::string& log_path) {
    auto log = sys::read_file(log_path);
    std::string excerpt = log ? log_excerpt(*log, 12) : std::string("(no log: ") + log_path + ")";
    std::string text = step + ": " + what;
    if (!excerpt.empty()) text += "; criu's log says:\n" + excerpt;
    return sys::SysError{text, {}, 0, "the whole log: " + log_path};
}

std::string response_words(const Response& r) {
    std::string words = "criu failed";
    std::string msg = r.cr_errmsg;
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (!msg.empty()) words += ": " + msg;
    if (r.cr_errno != 0) words += std::string(" (") + std::strerror(r.cr_errno) + ")";
    return words;
}

}  // namespace

namespace {

bool below_a_tmpfs(const spec::Spec& s, const std::string& destination) {
    for (const auto& m : s.mounts)
        if (m.type == "tmpfs" && destination.size() > m.destination.size() &&
            destination.compare(0, m.destination.size(), m.destination) == 0 &&
            (destination[m.destination.size()] == '/' || m.destination == "/"))
            return true;
    return false;
}

// prepare_mountpoints's child: what it could not do, or "".
std::string make_mountpoints(const spec::Spec& s) {
    if (::unshare(CLONE_NEWNS) < 0)
        return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
        return std::string("make / rprivate: ") + std::strerror(errno);
    auto root = sys::open_path(s.root.path, O_PATH | O_DIRECTORY);
    if (!root) return root.error().message();
    for (std::size_t i = 0; i < s.mounts.size(); ++i) {
        const auto& m = s.mounts[i];
        if (!sandbox::is_bind_mount(m) || below_a_tmpfs(s, m.destination)) continue;
        std::string what = "mounts[" + std::to_string(i) + "] (" + m.destination + "): ";
        struct stat st {};
        if (::stat(m.source.c_str(), &st) < 0)
            return what + "source " + m.source + ": " + std::strerror(errno);
        auto target = S_ISDIR(st.st_mode) ? sys::mkdir_all_in_root(root->get(), m.destination)
                                          : sys::make_file_in_root(root->get(), m.destination);
        if (!target) return what + target.error().message();
        auto tree = sys::clone_tree(AT_FDCWD, m.source, true);
        if (!tree) return what + tree.error().message();
        auto moved = sys::move_mount_to(tree->get(), target->get(), m.destination);
        if (!moved) return what + moved.error().message();
    }
    return {};
}

}  // namespace

sys::Status prepare_mountpoints(const spec::Spec& s) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return sys::errno_error("pipe");
    sys::UniqueFd r(p[0]), w(p[1]);
    HAKO_ASSIGN(auto cloned, sys::clone3_fork(CLONE_PIDFD));
    if (cloned.pid == 0) {
        r.reset();
        std::string why = make_mountpoints(s);
        (void)!::write(w.get(), why.data(), why.size());
        ::_exit(why.empty() ? 0 : 1);
    }
    w.reset();
    sys::ChildProcess child(cloned.pid, std::move(cloned.pidfd));
    auto why = sys::read_fd(r.get());
    int status = child.wait();
    if (why && !why->empty())
        return sys::plain_error("restore: the bind mounts' mountpoints: " + *why);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return sys::plain_error("restore: making the bind mounts' mountpoints: " +
                                sys::describe_wait_status(status));
    return {};
}

sys::Result<Swrk> spawn_swrk(const Runtime& rt, const SwrkPlace* place,
                             const std::vector<sys::UniqueFd>& fds) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
        return sys::errno_error("socketpair for criu swrk");
    sys::UniqueFd ours(pair[0]), theirs(pair[1]);
    int sock_fd = 3 + static_cast<int>(fds.size());
    std::string fd_arg = std::to_string(sock_fd);
    std::string program = rt.criu;
    char swrk[] = "swrk";
    char* argv[] = {program.data(), swrk, fd_arg.data(), nullptr};
    pid_t parent = ::getpid();
    HAKO_ASSIGN(auto cloned, sys::clone3_fork(CLONE_PIDFD));
    if (cloned.pid == 0) {
        auto die = [](const char* what) {  // what failed, with the errno's words
            const char* why = std::strerror(errno);
            for (const char* part : {"hako: criu: ", what, ": ", why, "\n"})
                (void)!::write(2, part, std::strlen(part));
            ::_exit(126);
        };
        // A dump's criu ends with hako: a lazy dump's page server would otherwise wait for
        // its client forever. (A restore's does not: killed, it would leave its half-restored
        // tasks waiting for it; alive, it sees hako's end of the socket close and undoes them.)
        if (place == nullptr) {
            if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("prctl(PR_SET_PDEATHSIG)");
            if (::getppid() != parent) ::_exit(126);  // hako is already gone
        }
        if (place != nullptr) {
            if (::unshare(CLONE_NEWNS) < 0) die("unshare(CLONE_NEWNS) for criu");
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
                die("make / rprivate in criu's mount namespace");
            if (::mount(place->rootfs.c_str(), place->root.c_str(), nullptr, MS_BIND | MS_REC,
                        nullptr) < 0)
                die("bind the rootfs on criu-root");
            for (const auto& p : place->procs) {
                int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
                if (fd < 0 || ::write(fd, "0", 1) != 1)
                    die("join the container's cgroup (cgroup.procs)");
                ::close(fd);
            }
        }
        // Each first above every fd still to be moved, so that no dup2 overwrites one of them.
        int high = sock_fd + 64;
        for (const auto& f : fds)
            if (::fcntl(f.get(), F_DUPFD, high++) < 0) die("dup an fd for criu");
        if (::fcntl(theirs.get(), F_DUPFD, high) < 0) die("dup the socket for criu");
        high = sock_fd + 64;
        for (int target = 3; target <= sock_fd; ++target)
            if (::dup2(high++, target) < 0) die("dup2 an fd for criu");
        if (place == nullptr) {  // a dump: criu's words are in its log and its response (as
                                 // runc, whose criu has no stdio; a pre-dump's criu complains
                                 // there when the socket closes after its one request)
            int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
            for (int fd = 0; fd < 3; ++fd)
                if (null < 0 || ::dup2(null, fd) < 0) die("/dev/null as criu's stdio");
        }
        ::syscall(SYS_close_range, static_cast<unsigned>(sock_fd + 1), ~0U, 0U);
        // Placed: tell hako, which opens criu's directories in this mount namespace.
        if (place != nullptr && ::write(sock_fd, "ready", 5) != 5) die("tell hako criu is placed");
        ::execvp(argv[0], argv);
        ::_exit(127);
    }
    Swrk criu{sys::ChildProcess(cloned.pid, std::move(cloned.pidfd)), std::move(ours),
              place != nullptr};
    theirs.reset();
    if (criu.placed) {
        char word[8] = {};
        ssize_t n = -1;
        do {
            n = ::recv(criu.sock.get(), word, sizeof word, 0);
        } while (n < 0 && errno == EINTR);
        if (n != 5) {
            int status = criu.process.wait();
            return sys::plain_error("criu's mount namespace and cgroups could not be made (" +
                                    sys::describe_wait_status(status) + ")");
        }
    }
    return criu;
}

sys::Result<Response> run(const Runtime& rt, Swrk criu, const std::string& step, ReqType type,
                          const Opts& o, const NotifyHandler& on_notify,
                          const std::string& log_path) {
    rt.log.debug(step + ": criu swrk, pid " + std::to_string(criu.process.pid()));
    std::string handler_error;
    auto resp = converse(criu.sock.get(), type, o, on_notify, &handler_error);
    criu.sock.reset();  // criu's EOF: a pre-dump's criu waits for more requests until then
    int status = criu.process.wait();
    if (!handler_error.empty()) return sys::plain_error(step + ": " + handler_error);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return sys::plain_error(step + ": cannot run " + rt.criu,
                                "install CRIU (Debian: apt-get install criu) or pass --criu PATH");
    if (!resp)
        return sys::fail(failed(
            step, resp.error().message() + " (criu " + sys::describe_wait_status(status) + ")",
            log_path));
    if (!resp->success) return sys::fail(failed(step, response_words(*resp), log_path));
    bool exited_well = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!exited_well && type != ReqType::kPreDump)
        return sys::fail(failed(step, "criu " + sys::describe_wait_status(status), log_path));
    return resp;
}

std::vector<std::string> stdio_keys_of(pid_t pid) {
    std::vector<std::string> keys;
    auto mountinfo = sys::read_file("/proc/" + std::to_string(pid) + "/mountinfo");
    std::vector<std::string> inside;  // mount ids of the container's own mounts
    if (mountinfo)
        for (const auto& line : sys::split(*mountinfo, '\n'))
            if (!line.empty()) inside.push_back(line.substr(0, line.find(' ')));
    for (int fd = 0; fd < 3; ++fd) {
        std::string base = "/proc/" + std::to_string(pid);
        char link[4096];
        auto n = ::readlink((base + "/fd/" + std::to_string(fd)).c_str(), link, sizeof link - 1);
        if (n < 0) {
            keys.emplace_back();
            continue;
        }
        link[n] = '\0';
        int mnt_id = -1;
        if (auto info = sys::read_file(base + "/fdinfo/" + std::to_string(fd)))
            for (const auto& line : sys::split(*info, '\n'))
                if (line.rfind("mnt_id:", 0) == 0) mnt_id = std::atoi(line.c_str() + 7);
        struct stat st {};
        bool outside =
            std::find(inside.begin(), inside.end(), std::to_string(mnt_id)) == inside.end();
        bool file = ::stat((base + "/fd/" + std::to_string(fd)).c_str(), &st) == 0 &&
                    (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)) && outside;
        keys.push_back(stdio_key(link, mnt_id, st.st_ino, file));
    }
    return keys;
}

}  // namespace criu

namespace {

std::string link_of(int fd) {
    char buf[4096];
    auto n = ::readlink(sys::fd_path(fd).c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// The cgroup criu freezes the container with (so that the dump is of one instant): the v2
// directory, or the v1 freezer's.
std::string freezer_dir(const State& st) {
    for (const auto& d : st.cgroup_dirs)
        if (::access((d + "/cgroup.freeze").c_str(), F_OK) == 0 ||
            d.find("/freezer/") != std::string::npos)
            return d;
    return {};
}

// A destination resolved as create resolved it: below the rootfs, its symlinks kept inside
// (a destination planted as a symlink out of the root resolves inside, as the mount did).
// The destination itself when it cannot be resolved (criu then refuses the unknown mount).
criu::MountpointOf mountpoints_in(const std::string& rootfs) {
    auto root = std::make_shared<sys::UniqueFd>();
    std::string real;
    if (auto fd = sys::open_path(rootfs, O_PATH | O_DIRECTORY)) {
        real = link_of(fd->get());
        *root = std::move(*fd);
    }
    return [root, real](const std::string& destination) {
        if (root->get() < 0 || real.empty()) return destination;
        auto fd = sys::open_in_root(root->get(), destination, O_PATH);
        if (!fd) return destination;
        std::string at = link_of(fd->get());
        if (at.size() <= real.size() || at.compare(0, real.size(), real) != 0 ||
            at[real.size()] != '/')
            return destination;
        return at.substr(real.size());
    };
}

sys::Status make_dir(const std::string& path) {
    std::vector<std::string> made;
    return sys::mkdir_all(path, 0700, &made);
}

}  // namespace

sys::Status checkpoint(const Runtime& rt, const CheckpointOptions& o) {
    Trace trace(rt.log, "checkpoint " + o.id);
    StateStore store(rt.root);
    HAKO_ASSIGN(auto st, store.load(o.id));
    if (st.status != "running" && st.status != "paused")
        return sys::plain_error("cannot checkpoint a " + st.status + " container",
                                "only a running or paused container can be checkpointed");
    HAKO_ASSIGN(auto dir, store.lock(o.id));
    std::string images = criu::image_dir(o.criu), logs = criu::log_dir(o.criu);
    if (!o.parent_path.empty()) {
        // As runc: criu takes it relative to the images, and it must be there.
        if (o.parent_path[0] == '/')
            return sys::plain_error(
                "--parent-path " + o.parent_path + ": must be relative to --image-path",
                "e.g. --parent-path ../pre-dump");
        std::string parent = sys::clean_path(images + "/" + o.parent_path);
        if (::access(parent.c_str(), F_OK) != 0)
            return sys::errno_error("--parent-path: no pre-dump at", parent);
    }
    auto spec = internal::saved_spec(dir.path(), st.bundle);
    if (!spec) return sys::plain_error("checkpoint: the container's saved config is unreadable");
    if (!st.rootfs.empty()) spec->root.path = st.rootfs;
    HAKO_TRY(make_dir(images));
    HAKO_TRY(make_dir(logs));
    auto keys = criu::stdio_keys_of(st.pid);
    // Restore needs the keys the dump gave the init's stdio (runc's file name).
    HAKO_TRY(
        sys::write_file_atomic(images + "/descriptors.json", nlohmann::json(keys).dump(), 0600));
    HAKO_ASSIGN(cgroup::Host host, cgroup::discover());
    auto binds = criu::cgroup_binds(*spec, host, st.cgroup_dirs);
    for (auto& b : binds) b.second = b.first;  // dumped under their place
    if (auto info = sys::read_file("/proc/" + std::to_string(st.pid) + "/mountinfo"))
        for (auto& b : criu::device_binds_of(*info)) binds.push_back(std::move(b));
    auto opts = criu::dump_opts(o, *spec, st.pid, keys, binds, mountpoints_in(spec->root.path));
    opts.freeze_cgroup = freezer_dir(st);
    HAKO_ASSIGN(auto images_fd, sys::open_path(images, O_RDONLY | O_DIRECTORY));
    HAKO_ASSIGN(auto logs_fd, sys::open_path(logs, O_RDONLY | O_DIRECTORY));
    opts.images_dir_fd = images_fd.get();
    opts.work_dir_fd = logs_fd.get();
    trace.step("images directory made");
    // The state's lock is let go while criu works: a dump can take long (a lazy one lasts
    // until the other side has every page), and a `delete -f` meanwhile must not wait for it
    // (it ends the container, and criu's dump then fails; runc holds no lock either).
    dir = ContainerDir();
    HAKO_ASSIGN(auto swrk, criu::spawn_swrk(rt, nullptr, {}));
    // A lazy dump's status fd: criu says at its status-ready step that it serves the pages
    // (it waits there for our answer); we write the \0 and close our copy, so that a reader
    // also sees the end (runc's contract).
    sys::UniqueFd status(o.criu.lazy_pages && o.status_fd >= 0 ? o.status_fd : -1);
    auto notes = [&status](const criu::Response& r, sys::UniqueFd, std::string*) {
        if (r.script == "status-ready" && status.get() >= 0) {
            (void)!::write(status.get(), "", 1);
            status.reset();
        }
        return true;
    };
    HAKO_TRY(criu::run(rt, std::move(swrk), o.pre_dump ? "checkpoint --pre-dump" : "checkpoint",
                       o.pre_dump ? criu::ReqType::kPreDump : criu::ReqType::kDump, opts, notes,
                       logs + (o.pre_dump ? "/pre-dump.log" : "/dump.log")));
    trace.step("criu dumped the container");
    if (o.leave_running || o.pre_dump) return {};
    // The dump ended its processes: what is left is the state and the cgroups.
    return remove(rt, o.id, true);
}

}  // namespace runtime
