#include "sandbox/idmap.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "sandbox/hook_runner.h"
#include "sys/child_process.h"
#include "sys/clone.h"
#include "sys/fs.h"
#include "sys/text.h"

namespace sandbox {

std::string id_map_text(const std::vector<spec::IdMapping>& maps) {
    std::string out;
    for (const auto& m : maps)
        out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
               std::to_string(m.size) + "\n";
    return out;
}

std::vector<SubIdRange> parse_subids(const std::string& text, const std::string& name,
                                     std::uint32_t id) {
    std::vector<SubIdRange> out;
    for (const auto& f : sys::colon_records(text)) {
        if (f.size() != 3 || (f[0] != name && f[0] != std::to_string(id))) continue;
        char* end1 = nullptr;
        char* end2 = nullptr;
        std::uint64_t start = std::strtoull(f[1].c_str(), &end1, 10);
        std::uint64_t count = std::strtoull(f[2].c_str(), &end2, 10);
        if (f[1].empty() || f[2].empty() || *end1 != '\0' || *end2 != '\0' || count == 0) continue;
        out.push_back({start, count});
    }
    return out;
}

std::string user_name(const std::string& passwd, std::uint32_t uid) {
    for (const auto& f : sys::colon_records(passwd))
        if (f.size() >= 3 && f[2] == std::to_string(uid)) return f[0];
    return {};
}

sys::Status check_owned_maps(const std::vector<spec::IdMapping>& maps, std::uint32_t own,
                             const std::string& who, const std::vector<SubIdRange>& ranges,
                             const std::string& field, const std::string& file) {
    for (std::size_t i = 0; i < maps.size(); ++i) {
        const auto& m = maps[i];
        std::uint64_t first = m.host_id;
        std::uint64_t last = first + m.size - 1;
        if (first == own && m.size == 1) continue;
        bool inside = std::any_of(ranges.begin(), ranges.end(), [&](const SubIdRange& r) {
            return first >= r.start && last < r.start + r.count;
        });
        if (inside) continue;
        std::string granted;
        for (const auto& r : ranges)
            granted += (granted.empty() ? "" : ", ") + std::to_string(r.start) + "-" +
                       std::to_string(r.start + r.count - 1);
        std::string what = field.find("gid") != std::string::npos ? "gid" : "uid";
        return sys::plain_error(
            field + "[" + std::to_string(i) + "]: " + who + " may not map host " + what + "s " +
                std::to_string(first) + "-" + std::to_string(last),
            who + " may map its own " + what + " " + std::to_string(own) +
                (granted.empty()
                     ? " only: it has no range in " + file +
                           " (the administrator adds one with usermod --add-sub" + what + "s)"
                     : " and " + granted + " (" + file + ")"));
    }
    return {};
}

sys::Status check_caller_maps(const spec::Linux& l) {
    if (::geteuid() == 0 || l.uid_mappings.empty()) return {};
    uid_t uid = ::geteuid();
    std::string name;
    if (auto passwd = sys::read_file("/etc/passwd")) name = user_name(*passwd, uid);
    std::string who = "uid " + std::to_string(uid) + (name.empty() ? "" : " (" + name + ")");
    auto ranges = [&](const char* file) {
        auto text = sys::read_file(file);
        return text ? parse_subids(*text, name, uid) : std::vector<SubIdRange>{};
    };
    HAKO_TRY(check_owned_maps(l.uid_mappings, uid, who, ranges("/etc/subuid"), "linux.uidMappings",
                              "/etc/subuid"));
    return check_owned_maps(l.gid_mappings, ::getegid(), who, ranges("/etc/subgid"),
                            "linux.gidMappings", "/etc/subgid");
}

namespace {

bool only_own_id(const std::vector<spec::IdMapping>& maps, std::uint32_t own) {
    return maps.size() == 1 && maps[0].host_id == own && maps[0].size == 1;
}

std::string find_in_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr && *path != '\0' ? path : "/usr/bin:/bin";
    dirs += ":/usr/bin:/usr/sbin";
    for (const auto& d : sys::split(dirs, ':')) {
        std::string p = d + "/" + name;
        if (!d.empty() && ::access(p.c_str(), X_OK) == 0) return p;
    }
    return {};
}

// newuidmap PID CONTAINER-ID HOST-ID SIZE...: the setuid helper checks /etc/subuid for us.
sys::Status run_map_helper(const char* helper, pid_t pid, const std::vector<spec::IdMapping>& maps,
                           const std::string& field) {
    spec::Hook h;
    h.path = find_in_path(helper);
    if (h.path.empty())
        return sys::plain_error(field + ": " + helper + " not found",
                                "maps beyond your own id need it: apt-get install uidmap");
    h.args = {helper, std::to_string(pid)};
    for (const auto& m : maps)
        for (auto v : {m.container_id, m.host_id, m.size}) h.args.push_back(std::to_string(v));
    h.timeout = 10;
    return run_hook(h, "", field + ": " + helper);
}

}  // namespace

