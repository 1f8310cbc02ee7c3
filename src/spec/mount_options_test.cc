#include "spec/mount_options.h"

#include <gtest/gtest.h>
#include <linux/mount.h>
#include <sys/mount.h>

namespace spec {
namespace {

TEST(MountOptions, FlagsDataAndPropagation) {
    auto o = parse_mount_options(
        {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", "rslave"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
    EXPECT_EQ(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    ASSERT_EQ(o.propagation.size(), 1u);
    EXPECT_EQ(o.propagation[0], static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_FALSE(o.bind);
}

TEST(MountOptions, ClosestOptionForATypo) {
    EXPECT_EQ(closest_mount_option("nosiud"), "nosuid");
    EXPECT_EQ(closest_mount_option("noexce"), "noexec");
    EXPECT_EQ(closest_mount_option("sise=64k"), "size");
    EXPECT_EQ(closest_mount_option("rsahred"), "rshared");
    EXPECT_FALSE(closest_mount_option("completelywrong"));
}

TEST(MountOptions, LaterOptionWins) {
    auto o = parse_mount_options({"ro", "rw"});
    EXPECT_EQ(o.flags & MS_RDONLY, 0u);
    o = parse_mount_options({"rw", "ro"});
    EXPECT_NE(o.flags & MS_RDONLY, 0u);
}

TEST(MountOptions, BindAndRecursiveAttributes) {
    auto o = parse_mount_options({"rbind", "rro", "rnosuid", "rnoatime"});
    EXPECT_TRUE(o.bind);
    EXPECT_TRUE(o.recursive_bind);
    EXPECT_EQ(o.attr_set, static_cast<std::uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                                     MOUNT_ATTR_NOATIME));
    EXPECT_EQ(o.attr_clr, static_cast<std::uint64_t>(MOUNT_ATTR__ATIME));
    EXPECT_TRUE(o.data.empty());
}

TEST(MountOptions, RelatimeIsZeroButStillSelectsTheMode) {
    auto o = parse_mount_options({"rnoatime", "rrelatime"});
    EXPECT_EQ(o.attr_set & MOUNT_ATTR__ATIME, static_cast<std::uint64_t>(MOUNT_ATTR_RELATIME));
    EXPECT_EQ(o.attr_clr & MOUNT_ATTR__ATIME, static_cast<std::uint64_t>(MOUNT_ATTR__ATIME));
}

}  // namespace
}  // namespace spec
