#include "sandbox/idmap.h"

#include <gtest/gtest.h>

namespace sandbox {
namespace {

TEST(Idmap, SubidsByNameOrUid) {
    std::string text = "alice:100000:65536\nbob:165536:65536\n1001:300000:10\nbad:x:1\n";
    auto a = parse_subids(text, "alice", 1000);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].start, 100000u);
    EXPECT_EQ(a[0].count, 65536u);
    auto c = parse_subids(text, "carol", 1001);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].start, 300000u);
    EXPECT_TRUE(parse_subids(text, "bad", 7).empty());
}

TEST(Idmap, UserName) {
    EXPECT_EQ(user_name("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/a:/bin/sh\n", 1000),
              "alice");
    EXPECT_EQ(user_name("root:x:0:0::/root:/bin/sh\n", 5), "");
}

TEST(Idmap, OwnedMaps) {
    std::vector<SubIdRange> ranges{{100000, 65536}};
    std::vector<spec::IdMapping> podman{{0, 1000, 1}, {1, 100000, 65536}};
    EXPECT_TRUE(
        check_owned_maps(podman, 1000, "uid 1000", ranges, "linux.uidMappings", "/etc/subuid"));
    std::vector<spec::IdMapping> beyond{{0, 1000, 1}, {1, 100000, 65537}};
    auto e = check_owned_maps(beyond, 1000, "uid 1000 (alice)", ranges, "linux.uidMappings",
                              "/etc/subuid");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("linux.uidMappings[1]: uid 1000 (alice) may not map host "
                                       "uids 100000-165536"),
              std::string::npos)
        << e.error().message();
    EXPECT_NE(e.error().message().find("100000-165535 (/etc/subuid)"), std::string::npos);
    // Someone else's id, and no subordinate ids at all.
    std::vector<spec::IdMapping> other{{0, 0, 1}};
    auto none = check_owned_maps(other, 1000, "uid 1000", {}, "linux.gidMappings", "/etc/subgid");
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().message().find("no range in /etc/subgid"), std::string::npos)
        << none.error().message();
}

}  // namespace
}  // namespace sandbox
