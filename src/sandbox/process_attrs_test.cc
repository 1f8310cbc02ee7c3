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

}  // namespace
}  // namespace sandbox
