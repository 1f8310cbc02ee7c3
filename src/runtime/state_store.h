// Container state on disk: <root>/<id>/state.json, written atomically. Status is derived when
// read (the init's pid and start time, the exec.fifo, the freezer), never trusted from disk.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace runtime {

constexpr const char* kOciVersion = "1.3.0";

struct State {
    std::string id;
    pid_t pid = 0;
    std::uint64_t start_time = 0;  // of the init, from /proc/<pid>/stat: detects pid reuse
    std::string bundle, rootfs;
    std::map<std::string, std::string> annotations;
    std::string created;  // RFC 3339 with nanoseconds, UTC
    uid_t owner = 0;
    std::vector<std::string> cgroup_dirs, cgroup_created;
    // --systemd-cgroup: the unit systemd made for it (empty: hako's own cgroupfs), and whether
    // it is the user's manager's (rootless) rather than the system's.
    std::string systemd_unit;
    bool systemd_user = false;
    bool own_pid_namespace = false;  // killing the init then kills everything
    // Written before anything is made and cleared once the init is ready: a state that still
    // says so, with no `create` holding the directory's lock, is what a killed hako left.
    bool creating = false;
    std::string status;  // derived by StateStore::load
};

// runc's rule: letters, digits, '_', '+', '-', '.'; not "." or ".."; and at most a file name's
// length (NAME_MAX), since the id names the state directory.
constexpr std::size_t kMaxIdLength = 255;
bool valid_container_id(const std::string& id);
// What is wrong with `id`, in words; empty when it is valid.
std::string container_id_problem(const std::string& id);
// "invalid container id "..."" with the problem as its hint.
sys::SysError invalid_id_error(const std::string& id);

std::string to_json(const State& s, bool with_private);
// With `summary`, the read stops at the cgroup lists when it has seen the rest (they come last
// since hako writes them so): `*stopped` says whether it did.
sys::Result<State> state_from_json(const std::string& text, bool summary = false,
                                   bool* stopped = nullptr);
std::string rfc3339_now();
// `sec` seconds and `nsec` nanoseconds after the epoch, as RFC 3339 in UTC with nanoseconds
// (pure: no time zone is read).
std::string format_rfc3339_utc(std::int64_t sec, long nsec);

// The container's directory, locked (flock) while the object lives. Unless commit()ed, a
// directory that this object created is removed with everything in it when it goes away.
class ContainerDir {
public:
    ContainerDir() = default;
    ContainerDir(std::string path, sys::UniqueFd lock, bool created)
        : path_(std::move(path)), lock_(std::move(lock)), created_(created) {}
    ContainerDir(ContainerDir&&) noexcept = default;
    ContainerDir& operator=(ContainerDir&&) noexcept = default;
    ~ContainerDir();
    [[nodiscard]] const std::string& path() const { return path_; }
    void commit() { created_ = false; }
    // In a cloned child: drop its copy of the locked fd. flock belongs to the open file, so a
    // child that kept it (the init, blocked on exec.fifo) would hold the lock against `start`.
    void forget_in_child() {
        lock_.reset();
        created_ = false;
        path_.clear();
    }
    sys::Status remove();

private:
    std::string path_;
    sys::UniqueFd lock_;
    bool created_ = false;
};

class StateStore {
public:
    explicit StateStore(std::string root) : root_(std::move(root)) {}
    [[nodiscard]] const std::string& root() const { return root_; }
    [[nodiscard]] std::string dir_of(const std::string& id) const { return root_ + "/" + id; }

    // Create <root>/<id> exclusively and lock it: of two `create` of one id, one fails.
    [[nodiscard]] sys::Result<ContainerDir> claim(const std::string& id) const;
    // Lock the existing directory of `id`.
    [[nodiscard]] sys::Result<ContainerDir> lock(const std::string& id) const;
    // Whether `id` is a creation that died half-way: its directory exists, no process holds its
    // lock, and it has no state or one that still says "creating".
    [[nodiscard]] bool crashed_creation(const std::string& id) const;
    [[nodiscard]] sys::Status save(const State& s) const;
    [[nodiscard]] sys::Result<State> load(const std::string& id) const;
    // What `list` shows: the cgroup directories are read only when the status needs them (a
    // live container: running or paused); `cgroup_dirs` and `cgroup_created` may be empty.
    [[nodiscard]] sys::Result<State> load_summary(const std::string& id) const;
    [[nodiscard]] sys::Result<std::vector<std::string>> ids() const;

private:
    std::string root_;
};

// "created", "running", "paused" or "stopped", from what the system shows now.
std::string derive_status(const State& s, const std::string& dir);

}  // namespace runtime
