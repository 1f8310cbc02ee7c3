#include "cgroup/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <memory>
#include <set>

#include "cgroup/device_filter.h"
#include "cgroup/resources.h"
#include "sys/fs.h"
#include "sys/text.h"

namespace cgroup {
namespace {

constexpr long kCgroup2Magic = 0x63677270;

using sys::split;

std::set<std::string> controller_set(const std::string& list) {
    std::set<std::string> out;
    for (auto& c : split(list, ',')) out.insert(c);
    return out;
}

// v1 super options hold the controllers among generic options ("rw,nsdelegate,cpu,cpuacct").
std::string controllers_from_options(const std::string& super_options) {
    static const std::set<std::string> kGeneric = {
        "rw",     "ro",    "relatime",   "noatime",        "nosuid",  "nodev",
        "noexec", "xattr", "nsdelegate", "clone_children", "noprefix"};
    std::string out;
    for (const auto& opt : split(super_options, ',')) {
        if (kGeneric.count(opt) != 0 || opt.rfind("release_agent=", 0) == 0) continue;
        out += (out.empty() ? "" : ",") + opt;
    }
    return out;
}

}  // namespace

const char* mode_name(Mode m) {
    switch (m) {
        case Mode::kUnified:
            return "unified";
        case Mode::kLegacy:
            return "legacy";
        case Mode::kHybrid:
            return "hybrid";
    }
    return "?";
}

std::vector<Hierarchy> parse_mountinfo(const std::string& mountinfo) {
    std::vector<Hierarchy> out;
    for (const auto& line : split(mountinfo, '\n')) {
        // id parent major:minor root mount-point options [optional...] - fstype source super
        auto fields = split(line, ' ');
        auto dash = std::find(fields.begin(), fields.end(), "-");
        if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) continue;
        const std::string& fstype = *(dash + 1);
        if (fstype != "cgroup" && fstype != "cgroup2") continue;
        Hierarchy h;
        h.mount_root = fields[3];
        h.mount_point = fields[4];
        h.v2 = fstype == "cgroup2";
        if (!h.v2) h.controllers = controllers_from_options(*(dash + 3));
        if (!h.v2 && h.controllers.empty()) continue;
        // The same hierarchy mounted twice: keep the first.
        bool dup = std::any_of(out.begin(), out.end(), [&](const Hierarchy& o) {
            return o.v2 == h.v2 && o.controllers == h.controllers;
        });
        if (!dup) out.push_back(h);
    }
    return out;
}

void apply_proc_cgroup(std::vector<Hierarchy>& hierarchies, const std::string& proc_cgroup) {
    for (const auto& line : split(proc_cgroup, '\n')) {
        // hierarchy-id:controller-list:path
        size_t a = line.find(':');
        size_t b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        std::string controllers = line.substr(a + 1, b - a - 1);
        std::string path = line.substr(b + 1);
        bool v2 = line.substr(0, a) == "0" && controllers.empty();
        for (auto& h : hierarchies) {
            if (h.v2 != v2) continue;
            if (!v2 && controller_set(h.controllers) != controller_set(controllers)) continue;
            h.caller_path = path;
        }
    }
}

std::string container_path(const std::string& cgroups_path, const std::string& caller_path,
                           const std::string& id) {
    if (!cgroups_path.empty() && cgroups_path[0] == '/') return sys::clean_path(cgroups_path);
    std::string rel = cgroups_path.empty() ? id : cgroups_path;
    return sys::join_path(caller_path.empty() ? "/" : caller_path, rel);
}

sys::Result<Host> discover() {
    Host host;
    struct statfs fs {};
    if (::statfs("/sys/fs/cgroup", &fs) < 0) return sys::errno_error("statfs", "/sys/fs/cgroup");
    if (fs.f_type == kCgroup2Magic) {
        host.mode = Mode::kUnified;
    } else {
        struct statfs uni {};
        bool hybrid = ::statfs("/sys/fs/cgroup/unified", &uni) == 0 && uni.f_type == kCgroup2Magic;
        host.mode = hybrid ? Mode::kHybrid : Mode::kLegacy;
    }
    HAKO_ASSIGN(auto mountinfo, sys::read_file("/proc/self/mountinfo"));
    HAKO_ASSIGN(auto self, sys::read_file("/proc/self/cgroup"));
    host.hierarchies = parse_mountinfo(mountinfo);
    apply_proc_cgroup(host.hierarchies, self);
    // Only hierarchies under /sys/fs/cgroup are the host's own; in legacy mode ignore cgroup2.
    std::erase_if(host.hierarchies, [&](const Hierarchy& h) {
        if (h.mount_point.rfind("/sys/fs/cgroup", 0) != 0) return true;
        return host.mode == Mode::kLegacy && h.v2;
    });
    return host;
}

