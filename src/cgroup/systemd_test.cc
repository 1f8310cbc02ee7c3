#include "cgroup/systemd.h"

#include <gtest/gtest.h>

#include <limits>

namespace cgroup::systemd {
namespace {

const Property* find(const std::vector<Property>& props, const std::string& name) {
    for (const auto& p : props)
        if (p.name == name) return &p;
    return nullptr;
}

TEST(SystemdNames, RuncsRulesForCgroupsPath) {
    auto n = parse_cgroups_path("", "c1", false);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->slice, "system.slice");
    EXPECT_EQ(n->unit, "hako-c1.scope");
    n = parse_cgroups_path(":", "c1", false);
    EXPECT_FALSE(n) << "two colons are needed";
    n = parse_cgroups_path("machine.slice:podman:abc", "c1", false);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->slice, "machine.slice");
    EXPECT_EQ(n->unit, "podman-abc.scope");
    n = parse_cgroups_path("::", "c1", true);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->slice, "user.slice") << "rootless on v2";
    EXPECT_EQ(n->unit, "c1.scope");
    n = parse_cgroups_path("-:x:pod-a.slice", "c1", false);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->slice, "-.slice");
    EXPECT_EQ(n->unit, "pod-a.slice") << "a slice name is used as is";
    EXPECT_FALSE(parse_cgroups_path("user.slice/user-1000.slice:a:b", "c1", false));
    EXPECT_FALSE(parse_cgroups_path("/hako/c1", "c1", false)) << "a cgroupfs path";
    EXPECT_FALSE(parse_cgroups_path("system.slice::../../init", "c1", false)) << "out of the slice";
    EXPECT_FALSE(parse_cgroups_path("system.slice:..:x", "c1", false));
}

TEST(SystemdNames, SlicePathsNest) {
    EXPECT_EQ(*slice_path("-.slice"), "/");
    EXPECT_EQ(*slice_path("system.slice"), "/system.slice");
    EXPECT_EQ(*slice_path("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
    EXPECT_FALSE(slice_path("a--b.slice"));
    EXPECT_FALSE(slice_path("-a.slice"));
    EXPECT_FALSE(slice_path("a.scope"));
}

TEST(SystemdProperties, V2Table) {
    spec::Resources r;
    r.memory = spec::Resources::Memory{};
    r.memory->limit = 64 << 20;
    r.memory->swap = 96 << 20;
    r.memory->reservation = 32 << 20;
    r.cpu = spec::Resources::Cpu{};
    r.cpu->shares = 1024;
    r.cpu->quota = 25000;
    r.cpu->period = 100000;
    r.cpu->cpus = "0-1,9";
    r.pids_limit = 42;
    Manager m{252, true, {}};
    auto p = resource_properties(r, m);
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "MemoryMax")->value), 64U << 20);
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "MemorySwapMax")->value), 32U << 20);
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "MemoryLow")->value), 32U << 20);
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "CPUWeight")->value), 39U);
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "CPUQuotaPerSecUSec")->value), 250000U);
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "CPUQuotaPeriodUSec")->value), 100000U);
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "TasksMax")->value), 42U);
    auto mask = std::get<std::vector<std::uint8_t>>(find(p, "AllowedCPUs")->value);
    EXPECT_EQ(mask, (std::vector<std::uint8_t>{0x03, 0x02}));
    EXPECT_TRUE(std::get<bool>(find(p, "IOAccounting")->value));
    EXPECT_EQ(find(p, "BlockIOAccounting"), nullptr);

    m.version = 240;  // too old for AllowedCPUs and the quota period
    p = resource_properties(r, m);
    EXPECT_EQ(find(p, "AllowedCPUs"), nullptr);
    EXPECT_EQ(find(p, "CPUQuotaPeriodUSec"), nullptr);
}

TEST(SystemdProperties, QuotaRoundsUpToTenMilliseconds) {
    spec::Resources r;
    r.cpu = spec::Resources::Cpu{};
    r.cpu->quota = 12345;
    r.cpu->period = 100000;
    auto p = resource_properties(r, Manager{252, true, {}});
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "CPUQuotaPerSecUSec")->value), 130000U);
    r.cpu->quota = -1;
    p = resource_properties(r, Manager{252, true, {}});
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "CPUQuotaPerSecUSec")->value),
              std::numeric_limits<std::uint64_t>::max());
}

