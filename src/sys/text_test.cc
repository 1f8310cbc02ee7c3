#include "sys/text.h"

#include <gtest/gtest.h>

namespace sys {
namespace {

TEST(Text, SplitKeepsInnerEmptyFields) {
    EXPECT_EQ(split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
    EXPECT_EQ(split("1\n2\n", '\n'), (std::vector<std::string>{"1", "2"}));
    EXPECT_TRUE(split("", ',').empty());
}

TEST(Text, ColonRecordsSkipBlankLinesAndKeepEmptyLastField) {
    auto r = colon_records("root:x:0:0::/root:\n\nhako:100000:65536\n");
    ASSERT_EQ(r.size(), 2U);
    EXPECT_EQ(r[0].size(), 7U);
    EXPECT_EQ(r[0][6], "");
    EXPECT_EQ(r[1], (std::vector<std::string>{"hako", "100000", "65536"}));
}

TEST(ParseU64, WholeNumbersOnly) {
    EXPECT_EQ(parse_u64("0"), 0U);
    EXPECT_EQ(parse_u64("18446744073709551615"), UINT64_MAX);
    EXPECT_EQ(parse_u64("18446744073709551616"), std::nullopt);
    EXPECT_EQ(parse_u64(""), std::nullopt);
    EXPECT_EQ(parse_u64("12x"), std::nullopt);
    EXPECT_EQ(parse_u64("-1"), std::nullopt);
}

}  // namespace
}  // namespace sys
