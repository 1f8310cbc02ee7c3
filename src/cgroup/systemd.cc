// The systemd driver's pure half: unit names, slices, properties, annotations (systemd.h).
#include "cgroup/systemd.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>

#include "cgroup/resources.h"
#include "sys/text.h"

namespace cgroup::systemd {
namespace {

constexpr std::uint64_t kInfinity = std::numeric_limits<std::uint64_t>::max();

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

Property prop(std::string name, bool v) { return {std::move(name), "b", v}; }
Property prop_t(std::string name, std::uint64_t v) { return {std::move(name), "t", v}; }
Property prop_s(std::string name, std::string v) { return {std::move(name), "s", std::move(v)}; }

// A limit where -1 (or "max") is no limit.
std::uint64_t limit_value(std::int64_t v) {
    return v < 0 ? kInfinity : static_cast<std::uint64_t>(v);
}
std::optional<std::uint64_t> limit_text(const std::string& v) {
    if (v == "max") return kInfinity;
    return sys::parse_u64(v);
}

// systemd takes the quota per second of CPU time, and rounds it to 1% (10 ms): as runc, round
// up so that the container gets at least what it asked for.
std::uint64_t quota_per_sec(std::int64_t quota, std::uint64_t period) {
    if (quota <= 0 || period == 0) return kInfinity;
    std::uint64_t per_sec = static_cast<std::uint64_t>(quota) * 1000000 / period;
    if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
    return per_sec;
}

void set(std::vector<Property>& out, Property p) {
    auto it =
        std::find_if(out.begin(), out.end(), [&](const Property& q) { return q.name == p.name; });
    if (it != out.end())
        *it = std::move(p);
    else
        out.push_back(std::move(p));
}

void cpu_properties(const spec::Resources::Cpu& c, const Manager& m, std::vector<Property>& out) {
    if (c.shares && *c.shares != 0) {
        if (m.unified)
            set(out, prop_t("CPUWeight", shares_to_weight(*c.shares)));
        else
            set(out, prop_t("CPUShares", *c.shares));
    }
    if ((c.quota || c.period) && m.unified) {
        std::uint64_t period = c.period.value_or(100000);
        if (c.period && *c.period != 0 && m.version >= 242)
            set(out, prop_t("CPUQuotaPeriodUSec", period));
        if (c.quota) set(out, prop_t("CPUQuotaPerSecUSec", quota_per_sec(*c.quota, period)));
    }
    if (m.version >= 244) {
        if (auto mask = cpu_mask(c.cpus); !c.cpus.empty() && mask)
            set(out, {"AllowedCPUs", "ay", *mask});
        if (auto mask = cpu_mask(c.mems); !c.mems.empty() && mask)
            set(out, {"AllowedMemoryNodes", "ay", *mask});
    }
}

// linux.resources.unified, where a key has a property (v2 only).
void unified_properties(const std::map<std::string, std::string>& unified, const Manager& m,
                        std::vector<Property>& out) {
    static const std::pair<const char*, const char*> kLimits[] = {
        {"memory.high", "MemoryHigh"},        {"memory.low", "MemoryLow"},
        {"memory.min", "MemoryMin"},          {"memory.max", "MemoryMax"},
        {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"}};
    for (const auto& [key, value] : unified) {
        for (auto [file, name] : kLimits)
            if (key == file)
                if (auto v = limit_text(value)) set(out, prop_t(name, *v));
        if (key == "cpu.weight")
            if (auto v = sys::parse_u64(value)) set(out, prop_t("CPUWeight", *v));
        if (key == "cpu.idle" && value == "1" && m.version >= 252)
            set(out, prop_t("CPUWeight", 0));  // systemd's "idle"
        if (key == "cpu.max") {
            auto fields = sys::split(value, ' ');
            std::uint64_t period = 100000;
            if (fields.size() > 1)
                if (auto p = sys::parse_u64(fields[1])) period = *p;
            std::int64_t quota = -1;
            if (!fields.empty())
                if (auto q = sys::parse_u64(fields[0])) quota = static_cast<std::int64_t>(*q);
            if (m.version >= 242) {
                set(out, prop_t("CPUQuotaPeriodUSec", period));
                set(out, prop_t("CPUQuotaPerSecUSec", quota_per_sec(quota, period)));
            }
        }
        if ((key == "cpuset.cpus" || key == "cpuset.mems") && m.version >= 244)
            if (auto mask = cpu_mask(value))
                set(out,
                    {key == "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", "ay", *mask});
    }
}

// /proc/devices' name for a major number of a type ("char-pts" for c 136).
std::string device_group(const std::string& proc_devices, char type, std::int64_t major) {
    bool in_section = false;
    for (const auto& line : sys::split(proc_devices, '\n')) {
        if (line == "Character devices:") in_section = type == 'c';
        if (line == "Block devices:") in_section = type == 'b';
        if (!in_section) continue;
        auto start = line.find_first_not_of(' ');
        if (start == std::string::npos) continue;
        auto fields = sys::split(line.substr(start), ' ');
        if (fields.size() == 2 && fields[0] == std::to_string(major))
            return std::string(type == 'c' ? "char-" : "block-") + fields[1];
    }
    return {};
}

// Device rules as DevicePolicy=strict and DeviceAllow entries, when they are an allow list
// (as runc: systemd cannot say "everything but"). Otherwise none: the eBPF filter that the fs
// code attaches to the unit's cgroup holds the rules alone.
void device_properties(const std::vector<spec::DeviceRule>& rules, const Manager& m,
                       std::vector<Property>& out) {
    if (rules.empty()) return;
    bool allow_all = false, exceptions = false;
    std::vector<spec::DeviceRule> allowed;
    for (const auto& r : effective_device_rules(rules)) {
        bool everything = r.type == "a" && !r.major && !r.minor;
        if (everything) {
            allow_all = r.allow;
            exceptions = false;
            allowed.clear();
        } else if (r.allow) {
            if (!allow_all) allowed.push_back(r);
        } else if (allow_all) {
            exceptions = true;
        } else {
            std::erase_if(allowed, [&](const spec::DeviceRule& a) {
                return a.type == r.type && a.major == r.major && a.minor == r.minor;
            });
        }
    }
    if (allow_all) {
        if (!exceptions) set(out, prop_s("DevicePolicy", "auto"));
        return;
    }
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto& r : allowed) {
        std::string access = r.access;
        std::vector<char> types;
        if (r.type == "a")
            types = {'c', 'b'};
        else
            types = {r.type[0]};
        for (char t : types) {
            std::string kind = t == 'c' ? "char" : "block";
            if (!r.major || *r.major < 0) {
                entries.emplace_back(kind + "-*", access);
            } else if (!r.minor || *r.minor < 0) {
                std::string group = device_group(m.proc_devices, t, *r.major);
                if (!group.empty()) entries.emplace_back(group, access);
            } else {
                entries.emplace_back("/dev/" + kind + "/" + std::to_string(*r.major) + ":" +
                                         std::to_string(*r.minor),
                                     access);
            }
        }
    }
    set(out, prop_s("DevicePolicy", "strict"));
    set(out, {"DeviceAllow", "a(ss)", std::move(entries)});
}

}  // namespace

sys::Result<UnitName> parse_cgroups_path(const std::string& cgroups_path, const std::string& id,
                                         bool rootless_v2) {
    std::string path = cgroups_path.empty() ? ":hako:" + id : cgroups_path;
    auto parts = sys::split(path + (path.back() == ':' ? " " : ""), ':');
    if (!parts.empty() && parts.back() == " ") parts.back().clear();
    if (parts.size() != 3)
        return sys::plain_error(
            "linux.cgroupsPath: \"" + cgroups_path + R"(" is not systemd's "slice:prefix:name")",
            "with --systemd-cgroup the path names a unit, e.g. \"system.slice:hako:" + id +
                "\"; without the flag it is a cgroupfs path");
    UnitName n;
    n.slice = parts[0];
    if (n.slice.find('/') != std::string::npos)
        return sys::plain_error(
            "linux.cgroupsPath: the slice \"" + n.slice + "\" has a slash in it",
            "a sub-slice is written with dashes: user-1000.slice");
    if (n.slice.empty()) n.slice = rootless_v2 ? "user.slice" : "system.slice";
    if (n.slice == "-") n.slice = "-.slice";
    if (!ends_with(n.slice, ".slice"))
        return sys::plain_error("linux.cgroupsPath: the slice \"" + n.slice +
                                "\" does not end in .slice");
    const std::string& prefix = parts[1];
    const std::string& name = parts[2].empty() ? id : parts[2];
    // systemd's unit-name characters only: no "/" or ".." can walk the cgroup path (which
    // delete -f would empty) out of the slice.
    for (const std::string* part : {static_cast<const std::string*>(&n.slice), &prefix, &name}) {
        bool ok =
            *part != "." && *part != ".." && std::all_of(part->begin(), part->end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                       c == '.' || c == '@';
            });
        if (!ok)
            return sys::plain_error(
                "linux.cgroupsPath: \"" + *part + "\" is not a valid part of a systemd unit name",
                "use letters, digits, '-', '_', '.' and '@'");
    }
    if (ends_with(name, ".slice"))
        n.unit = name;
    else
        n.unit = (prefix.empty() ? "" : prefix + "-") + name + ".scope";
    return n;
}

sys::Result<std::string> slice_path(const std::string& slice) {
    if (slice == "-.slice") return std::string("/");
    if (!ends_with(slice, ".slice"))
        return sys::plain_error("systemd: \"" + slice + "\" is not a slice name");
    std::string stem = slice.substr(0, slice.size() - 6);
    if (stem.empty() || stem.front() == '-' || stem.back() == '-' ||
        stem.find("--") != std::string::npos)
        return sys::plain_error("systemd: \"" + slice + "\" is not a valid slice name",
                                "dashes separate sub-slices: a-b.slice is in a.slice");
    std::string path, prefix;
    for (const auto& part : sys::split(stem, '-')) {
        prefix += (prefix.empty() ? "" : "-") + part;
        path += "/" + prefix + ".slice";
    }
    return path;
}

sys::Result<std::vector<std::uint8_t>> cpu_mask(const std::string& list) {
    std::vector<std::uint8_t> mask;
    if (list.empty()) return mask;
    for (const auto& range : sys::split(list, ',')) {
        auto dash = range.find('-');
        auto lo = sys::parse_u64(range.substr(0, dash));
        auto hi = dash == std::string::npos ? lo : sys::parse_u64(range.substr(dash + 1));
        if (!lo || !hi || *hi < *lo || *hi > 8191)
            return sys::plain_error("\"" + list + R"(" is not a CPU or node list ("0-3,5"))");
        for (std::uint64_t i = *lo; i <= *hi; ++i) {
            if (mask.size() <= i / 8) mask.resize(i / 8 + 1);
            mask[i / 8] = static_cast<std::uint8_t>(mask[i / 8] | (1U << (i % 8)));
        }
    }
    return mask;
}

std::vector<Property> resource_properties(const spec::Resources& r, const Manager& m) {
    std::vector<Property> out;
    out.push_back(prop("CPUAccounting", true));
    out.push_back(prop(m.unified ? "IOAccounting" : "BlockIOAccounting", true));
    out.push_back(prop("MemoryAccounting", true));
    out.push_back(prop("TasksAccounting", true));
    if (r.memory) {
        const auto& mem = *r.memory;
        if (mem.limit && *mem.limit != 0)
            set(out, prop_t(m.unified ? "MemoryMax" : "MemoryLimit", limit_value(*mem.limit)));
        if (m.unified && mem.reservation && *mem.reservation != 0)
            set(out, prop_t("MemoryLow", limit_value(*mem.reservation)));
        // The spec's swap is memory+swap (v1's); systemd's MemorySwapMax is swap alone.
        if (m.unified && mem.swap && *mem.swap != 0) {
            if (*mem.swap < 0)
                set(out, prop_t("MemorySwapMax", kInfinity));
            else if (mem.limit && *mem.limit > 0 && *mem.swap >= *mem.limit)
                set(out,
                    prop_t("MemorySwapMax", static_cast<std::uint64_t>(*mem.swap - *mem.limit)));
        }
    }
    if (r.cpu) cpu_properties(*r.cpu, m, out);
    if (r.pids_limit && *r.pids_limit != 0)
        set(out, prop_t("TasksMax",
                        *r.pids_limit > 0 ? static_cast<std::uint64_t>(*r.pids_limit) : kInfinity));
    if (r.block_io && r.block_io->weight && *r.block_io->weight != 0) {
        if (m.unified)
            set(out, prop_t("IOWeight", blkio_to_io_weight(*r.block_io->weight)));
        else
            set(out, prop_t("BlockIOWeight", *r.block_io->weight));
    }
    if (m.unified) unified_properties(r.unified, m, out);
    device_properties(r.devices, m, out);
    return out;
}

sys::Result<Property> parse_annotation(const std::string& name, const std::string& text) {
    std::string t = text;
    auto trim = [](std::string s) {
        auto b = s.find_first_not_of(" \t");
        auto e = s.find_last_not_of(" \t");
        return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    t = trim(t);
    auto quoted = [](const std::string& s) -> std::optional<std::string> {
        if (s.size() >= 2 && (s.front() == '\'' || s.front() == '"') && s.back() == s.front())
            return s.substr(1, s.size() - 2);
        return std::nullopt;
    };
    auto bad = [&](const std::string& why) {
        return sys::plain_error(
            "annotations[org.systemd.property." + name + "]: \"" + text + "\": " + why,
            "write the value in GVariant's text format: \"uint64 123\", "
            "\"'text'\", \"true\", \"@as ['a', 'b']\"");
    };
    static const std::pair<const char*, const char*> kTyped[] = {
        {"uint64 ", "t"}, {"@t ", "t"}, {"uint32 ", "u"}, {"@u ", "u"},
        {"int64 ", "x"},  {"@x ", "x"}, {"int32 ", "i"},  {"@i ", "i"}};
    for (auto [word, sig] : kTyped) {
        if (t.rfind(word, 0) != 0) continue;
        std::string num = trim(t.substr(std::string(word).size()));
        bool negative = !num.empty() && num[0] == '-';
        auto v = sys::parse_u64(negative ? num.substr(1) : num);
        if (!v) return bad("not a number");
        std::string s = sig;
        if (s == "t") return Property{name, s, *v};
        if (s == "u") {
            if (negative || *v > std::numeric_limits<std::uint32_t>::max())
                return bad("out of range for uint32");
            return Property{name, s, static_cast<std::uint32_t>(*v)};
        }
        auto sv = static_cast<std::int64_t>(*v) * (negative ? -1 : 1);
        if (s == "x") return Property{name, s, sv};
        if (sv < std::numeric_limits<std::int32_t>::min() ||
            sv > std::numeric_limits<std::int32_t>::max())
            return bad("out of range for int32");
        return Property{name, s, static_cast<std::int32_t>(sv)};
    }
    if (t.rfind("@b ", 0) == 0) t = trim(t.substr(3));
    if (t == "true" || t == "false") return Property{name, "b", t == "true"};
    if (t.rfind("@s ", 0) == 0) t = trim(t.substr(3));
    if (auto s = quoted(t)) return Property{name, "s", *s};
    if (t.rfind("@as ", 0) == 0) t = trim(t.substr(4));
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') {
        std::vector<std::string> items;
        std::string inner = trim(t.substr(1, t.size() - 2));
        if (!inner.empty())
            for (const auto& item : sys::split(inner, ',')) {
                auto s = quoted(trim(item));
                if (!s) return bad("only arrays of strings are understood");
                items.push_back(*s);
            }
        return Property{name, "as", std::move(items)};
    }
    if (auto v = sys::parse_u64(t)) {
        if (*v > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
            return bad("a bare number is an int32 in GVariant; give its type (\"uint64 N\")");
        return Property{name, "i", static_cast<std::int32_t>(*v)};
    }
    return bad("not a value hako understands");
}

sys::Result<std::vector<Property>> unit_properties(
    const UnitName& name, pid_t pid, const spec::Resources* r, const Manager& m,
    const std::map<std::string, std::string>& annotations) {
    std::vector<Property> out;
    out.push_back(prop_s("Description", "hako container " + name.unit));
    if (ends_with(name.unit, ".slice")) {
        if (name.slice != "-.slice")
            out.push_back({"Wants", "as", std::vector<std::string>{name.slice}});
    } else {
        out.push_back(prop_s("Slice", name.slice));
        out.push_back(prop("Delegate", true));
        if (pid > 0)
            out.push_back(
                {"PIDs", "au", std::vector<std::uint32_t>{static_cast<std::uint32_t>(pid)}});
    }
    // Not stopped with the units around it at shutdown ordering, as runc's scopes.
    out.push_back(prop("DefaultDependencies", false));
    for (auto& p : resource_properties(r != nullptr ? *r : spec::Resources{}, m))
        set(out, std::move(p));
    static const std::string kPrefix = "org.systemd.property.";
    for (const auto& [key, value] : annotations) {
        if (key.rfind(kPrefix, 0) != 0) continue;
        HAKO_ASSIGN(auto p, parse_annotation(key.substr(kPrefix.size()), value));
        set(out, std::move(p));
    }
    return out;
}

}  // namespace cgroup::systemd