// A v1 cpuset made by mkdir starts with no cpus and no mems, and then refuses every process
// (ENOSPC). From the hierarchy's root down to `leaf`, each one still empty gets its parent's, as
// runc does (a pod cgroup its caller made with mkdir is one of them).
sys::Status fill_empty_cpusets(const std::string& root, const std::string& leaf) {
    std::string parent = root;
    std::string rel = leaf.substr(root.size());
    std::size_t pos = 0;
    while (pos < rel.size()) {
        std::size_t next = rel.find('/', pos + 1);
        if (next == std::string::npos) next = rel.size();
        std::string dir = root + rel.substr(0, next);
        for (const char* f : {"/cpuset.cpus", "/cpuset.mems"}) {
            HAKO_ASSIGN(auto mine, sys::read_file(dir + f));
            if (mine.find_first_not_of(" \n") != std::string::npos) continue;
            HAKO_ASSIGN(auto theirs, sys::read_file(parent + f));
            if (auto w = sys::write_file(dir + f, theirs); !w) return sys::fail(w.error());
        }
        parent = dir;
        pos = next;
    }
    return {};
}

std::string host_dir(const Hierarchy& h, const std::string& path) {
    std::string rel = path;
    if (h.mount_root != "/" && rel.rfind(h.mount_root, 0) == 0)
        rel = rel.substr(h.mount_root.size());
    return sys::join_path(h.mount_point, rel);
}

Cgroup Cgroup::plan(const Host& host, const std::string& cgroups_path, const std::string& id) {
    Cgroup cg;
    cg.committed_ = true;  // a plan owns nothing
    for (const auto& h : host.hierarchies) {
        std::string dir = host_dir(h, container_path(cgroups_path, h.caller_path, id));
        std::vector<std::string> missing;
        for (std::string d = dir; d.size() > h.mount_point.size() && ::access(d.c_str(), F_OK) != 0;
             d = d.substr(0, d.rfind('/')))
            missing.insert(missing.begin(), d);
        cg.created_.insert(cg.created_.end(), missing.begin(), missing.end());
        cg.dirs_.push_back(dir);
    }
    return cg;
}

sys::Result<Cgroup> Cgroup::create(const Host& host, const std::string& cgroups_path,
                                   const std::string& id) {
    Cgroup cg;  // owns what is made so far, so a failure removes it
    for (const auto& h : host.hierarchies) {
        // The hierarchy's mount may show a subtree: strip its root from the path.
        std::string dir = host_dir(h, container_path(cgroups_path, h.caller_path, id));
        std::vector<std::string> made;
        // Usually the parent is there: one mkdir, and the whole walk only when it is not.
        sys::Status st;
        if (::mkdir(dir.c_str(), 0755) == 0)
            made.push_back(dir);
        else if (errno == ENOENT)
            st = sys::mkdir_all(dir, 0755, &made);
        else if (errno != EEXIST)
            st = sys::errno_error("mkdir", dir);
        cg.created_.insert(cg.created_.end(), made.begin(), made.end());
        if (!st) return sys::fail(sys::SysError{"create cgroup", dir, st.error().err, {}});
        cg.dirs_.push_back(dir);
        // v2: a controller works in a cgroup only when its parent lists it in
        // cgroup.subtree_control. Enable what each directory we made (not the leaf) has, as runc
        // does; directories that were there before are not ours to change.
        if (h.v2) {
            for (std::size_t i = 0; i + 1 < made.size(); ++i) {
                HAKO_ASSIGN(auto available, sys::read_file(made[i] + "/cgroup.controllers"));
                std::string enable;
                for (const auto& c : split(available.substr(0, available.find('\n')), ' '))
                    if (!c.empty()) enable += (enable.empty() ? "+" : " +") + c;
                if (enable.empty()) continue;
                if (auto w = sys::write_file(made[i] + "/cgroup.subtree_control", enable); !w)
                    return sys::fail(w.error());
            }
        }
        if (h.controllers.find("cpuset") != std::string::npos)
            HAKO_TRY(fill_empty_cpusets(h.mount_point, dir));
    }
    return cg;
}

