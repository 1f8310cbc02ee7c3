#include "sandbox/rootfs.h"

#include <gtest/gtest.h>
#include <sys/mount.h>

namespace sandbox {
namespace {

spec::Mount mount(std::string type, std::string dest, std::vector<std::string> options = {}) {
    spec::Mount m;
    m.type = std::move(type);
    m.destination = std::move(dest);
    m.source = m.type;
    m.options = std::move(options);
    return m;
}

TEST(MountPlan, KindsFollowTypeAndBindOption) {
    EXPECT_EQ(plan_mount(mount("proc", "/proc"), 0, false)->kind, MountPlan::Kind::kFilesystem);
    EXPECT_EQ(plan_mount(mount("bind", "/data"), 0, false)->kind, MountPlan::Kind::kBind);
    EXPECT_EQ(plan_mount(mount("none", "/data", {"rbind"}), 0, false)->kind,
              MountPlan::Kind::kBind);
    EXPECT_EQ(plan_mount(mount("cgroup", "/sys/fs/cgroup"), 0, false)->kind,
              MountPlan::Kind::kCgroup);
    EXPECT_EQ(plan_mount(mount("cgroup2", "/sys/fs/cgroup"), 0, false)->kind,
              MountPlan::Kind::kCgroup);
}

TEST(MountPlan, ReadOnlyTmpfsIsMadeWritableUntilTheRootfsIsDone) {
    auto dev = plan_mount(mount("tmpfs", "/dev", {"ro", "nosuid"}), 1, false);
    ASSERT_TRUE(dev);
    EXPECT_TRUE(dev->readonly_later);
    EXPECT_EQ(dev->options.flags & MS_RDONLY, 0U);
    EXPECT_NE(dev->options.flags & MS_NOSUID, 0U);
    // A read-only bind or another filesystem is read-only at once.
    auto bind = plan_mount(mount("bind", "/data", {"ro"}), 2, false);
    EXPECT_FALSE(bind->readonly_later);
    EXPECT_NE(bind->options.flags & MS_RDONLY, 0U);
    EXPECT_FALSE(plan_mount(mount("sysfs", "/sys", {"ro"}), 3, false)->readonly_later);
}

TEST(MountPlan, IdMappedMountsMustBeBinds) {
    auto m = mount("bind", "/data");
    m.uid_mappings = {{0, 1000, 1}};
    m.gid_mappings = {{0, 1000, 1}};
    auto p = plan_mount(m, 4, false);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->idmapped);
    m.type = "tmpfs";
    auto refused = plan_mount(m, 4, false);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().message(), "mounts[4]: uidMappings/gidMappings need a bind mount");
}

TEST(MountPlan, SysfsAndMqueueFallBackToTheHostsOnlyInAUserNamespace) {
    EXPECT_EQ(plan_mount(mount("sysfs", "/sys"), 0, true)->host_fallback, "/sys");
    EXPECT_EQ(plan_mount(mount("mqueue", "/dev/mqueue"), 0, true)->host_fallback, "/dev/mqueue");
    EXPECT_EQ(plan_mount(mount("sysfs", "/sys"), 0, false)->host_fallback, "");
    EXPECT_EQ(plan_mount(mount("proc", "/proc"), 0, true)->host_fallback, "");
    EXPECT_EQ(plan_mount(mount("bind", "/sys"), 0, true)->host_fallback, "");
}

}  // namespace
}  // namespace sandbox
