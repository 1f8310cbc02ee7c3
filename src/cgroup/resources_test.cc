#include "cgroup/resources.h"

#include <gtest/gtest.h>

namespace cgroup {
namespace {

spec::Resources sample() {
    spec::Resources r;
    r.memory = spec::Resources::Memory{};
    r.memory->limit = 64 << 20;
    r.memory->swap = 128 << 20;
    r.pids_limit = 10;
    r.cpu = spec::Resources::Cpu{};
    r.cpu->shares = 1024;
    r.cpu->quota = 50000;
    r.cpu->period = 100000;
    return r;
}

TEST(Resources, V1Files) {
    auto w = v1_writes(sample());
    ASSERT_EQ(w.size(), 6u);
    EXPECT_EQ(w[0].file, "memory.limit_in_bytes");
    EXPECT_EQ(w[1].file, "memory.memsw.limit_in_bytes");
    EXPECT_EQ(w[2].value, "10");
    EXPECT_EQ(w[4].file, "cpu.cfs_period_us") << "the period before the quota";
    EXPECT_EQ(w[5].file, "cpu.cfs_quota_us");
}

TEST(Resources, V1KernelTcpIsWrittenKernelIsNot) {
    spec::Resources r;
    r.memory = spec::Resources::Memory{};
    r.memory->kernel = 1 << 20;
    r.memory->kernel_tcp = 2 << 20;
    auto w = v1_writes(r);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].file, "memory.kmem.tcp.limit_in_bytes");
    EXPECT_EQ(w[0].value, std::to_string(2 << 20));
}

TEST(Resources, V2Conversions) {
    auto w = v2_writes(sample());
    ASSERT_EQ(w.size(), 5u);
    EXPECT_EQ(w[1].file, "memory.swap.max");
    EXPECT_EQ(w[1].value, std::to_string(64 << 20)) << "v2 swap excludes memory";
    EXPECT_EQ(w[3].file, "cpu.weight");
    EXPECT_EQ(w[3].value, "39");
    EXPECT_EQ(w[4].value, "50000 100000");
    EXPECT_EQ(shares_to_weight(2), 1u);
    EXPECT_EQ(shares_to_weight(262144), 10000u);
    EXPECT_EQ(blkio_to_io_weight(10), 1u);
    EXPECT_EQ(blkio_to_io_weight(1000), 10000u);
}

TEST(Resources, V1DevicesKeepTheDefaults) {
    spec::Resources r;
    r.devices.push_back({false, "a", {}, {}, "rwm"});
    r.devices.push_back({true, "c", 10, 200, "rw"});
    auto w = v1_writes(r);
    EXPECT_EQ(w[0].file, "devices.deny");
    EXPECT_EQ(w[0].value, "a");
    EXPECT_EQ(w[1].value, "c 10:200 rw");
    EXPECT_EQ(w.back().value, "c 136:* rwm") << "pts stay usable";
}

}  // namespace
}  // namespace cgroup
