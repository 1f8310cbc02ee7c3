#include "runtime/criu.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "runtime/internal.h"
#include "runtime/log.h"
#include "runtime/state_store.h"
#include "sandbox/rootfs.h"
#include "sys/fs.h"
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

// What checkpoint and restore pass alike.
void common_args(const CriuOptions& o, std::vector<std::string>& a) {
    if (o.manage_cgroups_mode.empty())
        a.emplace_back("--manage-cgroups");
    else
        a.push_back("--manage-cgroups=" + o.manage_cgroups_mode);
    if (o.tcp_established) a.emplace_back("--tcp-established");
    if (o.ext_unix_sk) a.emplace_back("--ext-unix-sk");
    if (o.shell_job) a.emplace_back("--shell-job");
    if (o.file_locks) a.emplace_back("--file-locks");
    if (o.auto_dedup) a.emplace_back("--auto-dedup");
    if (o.lazy_pages) a.emplace_back("--lazy-pages");
    for (const auto& ns : o.empty_ns)
        a.push_back("--empty-ns=" + std::string(ns == "network" ? "net" : ns));
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

std::vector<std::string> dump_args(const CheckpointOptions& o, const spec::Spec& s, pid_t pid,
                                   const std::string& images, const std::string& log_dir,
                                   const std::vector<std::string>& stdio_keys) {
    std::vector<std::string> a = {o.pre_dump ? "pre-dump" : "dump",
                                  "--tree",
                                  std::to_string(pid),
                                  "--images-dir",
                                  images,
                                  "--work-dir",
                                  log_dir,
                                  "--log-file",
                                  o.pre_dump ? "pre-dump.log" : "dump.log",
                                  "-v4",
                                  "--root",
                                  s.root.path};
    common_args(o.criu, a);
    if (o.leave_running && !o.pre_dump) a.emplace_back("--leave-running");
    if (!o.parent_path.empty()) {
        a.emplace_back("--prev-images-dir");
        a.push_back(o.parent_path);
        a.emplace_back("--track-mem");
    } else if (o.pre_dump) {
        a.emplace_back("--track-mem");
    }
    if (!o.page_server.empty()) {
        auto colon = o.page_server.rfind(':');
        a.emplace_back("--page-server");
        a.emplace_back("--address");
        a.push_back(o.page_server.substr(0, colon));
        if (colon != std::string::npos) {
            a.emplace_back("--port");
            a.push_back(o.page_server.substr(colon + 1));
        }
    }
    if (o.pre_dump) return a;
    // The config's bind mounts come from the host: criu records them by their destination,
    // and restore says where each one's source is.
    for (const auto& m : s.mounts)
        if (sandbox::is_bind_mount(m))
            a.push_back("--external=mnt[" + m.destination + "]:" + m.destination);
    for (const auto& k : stdio_keys)
        if (k.rfind("file[", 0) == 0) a.push_back("--external=" + k);
    // A namespace joined by path is the caller's: criu leaves it, and restore joins it again.
    for (const auto& n : s.linux.namespaces) {
        if (n.path.empty()) continue;
        if (n.type != NamespaceType::kNetwork && n.type != NamespaceType::kPid) continue;
        struct stat st {};
        if (::stat(n.path.c_str(), &st) == 0)
            a.push_back("--external=" + std::string(spec::namespace_proc_name(n.type)) + "[" +
                        std::to_string(st.st_ino) + "]:extRoot" +
                        (n.type == NamespaceType::kNetwork ? "Net" : "Pid") + "NS");
    }
    return a;
}

std::vector<std::string> restore_args(const RestoreOptions& o, const spec::Spec& s,
                                      const std::string& images, const std::string& log_dir,
                                      const std::string& root, const std::string& pid_file,
                                      const std::vector<std::string>& cgroup_roots,
                                      const std::vector<std::string>& stdio_keys) {
    std::vector<std::string> a = {"restore",
                                  "--images-dir",
                                  images,
                                  "--work-dir",
                                  log_dir,
                                  "--log-file",
                                  "restore.log",
                                  "-v4",
                                  "--root",
                                  root,
                                  "--pidfile",
                                  pid_file,
                                  "--restore-detached",
                                  "--restore-sibling",
                                  "--evasive-devices"};
    common_args(o.criu, a);
    for (const auto& r : cgroup_roots) {
        a.emplace_back("--cgroup-root");
        a.push_back(r);
    }
    if (!o.lsm_profile.empty()) a.push_back("--lsm-profile=" + o.lsm_profile);
    if (!o.lsm_mount_context.empty()) a.push_back("--lsm-mount-context=" + o.lsm_mount_context);
    for (const auto& m : s.mounts)
        if (sandbox::is_bind_mount(m))
            a.push_back("--external=mnt[" + m.destination + "]:" + m.source);
    // The restored init's stdio is ours: criu hands our fd N to what the dumped one was.
    // One fd per key: stdout and stderr are often the same pipe.
    for (std::size_t fd = 0; fd < stdio_keys.size(); ++fd)
        if (!stdio_keys[fd].empty() &&
            std::find(stdio_keys.begin(), stdio_keys.begin() + static_cast<long>(fd),
                      stdio_keys[fd]) == stdio_keys.begin() + static_cast<long>(fd))
            a.push_back("--inherit-fd=fd[" + std::to_string(fd) + "]:" + stdio_keys[fd]);
    int next_fd = 3;
    for (const auto& n : s.linux.namespaces) {
        if (n.path.empty()) continue;
        if (n.type == NamespaceType::kNetwork || n.type == NamespaceType::kPid) {
            a.push_back("--inherit-fd=fd[" + std::to_string(next_fd++) + "]:extRoot" +
                        (n.type == NamespaceType::kNetwork ? "Net" : "Pid") + "NS");
        } else if (n.type != NamespaceType::kMount) {
            a.push_back("--join-ns=" + std::string(spec::namespace_proc_name(n.type)) + ":" +
                        n.path);
        }
    }
    return a;
}

sys::SysError failed(const std::string& step, int status, const std::string& log_path) {
    auto log = sys::read_file(log_path);
    std::string excerpt = log ? log_excerpt(*log, 12) : std::string("(no log: ") + log_path + ")";
    return sys::SysError{
        step + ": criu " + sys::describe_wait_status(status) + "; criu's log says:\n" + excerpt,
        {},
        0,
        "the whole log: " + log_path};
}

sys::Status run(const Runtime& rt, const std::string& step, const std::vector<std::string>& args,
                const std::string& log_path) {
    std::vector<std::string> argv = {rt.criu};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    rt.log.debug("criu: " + line);
    auto done = sys::run_capture(argv);
    if (!done) return sys::fail(std::move(done.error()).in(step));
    if (WIFEXITED(done->status) && WEXITSTATUS(done->status) == 0) return {};
    if (WIFEXITED(done->status) && WEXITSTATUS(done->status) == 127)
        return sys::plain_error(step + ": cannot run " + rt.criu,
                                "install CRIU (Debian: apt-get install criu) or pass --criu PATH");
    return sys::fail(failed(step, done->status, log_path));
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

// The cgroup criu freezes the container with (so that the dump is of one instant): the v2
// directory, or the v1 freezer's.
std::string freezer_dir(const State& st) {
    for (const auto& d : st.cgroup_dirs)
        if (::access((d + "/cgroup.freeze").c_str(), F_OK) == 0 ||
            d.find("/freezer/") != std::string::npos)
            return d;
    return {};
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
    if (spec->process && spec->process->terminal)
        return sys::plain_error("checkpoint of a container with a terminal is not supported yet",
                                "run it with process.terminal false to checkpoint it");
    HAKO_TRY(make_dir(images));
    HAKO_TRY(make_dir(logs));
    auto keys = criu::stdio_keys_of(st.pid);
    // Restore needs the keys the dump gave the init's stdio (runc's file name).
    HAKO_TRY(
        sys::write_file_atomic(images + "/descriptors.json", nlohmann::json(keys).dump(), 0600));
    auto args = criu::dump_args(o, *spec, st.pid, images, logs, keys);
    if (auto freezer = freezer_dir(st); !freezer.empty()) {
        args.emplace_back("--freeze-cgroup");
        args.push_back(freezer);
    }
    trace.step("images directory made");
    HAKO_TRY(criu::run(rt, o.pre_dump ? "checkpoint --pre-dump" : "checkpoint", args,
                       logs + (o.pre_dump ? "/pre-dump.log" : "/dump.log")));
    trace.step("criu dumped the container");
    if (o.leave_running || o.pre_dump) return {};
    // The dump ended its processes: what is left is the state and the cgroups.
    dir = ContainerDir();
    return remove(rt, o.id, true);
}

}  // namespace runtime