sys::Status write_id_maps(pid_t pid, const spec::Linux& l) {
    std::string proc = "/proc/" + std::to_string(pid);
    bool root = ::geteuid() == 0;
    if (root || only_own_id(l.uid_mappings, ::geteuid())) {
        if (auto w = sys::write_file(proc + "/uid_map", id_map_text(l.uid_mappings)); !w)
            return sys::fail(
                std::move(w.error()).with_hint("the kernel refused linux.uidMappings"));
    } else {
        HAKO_TRY(run_map_helper("newuidmap", pid, l.uid_mappings, "linux.uidMappings"));
    }
    if (root || only_own_id(l.gid_mappings, ::getegid())) {
        // Without CAP_SETGID in the parent namespace the kernel takes a gid map only once
        // setgroups(2) is denied in the new namespace (user_namespaces(7)).
        if (!root)
            if (auto w = sys::write_file(proc + "/setgroups", "deny"); !w)
                return sys::fail(w.error());
        if (auto w = sys::write_file(proc + "/gid_map", id_map_text(l.gid_mappings)); !w)
            return sys::fail(
                std::move(w.error()).with_hint("the kernel refused linux.gidMappings"));
        return {};
    }
    return run_map_helper("newgidmap", pid, l.gid_mappings, "linux.gidMappings");
}

sys::Result<sys::UniqueFd> make_userns_fd(const std::vector<spec::IdMapping>& uids,
                                          const std::vector<spec::IdMapping>& gids,
                                          const std::string& which) {
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) < 0) return sys::errno_error(which + ": pipe");
    sys::UniqueFd gate_r(gate[0]), gate_w(gate[1]);
    HAKO_ASSIGN(auto child, sys::clone3_fork(CLONE_NEWUSER | CLONE_PIDFD));
    if (child.pid == 0) {
        // Exist until the parent is done with our namespace: EOF on the gate.
        gate_w.reset();
        char byte;
        (void)!::read(gate_r.get(), &byte, 1);
        ::_exit(0);
    }
    sys::ChildProcess helper(child.pid, std::move(child.pidfd));
    std::string proc = "/proc/" + std::to_string(helper.pid());
    if (auto w = sys::write_file(proc + "/uid_map", id_map_text(uids)); !w)
        return sys::fail(
            sys::SysError{which + ".uidMappings: write", proc + "/uid_map", w.error().err, {}});
    if (auto w = sys::write_file(proc + "/gid_map", id_map_text(gids)); !w)
        return sys::fail(
            sys::SysError{which + ".gidMappings: write", proc + "/gid_map", w.error().err, {}});
    auto fd = sys::open_path(proc + "/ns/user", O_RDONLY);
    if (!fd) return fd;
    gate_w.reset();
    helper.wait();
    return fd;
}

}  // namespace sandbox
