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

}  // namespace
}  // namespace sys
