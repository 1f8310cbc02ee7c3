#include "cgroup/stats.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>
#include <nlohmann/json.hpp>

#include "sys/fs.h"
#include "sys/text.h"

namespace cgroup {

using ordered = nlohmann::ordered_json;

std::map<std::string, std::uint64_t> parse_flat_keyed(const std::string& text) {
    std::map<std::string, std::uint64_t> out;
    for (const auto& line : sys::split(text, '\n')) {
        auto f = sys::split(line, ' ');
        if (f.size() != 2 || f[1].empty()) continue;
        char* end = nullptr;
        std::uint64_t v = std::strtoull(f[1].c_str(), &end, 10);
        if (*end == '\0') out[f[0]] = v;
    }
    return out;
}

FileReader real_files() {
    return [](const std::string& path) -> std::optional<std::string> {
        auto text = sys::read_file(path);
        if (!text) return std::nullopt;
        return std::move(*text);
    };
}

namespace {

// The container's directory for a controller: its v1 hierarchy's, else the v2 one.
std::string dir_for(const Host& host, const std::vector<std::string>& dirs, const char* name) {
    std::string v2;
    for (std::size_t i = 0; i < host.hierarchies.size() && i < dirs.size(); ++i) {
        const auto& h = host.hierarchies[i];
        if (h.v2) {
            v2 = dirs[i];
            continue;
        }
        for (const auto& c : sys::split(h.controllers, ','))
            if (c == name) return dirs[i];
    }
    return v2;
}

class Files {
public:
    Files(const FileReader& read, std::string dir) : read_(read), dir_(std::move(dir)) {}
    [[nodiscard]] bool has(const std::string& name) const { return read_(path(name)).has_value(); }
    // A single number; "max" is the largest value (as runc reports an unlimited cgroup).
    [[nodiscard]] std::uint64_t number(const std::string& name) const {
        auto text = read_(path(name));
        if (!text) return 0;
        if (text->rfind("max", 0) == 0) return std::numeric_limits<std::uint64_t>::max();
        return std::strtoull(text->c_str(), nullptr, 10);
    }
    [[nodiscard]] std::map<std::string, std::uint64_t> keyed(const std::string& name) const {
        auto text = read_(path(name));
        return text ? parse_flat_keyed(*text) : std::map<std::string, std::uint64_t>{};
    }
    [[nodiscard]] std::string text(const std::string& name) const {
        return read_(path(name)).value_or("");
    }

private:
    [[nodiscard]] std::string path(const std::string& name) const { return dir_ + "/" + name; }
    const FileReader& read_;
    std::string dir_;
};

std::uint64_t get(const std::map<std::string, std::uint64_t>& m, const char* key) {
    auto it = m.find(key);
    return it == m.end() ? 0 : it->second;
}

ordered usage(const Files& f, const std::string& prefix) {
    return {{"usage", f.number(prefix + "usage_in_bytes")},
            {"max", f.number(prefix + "max_usage_in_bytes")},
            {"failcnt", f.number(prefix + "failcnt")},
            {"limit", f.number(prefix + "limit_in_bytes")}};
}

ordered cpu_stats(const Files& f, bool v2) {
    auto stat = f.keyed("cpu.stat");
    ordered cpu;
    if (v2) {
        cpu["usage"] = {{"total", get(stat, "usage_usec") * 1000},
                        {"kernel", get(stat, "system_usec") * 1000},
                        {"user", get(stat, "user_usec") * 1000}};
        cpu["throttling"] = {{"periods", get(stat, "nr_periods")},
                             {"throttled_periods", get(stat, "nr_throttled")},
                             {"throttled_time", get(stat, "throttled_usec") * 1000}};
        return cpu;
    }
    ordered percpu = ordered::array();
    for (const auto& v : sys::split(f.text("cpuacct.usage_percpu"), ' '))
        if (!v.empty() && v != "\n") percpu.push_back(std::strtoull(v.c_str(), nullptr, 10));
    // cpuacct.stat counts USER_HZ ticks (100 a second on Linux): 10 ms each.
    auto ticks = f.keyed("cpuacct.stat");
    cpu["usage"] = {{"total", f.number("cpuacct.usage")},
                    {"percpu", percpu},
                    {"kernel", get(ticks, "system") * 10000000},
                    {"user", get(ticks, "user") * 10000000}};
    cpu["throttling"] = {{"periods", get(stat, "nr_periods")},
                         {"throttled_periods", get(stat, "nr_throttled")},
                         {"throttled_time", get(stat, "throttled_time")}};
    return cpu;
}

ordered memory_stats(const Files& f, bool v2) {
    auto raw = f.keyed("memory.stat");
    ordered mem;
    mem["cache"] = get(raw, v2 ? "file" : "cache");
    if (v2) {
        auto events = f.keyed("memory.events");
        mem["usage"] = {{"usage", f.number("memory.current")},
                        {"max", f.number("memory.peak")},
                        {"failcnt", get(events, "max")},
                        {"limit", f.number("memory.max")}};
        if (f.has("memory.swap.current"))
            mem["swap"] = {{"usage", f.number("memory.swap.current")},
                           {"max", f.number("memory.swap.peak")},
                           {"failcnt", get(f.keyed("memory.swap.events"), "max")},
                           {"limit", f.number("memory.swap.max")}};
    } else {
        mem["usage"] = usage(f, "memory.");
        if (f.has("memory.memsw.usage_in_bytes")) mem["swap"] = usage(f, "memory.memsw.");
        if (f.has("memory.kmem.usage_in_bytes")) mem["kernel"] = usage(f, "memory.kmem.");
    }
    mem["raw"] = raw;
    return mem;
}

// "8:0 Read 4096" lines (v1) or "8:0 rbytes=4096 wbytes=0 rios=1 ..." (v2) -> runc's entries.
ordered blkio_entries(const std::string& text, bool v2, const char* read_key,
                      const char* write_key) {
    ordered out = ordered::array();
    for (const auto& line : sys::split(text, '\n')) {
        auto f = sys::split(line, ' ');
        if (f.empty() || f[0].find(':') == std::string::npos) continue;
        auto dev = sys::split(f[0], ':');
        if (dev.size() != 2) continue;
        auto entry = [&](const std::string& op, std::uint64_t value) {
            out.push_back({{"major", std::strtoull(dev[0].c_str(), nullptr, 10)},
                           {"minor", std::strtoull(dev[1].c_str(), nullptr, 10)},
                           {"op", op},
                           {"value", value}});
        };
        if (!v2) {
            if (f.size() == 3) entry(f[1], std::strtoull(f[2].c_str(), nullptr, 10));
            continue;
        }
        for (std::size_t i = 1; i < f.size(); ++i) {
            auto kv = sys::split(f[i], '=');
            if (kv.size() != 2) continue;
            std::uint64_t v = std::strtoull(kv[1].c_str(), nullptr, 10);
            if (kv[0] == read_key) entry("Read", v);
            if (kv[0] == write_key) entry("Write", v);
        }
    }
    return out;
}

}  // namespace

std::string stats_json(const Host& host, const std::vector<std::string>& dirs,
                       const FileReader& read) {
    ordered data;
    auto files = [&](const char* controller) {
        return Files(read, dir_for(host, dirs, controller));
    };
    // A controller is read the v2 way when no v1 hierarchy has it (hybrid: v1 for the usual).
    auto v2_for = [&](const char* controller) {
        std::string d = dir_for(host, dirs, controller);
        for (std::size_t i = 0; i < host.hierarchies.size() && i < dirs.size(); ++i)
            if (dirs[i] == d) return host.hierarchies[i].v2;
        return false;
    };
    bool cpu_v2 = v2_for("cpuacct") && v2_for("cpu");
    data["cpu"] = cpu_stats(files(cpu_v2 ? "cpu" : "cpuacct"), cpu_v2);
    if (!cpu_v2) {
        // v1 splits the CPU counters: usage in cpuacct, throttling in cpu.
        auto throttling = cpu_stats(files("cpu"), false)["throttling"];
        data["cpu"]["throttling"] = throttling;
    }
    data["memory"] = memory_stats(files("memory"), v2_for("memory"));
    Files pids = files("pids");
    std::uint64_t limit = pids.number("pids.max");
    data["pids"] = {{"current", pids.number("pids.current")},
                    {"limit", limit == std::numeric_limits<std::uint64_t>::max() ? 0 : limit}};
    bool io_v2 = v2_for("blkio");
    if (io_v2) {
        std::string stat = files("io").text("io.stat");
        data["blkio"] = {{"ioServiceBytesRecursive", blkio_entries(stat, true, "rbytes", "wbytes")},
                         {"ioServicedRecursive", blkio_entries(stat, true, "rios", "wios")}};
    } else {
        Files b = files("blkio");
        data["blkio"] = {
            {"ioServiceBytesRecursive",
             blkio_entries(b.text("blkio.throttle.io_service_bytes_recursive"), false, "", "")},
            {"ioServicedRecursive",
             blkio_entries(b.text("blkio.throttle.io_serviced_recursive"), false, "", "")}};
    }
    ordered hugetlb = ordered::object();
    Files h = files("hugetlb");
    for (const char* size : {"2MB", "1GB"}) {
        std::string p = std::string("hugetlb.") + size + ".";
        if (!h.has(p + "max") && !h.has(p + "usage_in_bytes")) continue;
        bool v2 = h.has(p + "max");
        hugetlb[size] = {
            {"usage", h.number(p + (v2 ? "current" : "usage_in_bytes"))},
            {"max", v2 ? 0 : h.number(p + "max_usage_in_bytes")},
            {"failcnt", v2 ? get(h.keyed(p + "events"), "max") : h.number(p + "failcnt")}};
    }
    data["hugetlb"] = hugetlb;
    return data.dump();
}

std::optional<std::uint64_t> memory_usage(const Host& host, const std::vector<std::string>& dirs) {
    std::string dir = dir_for(host, dirs, "memory");
    for (const char* file : {"/memory.usage_in_bytes", "/memory.current"})
        if (auto text = sys::read_file(dir + file))
            return std::strtoull(text->c_str(), nullptr, 10);
    return std::nullopt;
}

sys::Result<OomWatch> OomWatch::open(const Host& host, const std::vector<std::string>& dirs) {
    OomWatch w;
    std::string dir = dir_for(host, dirs, "memory");
    if (dir.empty()) return w;
    if (::access((dir + "/memory.oom_control").c_str(), F_OK) == 0) {
        // cgroups v1 (Documentation/admin-guide/cgroup-v1/memory.rst, "OOM Control"): register an
        // eventfd for memory.oom_control through cgroup.event_control.
        int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0) return sys::errno_error("events: eventfd for", dir + "/memory.oom_control");
        w.fd_ = sys::UniqueFd(efd);
        HAKO_ASSIGN(auto control, sys::open_path(dir + "/memory.oom_control", O_RDONLY));
        w.control_ = std::move(control);
        std::string line = std::to_string(efd) + " " + std::to_string(w.control_.get());
        if (auto st = sys::write_file(dir + "/cgroup.event_control", line); !st)
            return sys::fail(st.error());
        w.dir_ = dir;
        w.seen_ = w.v1_kills().value_or(0);
        return w;
    }
    if (::access((dir + "/memory.events").c_str(), F_OK) == 0) {
        // cgroup v2: memory.events is modified (and notifies inotify) when a counter moves.
        int ifd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (ifd < 0) return sys::errno_error("events: inotify_init1 for", dir + "/memory.events");
        w.fd_ = sys::UniqueFd(ifd);
        w.events_ = dir + "/memory.events";
        if (::inotify_add_watch(ifd, w.events_.c_str(), IN_MODIFY) < 0)
            return sys::errno_error("inotify_add_watch", w.events_);
        if (auto text = sys::read_file(w.events_))
            w.seen_ = get(parse_flat_keyed(*text), "oom_kill");
    }
    return w;
}