namespace {

// The kernel's rule behind a refused cgroup write, in words (what errno alone does not say).
std::string write_hint(const FileWrite& w, const std::string& dir, int err) {
    auto first_line = [](const std::string& path) {
        auto t = sys::read_file(path);
        return t ? t->substr(0, t->find('\n')) : std::string("?");
    };
    const std::string& f = w.file;
    if (err == EINVAL && (f == "cpu.cfs_quota_us" || f == "cpu.max"))
        return "a CFS quota must be at least 1000 µs (1 ms) per period, or -1 for none, and fit "
               "within the parent's quota";
    if (err == EINVAL && f == "cpu.cfs_period_us")
        return "a CFS period must be 1000-1000000 µs (1 ms to 1 s), and the quota over it must "
               "fit within the parent's";
    if ((err == EINVAL || err == ERANGE) && (f == "cpuset.cpus" || f == "cpuset.cpus.effective"))
        return "the CPUs must be online and in the parent's set: online " +
               first_line("/sys/devices/system/cpu/online") + ", the parent's " +
               first_line(dir.substr(0, dir.rfind('/')) + "/cpuset.cpus");
    if ((err == EINVAL || err == ERANGE) && f == "cpuset.mems")
        return "the memory nodes must be online and in the parent's set: online " +
               first_line("/sys/devices/system/node/online") + ", the parent's " +
               first_line(dir.substr(0, dir.rfind('/')) + "/cpuset.mems");
    if (err == EINVAL && f == "memory.memsw.limit_in_bytes")
        return "on cgroup v1, memory.swap is memory + swap: it must be at least memory.limit";
    if (err == EINVAL && f == "memory.limit_in_bytes")
        return "on cgroup v1 the memory limit must not exceed memory.swap (memory + swap), which "
               "is set already";
    if (err == EBUSY && (f == "memory.limit_in_bytes" || f == "memory.max"))
        return "the container uses more memory than the new limit and the kernel could not "
               "reclaim enough";
    return {};
}

}  // namespace

