#include "runtime/systemd_unit.h"

#include "sys/fs.h"

namespace runtime::internal {
namespace {

cgroup::systemd::Manager manager_of(const cgroup::systemd::Bus& bus, const cgroup::Host& host) {
    cgroup::systemd::Manager m = bus.manager();
    m.unified = host.mode == cgroup::Mode::kUnified;
    if (auto devices = sys::read_file("/proc/devices")) m.proc_devices = *devices;
    return m;
}

}  // namespace

SystemdUnit::~SystemdUnit() {
    if (started_ && !committed_) (void)bus_.stop_unit(name_.unit);
}

sys::Result<SystemdUnit> SystemdUnit::plan(const Runtime& rt, const cgroup::Host& host,
                                           const spec::Spec& s, const std::string& id) {
    bool v2 = host.mode == cgroup::Mode::kUnified;
    HAKO_ASSIGN(auto name,
                cgroup::systemd::parse_cgroups_path(s.linux.cgroups_path, id, rt.rootless && v2));
    HAKO_ASSIGN(auto bus, cgroup::systemd::Bus::connect(rt.rootless));
    bool slice_unit =
        name.unit.size() > 6 && name.unit.compare(name.unit.size() - 6, 6, ".slice") == 0;
    std::string path;
    if (slice_unit) {
        HAKO_ASSIGN(path, cgroup::systemd::slice_path(name.unit));
    } else {
        HAKO_ASSIGN(auto slice, cgroup::systemd::slice_path(name.slice));
        path = sys::join_path(slice, name.unit);
    }
    path = sys::join_path(bus.root_cgroup().empty() ? "/" : bus.root_cgroup(), path);
    return SystemdUnit(std::move(bus), std::move(name), std::move(path));
}

sys::Status SystemdUnit::start(pid_t pid, const spec::Spec& s) {
    cgroup::Host host;
    HAKO_ASSIGN(host, cgroup::discover());
    const spec::Resources* r = s.linux.resources ? &*s.linux.resources : nullptr;
    HAKO_ASSIGN(auto props, cgroup::systemd::unit_properties(name_, pid, r, manager_of(bus_, host),
                                                             s.annotations));
    HAKO_TRY(bus_.start_unit(name_.unit, props).map_error([](sys::SysError e) {
        return std::move(e).in("linux.cgroupsPath");
    }));
    started_ = true;
    // systemd's word for where the unit is (the user manager's root, say) over our reckoning.
    if (auto where = bus_.unit_cgroup(name_.unit); where && !where->empty()) path_ = *where;
    return {};
}

sys::Status update_unit(const State& s, const cgroup::Host& host, const spec::Resources& r) {
    HAKO_ASSIGN(auto bus, cgroup::systemd::Bus::connect(s.systemd_user));
    auto props = cgroup::systemd::resource_properties(r, manager_of(bus, host));
    return bus.set_properties(s.systemd_unit, props);
}

sys::Status attach_to_unit(const State& s, pid_t pid) {
    HAKO_ASSIGN(auto bus, cgroup::systemd::Bus::connect(s.systemd_user));
    return bus.attach_process(s.systemd_unit, pid);
}

sys::Status stop_unit(const State& s) {
    HAKO_ASSIGN(auto bus, cgroup::systemd::Bus::connect(s.systemd_user));
    return bus.stop_unit(s.systemd_unit);
}

}  // namespace runtime::internal
