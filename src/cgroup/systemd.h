// The systemd cgroup driver (--systemd-cgroup): where systemd owns the cgroup tree, the
// container's cgroup is a transient unit that systemd makes on our asking, over D-Bus, and
// linux.resources become that unit's properties (../shared/runc-docs/systemd.md is the contract).
// What systemd has no property for is still written to the cgroup files (cgroup.h's fs code),
// as runc does.
//
// The pure half (unit names, properties, annotations) is unit-tested; the bus half talks to
// systemd through sd-bus, which is loaded (dlopen) only when the flag is given, so the path
// without it pays nothing for it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "spec/config.h"
#include "sys/sys_error.h"

namespace cgroup::systemd {

// Where the unit goes: its name (a .scope, or a .slice) and the slice it is put in.
struct UnitName {
    std::string unit;   // "hako-abc.scope", "pod1.slice"
    std::string slice;  // "system.slice", "-.slice" for the root slice
};

// linux.cgroupsPath read as systemd's "slice:prefix:name" (runc's rules): empty means
// ":hako:<id>"; an empty slice is system.slice (user.slice for a rootless container on a
// unified host); "-" is the root slice; the unit is "<prefix>-<name>.scope" ("<name>.scope"
// without a prefix), or `name` itself when it ends in ".slice".
sys::Result<UnitName> parse_cgroups_path(const std::string& cgroups_path, const std::string& id,
                                         bool rootless_v2);

// The cgroup path of a slice: "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice, "-.slice" /.
sys::Result<std::string> slice_path(const std::string& slice);

// A unit property's value, with its D-Bus signature.
using Value =
    std::variant<bool, std::uint64_t, std::int64_t, std::uint32_t, std::int32_t, std::string,
                 std::vector<std::uint32_t>, std::vector<std::uint8_t>, std::vector<std::string>,
                 std::vector<std::pair<std::string, std::string>>>;
struct Property {
    std::string name;
    std::string signature;  // "b", "t", "x", "u", "i", "s", "au", "ay", "as", "a(ss)"
    Value value;
};

// What the driver needs to know of the systemd it talks to.
struct Manager {
    int version = 0;           // 252 of "252.38-1~deb12u1"
    bool unified = true;       // cgroup v2 (else v1's property names)
    std::string proc_devices;  // /proc/devices, for device rules with any minor ("char-pts")
};

// linux.resources as unit properties (the tables of runc-docs/systemd.md), with the accounting
// runc always turns on. What a property cannot say (or this systemd is too old for) is left
// to the cgroup files.
std::vector<Property> resource_properties(const spec::Resources& r, const Manager& m);

// The properties the unit is made with: Description, Slice+Delegate (a scope) or Wants (a
// slice), PIDs, the resources, and the "org.systemd.property.<Name>" annotations (a value in
// GVariant text: "uint64 123", "'text'", "true", "@as ['a']"...), which override the rest.
sys::Result<std::vector<Property>> unit_properties(
    const UnitName& name, pid_t pid, const spec::Resources* r, const Manager& m,
    const std::map<std::string, std::string>& annotations);

// One "org.systemd.property." annotation's value, parsed (the subset of GVariant's text
// format that properties use: numbers with their type, booleans, strings, string arrays).
sys::Result<Property> parse_annotation(const std::string& name, const std::string& text);

// CPU and memory-node lists ("0-3,5") as systemd's bitmask bytes.
sys::Result<std::vector<std::uint8_t>> cpu_mask(const std::string& list);

// A connection to a systemd manager: the system one (root) or the user's own (rootless).
class Bus {
public:
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;
    Bus(Bus&&) noexcept;
    Bus& operator=(Bus&&) noexcept;
    ~Bus();

    static sys::Result<Bus> connect(bool user);
    [[nodiscard]] const Manager& manager() const { return manager_; }
    // The manager's own cgroup ("" for the system manager; the user manager's is
    // /user.slice/user-1000.slice/user@1000.service).
    [[nodiscard]] const std::string& root_cgroup() const { return root_cgroup_; }
    [[nodiscard]] const std::string& where() const { return where_; }  // for messages

    // StartTransientUnit, then wait until systemd says the job is done.
    sys::Status start_unit(const std::string& unit, const std::vector<Property>& props);
    sys::Status set_properties(const std::string& unit, const std::vector<Property>& props);
    // StopUnit and wait for the job; a unit that is already gone is not an error. Then
    // ResetFailedUnit, so that a failed one does not linger.
    sys::Status stop_unit(const std::string& unit);
    // AttachProcessesToUnit (systemd >= 238): the manager moves `pid` into the unit's cgroup.
    // A user manager that may not move it itself asks the system manager, which lets a user
    // move its own processes into its own units: how a rootless exec joins the container.
    sys::Status attach_process(const std::string& unit, pid_t pid);
    // The unit's cgroup as systemd reports it (ControlGroup).
    sys::Result<std::string> unit_cgroup(const std::string& unit);

private:
    struct Impl;
    explicit Bus(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
    Manager manager_;
    std::string root_cgroup_;
    std::string where_;
};

}  // namespace cgroup::systemd