sys::Result<std::uint64_t> OomWatch::consume() {
    if (!events_.empty()) {
        char buf[4096];
        while (::read(fd_.get(), buf, sizeof buf) > 0) {
        }
        HAKO_ASSIGN(auto text, sys::read_file(events_));
        std::uint64_t now = get(parse_flat_keyed(text), "oom_kill");
        std::uint64_t fresh = now > seen_ ? now - seen_ : 0;
        seen_ = now;
        return fresh;
    }
    std::uint64_t count = 0;
    if (::read(fd_.get(), &count, sizeof count) != static_cast<ssize_t>(sizeof count)) return 0;
    // The v1 eventfd also fires when the cgroup is removed (delete -f): that is no OOM. With the
    // kernel's oom_kill counter (4.13+) count kills, which may trail the notification a little;
    // an OOM without a kill (oomKillDisable) still counts once while the cgroup is there.
    auto kills = v1_kills();
    if (!kills) return ::access(dir_.c_str(), F_OK) == 0 ? count : 0;
    for (int i = 0; i < 20 && *kills == seen_ && ::access(dir_.c_str(), F_OK) == 0; ++i) {
        ::usleep(5000);
        kills = v1_kills().value_or(seen_);
    }
    std::uint64_t fresh = *kills > seen_ ? *kills - seen_ : 0;
    seen_ = *kills;
    if (fresh == 0 && ::access(dir_.c_str(), F_OK) == 0) return 1;
    return fresh;
}

std::optional<std::uint64_t> OomWatch::v1_kills() const {
    char buf[512];
    ssize_t n = ::pread(control_.get(), buf, sizeof buf - 1, 0);
    if (n <= 0) return std::nullopt;
    std::string text(buf, static_cast<std::size_t>(n));
    auto fields = parse_flat_keyed(text);
    if (fields.count("oom_kill") == 0) return std::nullopt;
    return get(fields, "oom_kill");
}

}  // namespace cgroup
