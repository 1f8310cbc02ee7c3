// --systemd-cgroup in the container's life: the unit create makes (owned until create commits),
// and what update and delete do to it. The driver itself is cgroup/systemd.h.
#pragma once

#include <string>

#include "cgroup/cgroup.h"
#include "cgroup/systemd.h"
#include "runtime/container.h"
#include "runtime/state_store.h"

namespace runtime::internal {

class SystemdUnit {
public:
    SystemdUnit(const SystemdUnit&) = delete;
    SystemdUnit& operator=(const SystemdUnit&) = delete;
    SystemdUnit(SystemdUnit&&) noexcept = default;
    SystemdUnit& operator=(SystemdUnit&&) noexcept = default;
    // A unit that start() made and create did not commit is stopped (systemd removes its
    // cgroup), so that a failed create leaves no unit behind.
    ~SystemdUnit();

    // Connect, and work out the unit and the cgroup it will have; nothing is made yet.
    static sys::Result<SystemdUnit> plan(const Runtime& rt, const cgroup::Host& host,
                                         const spec::Spec& s, const std::string& id);
    [[nodiscard]] const std::string& unit() const { return name_.unit; }
    // The unit's cgroup, absolute (what cgroupsPath is for the fs code).
    [[nodiscard]] const std::string& cgroup_path() const { return path_; }
    // StartTransientUnit with `pid` in it (a scope) and linux.resources as properties, and
    // wait for systemd to say it is done.
    sys::Status start(pid_t pid, const spec::Spec& s);
    void commit() { committed_ = true; }

private:
    SystemdUnit(cgroup::systemd::Bus bus, cgroup::systemd::UnitName name, std::string path)
        : bus_(std::move(bus)), name_(std::move(name)), path_(std::move(path)) {}
    cgroup::systemd::Bus bus_;
    cgroup::systemd::UnitName name_;
    std::string path_;
    bool started_ = false, committed_ = false;
};

// update: the resources as the unit's properties (SetUnitProperties, runtime only); the files
// are written after, by the fs code.
sys::Status update_unit(const State& s, const cgroup::Host& host, const spec::Resources& r);
// exec, rootless: the process, cloned outside the container's cgroup (the caller may not move
// it there), moved into the unit by the user's systemd.
sys::Status attach_to_unit(const State& s, pid_t pid);
// delete: StopUnit (a unit already gone is fine).
sys::Status stop_unit(const State& s);

}  // namespace runtime::internal