sys::Status apply_resources(const Host& host, const std::vector<std::string>& dirs,
                            const spec::Resources& r) {
    bool unified = host.mode == Mode::kUnified;
    auto writes = unified ? v2_writes(r) : v1_writes(r);
    if (unified && !r.devices.empty() && !dirs.empty())
        HAKO_TRY(attach_device_filter(dirs[0],
                                      device_filter_program(effective_device_rules(r.devices))));
    // A write the kernel refuses (EINVAL) when a later one of the same controller would make it
    // valid (a smaller cpu.cfs_period_us while the old quota stands, under a parent's limit) is
    // tried again after the others, as runc does; the first error is the one reported.
    std::vector<std::pair<FileWrite, sys::SysError>> retry;
    // Consecutive writes to one file (a rule per write to devices.allow) share one open.
    std::string open_path;
    sys::UniqueFd open_fd;
    auto write_to = [&](const std::string& path, std::string_view value) -> sys::Status {
        if (path != open_path || !open_fd.valid()) {
            open_fd.reset(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
            open_path = path;
            if (!open_fd.valid()) return sys::errno_error("open", path);
        }
        return sys::write_all(open_fd.get(), value, path);
    };
    for (std::size_t k = 0; k < writes.size(); ++k) {
        const auto& w = writes[k];
        std::string dir;
        for (std::size_t i = 0; i < host.hierarchies.size() && i < dirs.size(); ++i) {
            const auto& h = host.hierarchies[i];
            bool match = w.controller.empty()
                             ? h.v2
                             : controller_set(h.controllers).count(w.controller) != 0;
            if (match) {
                dir = dirs[i];
                break;
            }
        }
        std::string field = "linux.resources." + w.field;
        if (dir.empty())
            return sys::plain_error(
                field + ": the " +
                (w.controller.empty() ? std::string("cgroup v2") : w.controller) +
                " hierarchy is not mounted on this host");
        std::string path = dir + "/" + w.file;
        // v1 without CFQ: the BFQ scheduler's files take the same weights (as runc).
        if ((w.file == "blkio.weight" || w.file == "blkio.weight_device") &&
            ::access(path.c_str(), F_OK) != 0) {
            std::string bfq = dir + "/blkio.bfq." + w.file.substr(6);
            if (::access(bfq.c_str(), F_OK) == 0) path = bfq;
        }
        if (auto st = write_to(path, w.value); !st) {
            sys::SysError e{field + ": write \"" + w.value + "\" to", path, st.error().err, {}};
            e.hint = write_hint(w, dir, e.err);
            if (e.err == ENOENT)
                e.hint = w.controller.empty()
                             ? "the controller is not enabled for this cgroup (the parent's "
                               "cgroup.subtree_control)"
                             : "this kernel or its I/O scheduler does not provide " + w.file +
                                   (w.file == "blkio.weight" || w.file == "blkio.weight_device"
                                        ? " (nor blkio.bfq.*)"
                                        : "");
            bool later_same_controller =
                std::any_of(writes.begin() + static_cast<std::ptrdiff_t>(k) + 1, writes.end(),
                            [&](const FileWrite& o) { return o.controller == w.controller; });
            if (e.err != EINVAL || !later_same_controller) return sys::fail(e);
            FileWrite again = w;
            again.file = path;  // the retry needs no lookup
            retry.emplace_back(std::move(again), std::move(e));
        }
    }
    for (auto& [w, e] : retry)
        if (!sys::write_file(w.file, w.value)) return sys::fail(std::move(e));
    return {};
}

Cgroup::~Cgroup() {
    if (!committed_) (void)destroy(true);
}

sys::Result<Entry> Cgroup::open_entry() const {
    Entry e;
    for (const auto& d : dirs_) {
        // v1 first: a hierarchy with `tasks` is one (v2 has none), one open where an access()
        // of cgroup.controllers came first for every directory.
        auto fd = sys::open_path(d + "/tasks", O_WRONLY);
        if (fd) {
            e.tasks.push_back(std::move(*fd));
            e.tasks_dirs.push_back(d);
            continue;
        }
        if (fd.error().err == ENOENT && ::access((d + "/cgroup.controllers").c_str(), F_OK) == 0) {
            if (auto dir = sys::open_path(d, O_RDONLY | O_DIRECTORY); dir && !e.v2.valid()) {
                e.v2 = std::move(*dir);
                continue;
            }
            e.by_pid.push_back(d);
        } else if (fd.error().err == EACCES || fd.error().err == EPERM) {
            e.by_pid.push_back(d);  // a delegated cgroup.procs may still be ours to write
        } else {
            return sys::fail(sys::SysError{"join cgroup", d, fd.error().err, {}});
        }
    }
    return e;
}

std::vector<int> Entry::task_fds() const {
    std::vector<int> out;
    out.reserve(tasks.size());
    for (const auto& fd : tasks) out.push_back(fd.get());
    return out;
}

sys::Status Entry::add_process(pid_t pid) const {
    for (const auto& d : by_pid) {
        auto w = sys::write_file(d + "/cgroup.procs", std::to_string(pid));
        if (!w) return sys::fail(sys::SysError{"join cgroup", d, w.error().err, {}});
    }
    return {};
}

namespace {
// "0" into a `tasks` file: this one thread moves itself (the fast way in, see Entry).
sys::Status write_self(int fd, const std::string& dir) {
    if (::write(fd, "0", 1) == 1) return {};
    sys::SysError e{"join cgroup", dir + "/tasks", errno, {}};
    if (e.err == ENOSPC)
        e.hint = "the cpuset has no CPUs or memory nodes (cpuset.cpus, cpuset.mems)";
    return sys::fail(std::move(e));
}
}  // namespace

sys::Status join_self(const std::vector<int>& tasks, const std::vector<std::string>& dirs) {
    std::vector<sys::UniqueFd> owned(tasks.begin(), tasks.end());  // ours to close, all of them
    for (std::size_t i = 0; i < owned.size(); ++i)
        HAKO_TRY(write_self(owned[i].get(), i < dirs.size() ? dirs[i] : std::string("?")));
    return {};
}

sys::Status join_self_by_path(const std::vector<std::string>& dirs) {
    for (const auto& d : dirs) {
        auto fd = sys::open_path(d + "/tasks", O_WRONLY);
        if (!fd) return sys::fail(sys::SysError{"join cgroup", d + "/tasks", fd.error().err, {}});
        HAKO_TRY(write_self(fd->get(), d));
    }
    return {};
}

std::vector<pid_t> Cgroup::pids() const {
    std::vector<pid_t> out;
    for (const auto& d : dirs_) {
        auto text = sys::read_file(d + "/cgroup.procs");
        if (!text) continue;
        for (const auto& line : split(*text, '\n'))
            if (!line.empty()) out.push_back(static_cast<pid_t>(std::stol(line)));
        if (!out.empty()) break;
    }
    return out;
}

namespace {
// The freezer of a set of container dirs: the v1 freezer hierarchy's, or v2's cgroup.freeze.
std::pair<std::string, bool> freezer_of(const std::vector<std::string>& dirs) {
    // The hierarchy named for it first (one access where most hosts have it), then every one.
    for (const auto& d : dirs)
        if (d.find("/freezer") != std::string::npos &&
            ::access((d + "/freezer.state").c_str(), F_OK) == 0)
            return {d, true};
    for (const auto& d : dirs)
        if (::access((d + "/freezer.state").c_str(), F_OK) == 0) return {d, true};
    for (const auto& d : dirs)
        if (::access((d + "/cgroup.freeze").c_str(), F_OK) == 0) return {d, false};
    return {{}, false};
}
}  // namespace

sys::Status Cgroup::freeze(bool frozen) const {
    auto [dir, v1] = freezer_of(dirs_);
    if (dir.empty())
        return sys::plain_error("no freezer for this container (no v1 freezer, no cgroup.freeze)");
    std::string file = dir + (v1 ? "/freezer.state" : "/cgroup.freeze");
    std::string value = v1 ? (frozen ? "FROZEN" : "THAWED") : (frozen ? "1" : "0");
    // A v1 freeze can stay in FREEZING while a task is busy in the kernel: ask again until it
    // settles (as runc does), at most ~2 s.
    for (int attempt = 0; attempt < 400; ++attempt) {
        if (auto w = sys::write_file(file, value); !w)
            return sys::fail(
                sys::SysError{std::string(frozen ? "freeze" : "thaw"), file, w.error().err, {}});
        if (this->frozen() == frozen) return {};
        ::usleep(5000);
    }
    return sys::plain_error(std::string(frozen ? "freeze" : "thaw") + " " + file +
                            ": the kernel did not settle within 2s");
}

bool Cgroup::frozen() const {
    auto [dir, v1] = freezer_of(dirs_);
    if (dir.empty()) return false;
    if (v1) {
        auto s = sys::read_file(dir + "/freezer.state");
        return s && s->rfind("FROZEN", 0) == 0;
    }
    auto events = sys::read_file(dir + "/cgroup.events");
    return events && events->find("frozen 1") != std::string::npos;
}

bool Cgroup::kill_all() const {
    return std::any_of(dirs_.begin(), dirs_.end(), [](const std::string& d) {
        return ::access((d + "/cgroup.kill").c_str(), W_OK) == 0 &&
               sys::write_file(d + "/cgroup.kill", "1").has_value();
    });
}

namespace {

// Remove a cgroup directory and every sub-cgroup below it (exec --cgroup needs ones the user
// makes), deepest first, SIGKILLing what is inside. rmdir fails with EBUSY while a process is
// inside, and exiting ones linger a moment: retry for about a second.
sys::Status remove_tree(const std::string& d, const std::function<bool()>& kill_all) {
    // Mostly an empty leaf: one rmdir, and the listing only when it is busy.
    if (::rmdir(d.c_str()) == 0 || errno == ENOENT) return {};
    if (errno != EBUSY && errno != ENOTEMPTY) return sys::errno_error("remove cgroup", d);
    std::vector<std::string> subs;
    if (auto dir = sys::DirStream::open(d)) {
        while (const dirent* e = dir->next())
            if (e->d_type == DT_DIR) subs.push_back(d + "/" + e->d_name);
    }
    for (const auto& sub : subs) HAKO_TRY(remove_tree(sub, kill_all));
    for (int attempt = 0; attempt < 200; ++attempt) {
        if (::rmdir(d.c_str()) == 0 || errno == ENOENT) return {};
        if (errno != EBUSY) return sys::errno_error("remove cgroup", d);
        if (!kill_all())
            if (auto text = sys::read_file(d + "/cgroup.procs"))
                for (const auto& line : split(*text, '\n'))
                    if (!line.empty()) ::kill(static_cast<pid_t>(std::stol(line)), SIGKILL);
        ::usleep(5000);
    }
    return sys::errno_error("remove cgroup", d);
}

}  // namespace

sys::Status Cgroup::destroy(bool only_made) {
    committed_ = true;  // whatever happens, do it once
    // A frozen process does not die of SIGKILL until it is thawed (v1 freezer): a paused
    // container gets its SIGKILLs while frozen (nothing runs in between) and is then thawed,
    // so that delete --force leaves nothing running.
    if (!only_made && frozen()) {
        if (!kill_all())
            for (pid_t pid : pids()) ::kill(pid, SIGKILL);
        (void)freeze(false);
    }
    sys::Status result;
    for (const auto& d : dirs_) {
        // A cgroup that was there before (shared with another container) is not ours to empty:
        // it goes only if nothing is left in it.
        if (std::find(created_.begin(), created_.end(), d) == created_.end()) {
            if (!only_made) ::rmdir(d.c_str());
            continue;
        }
        if (auto st = remove_tree(d, [this] { return kill_all(); }); !st && result) result = st;
    }
    // Parents hako created, innermost first; another container may still use one.
    std::for_each(created_.rbegin(), created_.rend(), [&](const std::string& dir) {
        if (std::find(dirs_.begin(), dirs_.end(), dir) == dirs_.end()) ::rmdir(dir.c_str());
    });
    return result;
}

}  // namespace cgroup
