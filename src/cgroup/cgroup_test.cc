#include "cgroup/cgroup.h"

#include <gtest/gtest.h>

namespace cgroup {
namespace {

constexpr const char* kHybridMountinfo =
    "25 30 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
    "cgroup2 rw,nsdelegate\n"
    "27 25 0:24 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup rw,cpu,cpuacct\n"
    "29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid shared:13 - cgroup cgroup rw,memory\n"
    "30 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n";

TEST(Mountinfo, FindsEveryHierarchy) {
    auto h = parse_mountinfo(kHybridMountinfo);
    ASSERT_EQ(h.size(), 4u);
    EXPECT_TRUE(h[0].v2);
    EXPECT_EQ(h[0].mount_point, "/sys/fs/cgroup/unified");
    EXPECT_EQ(h[1].controllers, "name=systemd");
    EXPECT_EQ(h[2].controllers, "cpu,cpuacct");
    EXPECT_EQ(h[3].mount_point, "/sys/fs/cgroup/memory");
}

TEST(ProcCgroup, MatchesControllerSetsInAnyOrder) {
    auto h = parse_mountinfo(kHybridMountinfo);
    apply_proc_cgroup(h, "4:memory:/a/b\n3:cpuacct,cpu:/c\n1:name=systemd:/user\n0::/u\n");
    EXPECT_EQ(h[0].caller_path, "/u");
    EXPECT_EQ(h[1].caller_path, "/user");
    EXPECT_EQ(h[2].caller_path, "/c");
    EXPECT_EQ(h[3].caller_path, "/a/b");
}

TEST(ContainerPath, AbsoluteRelativeAndEmpty) {
    EXPECT_EQ(container_path("/hako/x", "/caller", "id"), "/hako/x");
    EXPECT_EQ(container_path("sub/x", "/caller", "id"), "/caller/sub/x");
    EXPECT_EQ(container_path("", "/caller", "id"), "/caller/id");
    EXPECT_EQ(container_path("", "/", "id"), "/id");
    EXPECT_EQ(container_path("/a/../../b", "/", "id"), "/b");
}

}  // namespace
}  // namespace cgroup
