// Cgroups for a container: find the host's hierarchies (unified, legacy v1, or hybrid), make the
// container's directory in each, move processes in, freeze, kill, and remove it all again.
// Resource limits are cgroup/resources.h, statistics cgroup/stats.h. One class serves every mode
// (v2 differs in a few branches); a systemd driver would be a second implementation.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "spec/config.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace cgroup {

enum class Mode { kUnified, kLegacy, kHybrid };
const char* mode_name(Mode m);

struct Hierarchy {
    std::string mount_point;  // /sys/fs/cgroup/memory, /sys/fs/cgroup/unified, /sys/fs/cgroup
    std::string controllers;  // "cpu,cpuacct", "name=systemd"; empty for cgroup2
    bool v2 = false;
    std::string mount_root;   // the hierarchy's path that is mounted at mount_point
    std::string caller_path;  // this process's cgroup in the hierarchy (/proc/self/cgroup)
};

struct Host {
    Mode mode = Mode::kLegacy;
    std::vector<Hierarchy> hierarchies;
};

// Pure parsers, for the unit tests and for discover().
std::vector<Hierarchy> parse_mountinfo(const std::string& mountinfo);
// Fills caller_path of each hierarchy from the contents of /proc/self/cgroup.
void apply_proc_cgroup(std::vector<Hierarchy>& hierarchies, const std::string& proc_cgroup);
// The container's path inside a hierarchy, as runc: absolute cgroupsPath as is; relative or
// empty ones nest below the caller's cgroup (empty: <caller>/<id>).
std::string container_path(const std::string& cgroups_path, const std::string& caller_path,
                           const std::string& id);

// Where cgroup `path` of hierarchy h is on the host (its mount may show only a subtree).
std::string host_dir(const Hierarchy& h, const std::string& path);

sys::Result<Host> discover();

// Write linux.resources into the container's directories (`dirs` parallel to
// host.hierarchies). Refused in words: a controller this host does not mount, a file its kernel
// lacks, a value the kernel rejects (with the file and the value). Device rules on a unified
// host become an eBPF program attached to the cgroup.
sys::Status apply_resources(const Host& host, const std::vector<std::string>& dirs,
                            const spec::Resources& r);

// The container's cgroup: one directory per hierarchy. Owns the directories it created: unless
// commit()ed, they are removed when it goes out of scope, so a failed create leaves none.
// How a new process enters the container's cgroups. Writing a pid to `cgroup.procs` takes the
// kernel's global threadgroup lock for writing, and the first writer after an idle spell waits
// out an RCU grace period (7-15 ms on a v1 host: most of what `create` used to take). Two ways
// in skip that lock: CLONE_INTO_CGROUP (v2: the clone takes it for reading), and a
// single-threaded process that writes "0" into a v1 `tasks` file, moving itself. So the parent
// opens the files and the child, before it does anything else, joins (join_self).
struct Entry {
    sys::UniqueFd v2;                     // the v2 directory, for CLONE_INTO_CGROUP; or invalid
    std::vector<sys::UniqueFd> tasks;     // v1 `tasks` files, written "0" by the child
    std::vector<std::string> tasks_dirs;  // their directories, for messages
    std::vector<std::string> by_pid;      // the rest (tasks not writable): add_process writes
                                          // the child's pid into their cgroup.procs

    [[nodiscard]] std::vector<int> task_fds() const;
    // The parent's half: the directories that need the pid.
    [[nodiscard]] sys::Status add_process(pid_t pid) const;
};

// The child's half, first thing after the clone: one thread, moving itself into each `tasks`
// file (fds inherited from the parent), which it then closes.
[[nodiscard]] sys::Status join_self(const std::vector<int>& tasks,
                                    const std::vector<std::string>& dirs);
// The same through `tasks` files opened here (the parent made them after the clone).
[[nodiscard]] sys::Status join_self_by_path(const std::vector<std::string>& dirs);

class Cgroup {
public:
    Cgroup() = default;
    Cgroup(std::vector<std::string> dirs, std::vector<std::string> created)
        : dirs_(std::move(dirs)), created_(std::move(created)) {}
    Cgroup(const Cgroup&) = delete;
    Cgroup& operator=(const Cgroup&) = delete;
    Cgroup(Cgroup&& o) noexcept = default;
    Cgroup& operator=(Cgroup&& o) noexcept = default;
    ~Cgroup();

    // Make the container's directory in every hierarchy (see container_path).
    static sys::Result<Cgroup> create(const Host& host, const std::string& cgroups_path,
                                      const std::string& id);
    // What create() would make, without making anything: the directories, and those of them
    // and their parents that do not exist yet (outermost first). Recorded before create() so
    // that a hako killed half-way leaves a state that `delete -f` can clean up.
    static Cgroup plan(const Host& host, const std::string& cgroups_path, const std::string& id);

    [[nodiscard]] const std::vector<std::string>& dirs() const { return dirs_; }
    [[nodiscard]] const std::vector<std::string>& created() const { return created_; }
    // How a new process enters every hierarchy (see Entry), opened before it is cloned.
    [[nodiscard]] sys::Result<Entry> open_entry() const;
    // Every process in the container's cgroup (from the first hierarchy that lists any).
    [[nodiscard]] std::vector<pid_t> pids() const;
    // Freeze or thaw every process (v1 freezer where mounted, else v2 cgroup.freeze), and wait
    // until the kernel says it is done.
    [[nodiscard]] sys::Status freeze(bool frozen) const;
    [[nodiscard]] bool frozen() const;
    // SIGKILL every process at once through cgroup.kill (v2, Linux 5.14+; also the v2 half of a
    // hybrid host, which holds every process too). False where no directory has it.
    [[nodiscard]] bool kill_all() const;
    // SIGKILL every process, then remove the directories hako created.
    // A directory that existed before (a shared cgroup) is removed only if empty, and left
    // alone entirely when `only_made` (a failed create unwinding: it is someone else's).
    sys::Status destroy(bool only_made = false);
    void commit() { committed_ = true; }

private:
    std::vector<std::string> dirs_;     // the container's directory in each hierarchy
    std::vector<std::string> created_;  // what hako made, outermost first
    bool committed_ = false;
};

}  // namespace cgroup
