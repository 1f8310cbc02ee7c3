#include "sys/proc.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace sys {
namespace {

TEST(ProcStat, CommandWithSpacesAndParens) {
    std::string text =
        "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 "
        "1000 100 18446744073709551615";
    auto st = parse_proc_stat(text);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->start_time, 987654u);
}

TEST(ProcStat, OwnProcessIsRunningWithAStartTime) {
    auto st = read_proc_stat(::getpid());
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, 'R');
    EXPECT_GT(st->start_time, 0u);
    EXPECT_FALSE(read_proc_stat(-1));
}

}  // namespace
}  // namespace sys
