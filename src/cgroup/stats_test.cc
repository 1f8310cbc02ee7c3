#include "cgroup/stats.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace cgroup {
namespace {

using nlohmann::json;

FileReader fake(std::map<std::string, std::string> files) {
    return [files = std::move(files)](const std::string& path) -> std::optional<std::string> {
        auto it = files.find(path);
        if (it == files.end()) return std::nullopt;
        return it->second;
    };
}

TEST(Stats, FlatKeyed) {
    auto m = parse_flat_keyed("low 0\nhigh 3\nmax 12\noom 1\noom_kill 1\nbad\n");
    EXPECT_EQ(m.at("max"), 12u);
    EXPECT_EQ(m.at("oom_kill"), 1u);
    EXPECT_EQ(m.count("bad"), 0u);
}

TEST(Stats, UnifiedHost) {
    Host host;
    host.mode = Mode::kUnified;
    host.hierarchies = {{"/sys/fs/cgroup", "", true, "/", "/"}};
    const std::string d = "/sys/fs/cgroup/c";
    auto data = json::parse(stats_json(
        host, {d},
        fake({{d + "/cpu.stat",
               "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\n"
               "nr_throttled 2\nthrottled_usec 30\n"},
              {d + "/memory.current", "4096\n"},
              {d + "/memory.max", "max\n"},
              {d + "/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n"},
              {d + "/memory.stat", "anon 4096\nfile 8192\n"},
              {d + "/memory.swap.current", "0\n"},
              {d + "/memory.swap.max", "0\n"},
              {d + "/pids.current", "3\n"},
              {d + "/pids.max", "max\n"},
              {d + "/io.stat", "8:0 rbytes=4096 wbytes=512 rios=1 wios=2 dbytes=0 dios=0\n"}})));
    EXPECT_EQ(data["cpu"]["usage"]["total"], 1500000);
    EXPECT_EQ(data["cpu"]["usage"]["kernel"], 500000);
    EXPECT_EQ(data["cpu"]["throttling"]["throttled_time"], 30000);
    EXPECT_EQ(data["memory"]["usage"]["usage"], 4096);
    EXPECT_EQ(data["memory"]["usage"]["limit"], UINT64_MAX);
    EXPECT_EQ(data["memory"]["usage"]["failcnt"], 7);
    EXPECT_EQ(data["memory"]["cache"], 8192);
    EXPECT_EQ(data["memory"]["swap"]["limit"], 0);
    EXPECT_EQ(data["pids"]["current"], 3);
    EXPECT_EQ(data["pids"]["limit"], 0);  // unlimited, as runc reports it
    ASSERT_EQ(data["blkio"]["ioServiceBytesRecursive"].size(), 2u);
    EXPECT_EQ(data["blkio"]["ioServiceBytesRecursive"][1]["op"], "Write");
    EXPECT_EQ(data["blkio"]["ioServiceBytesRecursive"][1]["value"], 512);
    EXPECT_EQ(data["blkio"]["ioServicedRecursive"][0]["value"], 1);
}

TEST(Stats, LegacyHierarchiesEachGiveTheirPart) {
    Host host;
    host.mode = Mode::kLegacy;
    host.hierarchies = {{"/sys/fs/cgroup/cpu,cpuacct", "cpu,cpuacct", false, "/", "/"},
                        {"/sys/fs/cgroup/memory", "memory", false, "/", "/"},
                        {"/sys/fs/cgroup/pids", "pids", false, "/", "/"}};
    const std::string c = "/sys/fs/cgroup/cpu,cpuacct/x", m = "/sys/fs/cgroup/memory/x",
                      p = "/sys/fs/cgroup/pids/x";
    auto data = json::parse(
        stats_json(host, {c, m, p},
                   fake({{c + "/cpuacct.usage", "900\n"},
                         {c + "/cpuacct.usage_percpu", "400 500 \n"},
                         {c + "/cpuacct.stat", "user 3\nsystem 1\n"},
                         {c + "/cpu.stat", "nr_periods 5\nnr_throttled 1\nthrottled_time 77\n"},
                         {m + "/memory.usage_in_bytes", "100\n"},
                         {m + "/memory.limit_in_bytes", "1000\n"},
                         {m + "/memory.failcnt", "2\n"},
                         {m + "/memory.stat", "cache 10\nrss 90\n"},
                         {p + "/pids.current", "1\n"},
                         {p + "/pids.max", "50\n"}})));
    EXPECT_EQ(data["cpu"]["usage"]["total"], 900);
    EXPECT_EQ(data["cpu"]["usage"]["percpu"], json::array({400, 500}));
    EXPECT_EQ(data["cpu"]["usage"]["user"], 30000000);
    EXPECT_EQ(data["cpu"]["throttling"]["throttled_time"], 77);
    EXPECT_EQ(data["memory"]["usage"]["limit"], 1000);
    EXPECT_EQ(data["memory"]["usage"]["failcnt"], 2);
    EXPECT_EQ(data["memory"]["cache"], 10);
    EXPECT_FALSE(data["memory"].contains("swap"));
    EXPECT_EQ(data["pids"]["limit"], 50);
}

}  // namespace
}  // namespace cgroup
