#include "sandbox/process_attrs.h"

#include <gtest/gtest.h>

namespace sandbox {
namespace {

TEST(CpuList, RangesAndSingles) {
    EXPECT_EQ(parse_cpu_list("0-3,7"), (std::vector<int>{0, 1, 2, 3, 7}));
    EXPECT_EQ(parse_cpu_list("1"), (std::vector<int>{1}));
    EXPECT_FALSE(parse_cpu_list(""));
    EXPECT_FALSE(parse_cpu_list("3-1"));
    EXPECT_FALSE(parse_cpu_list("a"));
    EXPECT_FALSE(parse_cpu_list("1x"));
    EXPECT_FALSE(parse_cpu_list("-1"));
}

TEST(Capabilities, UngrantableOnesAreLeftOutWithOneWarning) {
    spec::Capabilities caps;
    caps.bounding = {0, 24, 21};  // CAP_CHOWN, CAP_SYS_RESOURCE, CAP_SYS_ADMIN
    caps.effective = {24};
    caps.permitted = {0, 24};
    auto w = drop_ungrantable_capabilities(caps, [](int cap) { return cap != 24; });
    ASSERT_TRUE(w);
    EXPECT_NE(w->find("CAP_SYS_RESOURCE cannot be granted"), std::string::npos) << *w;
    EXPECT_EQ(caps.bounding, (std::vector<int>{0, 21}));
    EXPECT_TRUE(caps.effective.empty());
    EXPECT_EQ(caps.permitted, (std::vector<int>{0}));
    EXPECT_FALSE(drop_ungrantable_capabilities(caps, [](int) { return true; }));
}

}  // namespace
}  // namespace sandbox