TEST(SystemdProperties, V1NamesAndUnified) {
    spec::Resources r;
    r.memory = spec::Resources::Memory{};
    r.memory->limit = -1;
    r.cpu = spec::Resources::Cpu{};
    r.cpu->shares = 512;
    auto p = resource_properties(r, Manager{252, false, {}});
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "MemoryLimit")->value),
              std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "CPUShares")->value), 512U);
    EXPECT_NE(find(p, "BlockIOAccounting"), nullptr);

    spec::Resources u;
    u.unified = {{"memory.high", "1048576"}, {"pids.max", "max"}, {"cpu.max", "50000 100000"}};
    p = resource_properties(u, Manager{252, true, {}});
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "MemoryHigh")->value), 1048576U);
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "TasksMax")->value),
              std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(std::get<std::uint64_t>(find(p, "CPUQuotaPerSecUSec")->value), 500000U);
}

TEST(SystemdProperties, DeviceAllowList) {
    spec::Resources r;
    r.devices = {{false, "a", std::nullopt, std::nullopt, "rwm"},
                 {true, "c", 10, 200, "rwm"},
                 {true, "b", 8, std::nullopt, "r"}};
    Manager m{252, true, "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  8 sd\n"};
    auto p = resource_properties(r, m);
    EXPECT_EQ(std::get<std::string>(find(p, "DevicePolicy")->value), "strict");
    auto allow =
        std::get<std::vector<std::pair<std::string, std::string>>>(find(p, "DeviceAllow")->value);
    auto has = [&](const std::string& what, const std::string& access) {
        return std::find(allow.begin(), allow.end(), std::make_pair(what, access)) != allow.end();
    };
    EXPECT_TRUE(has("/dev/char/10:200", "rwm"));
    EXPECT_TRUE(has("block-sd", "r"));
    EXPECT_TRUE(has("/dev/char/1:3", "rwm")) << "the defaults every container gets";
    EXPECT_TRUE(has("char-pts", "rwm"));

    r.devices = {{true, "a", std::nullopt, std::nullopt, "rwm"}};
    p = resource_properties(r, m);
    EXPECT_EQ(std::get<std::string>(find(p, "DevicePolicy")->value), "auto");
    EXPECT_EQ(find(p, "DeviceAllow"), nullptr);
    r.devices.push_back({false, "c", 1, 3, "rwm"});  // everything but: systemd cannot say it
    p = resource_properties(r, m);
    EXPECT_EQ(find(p, "DevicePolicy"), nullptr);
}

TEST(SystemdProperties, Annotations) {
    auto p = parse_annotation("TimeoutStopUSec", "uint64 123456789");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->signature, "t");
    EXPECT_EQ(std::get<std::uint64_t>(p->value), 123456789U);
    p = parse_annotation("CollectMode", "'inactive-or-failed'");
    ASSERT_TRUE(p);
    EXPECT_EQ(std::get<std::string>(p->value), "inactive-or-failed");
    p = parse_annotation("X", "@as ['a', \"b\"]");
    ASSERT_TRUE(p);
    EXPECT_EQ(std::get<std::vector<std::string>>(p->value), (std::vector<std::string>{"a", "b"}));
    p = parse_annotation("X", "int32 -5");
    ASSERT_TRUE(p);
    EXPECT_EQ(std::get<std::int32_t>(p->value), -5);
    EXPECT_TRUE(parse_annotation("X", "true"));
    auto bad = parse_annotation("X", "{'a': 1}");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("org.systemd.property.X"), std::string::npos);

    auto all = unit_properties({"hako-c.scope", "system.slice"}, 42, nullptr, Manager{},
                               {{"org.systemd.property.TasksMax", "uint64 7"}, {"other", "x"}});
    ASSERT_TRUE(all);
    EXPECT_EQ(std::get<std::uint64_t>(find(*all, "TasksMax")->value), 7U);
    EXPECT_EQ(std::get<std::vector<std::uint32_t>>(find(*all, "PIDs")->value),
              (std::vector<std::uint32_t>{42}));
    EXPECT_TRUE(std::get<bool>(find(*all, "Delegate")->value));
    EXPECT_EQ(std::get<std::string>(find(*all, "Slice")->value), "system.slice");
}

}  // namespace
}  // namespace cgroup::systemd
