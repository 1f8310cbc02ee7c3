#include "sys/proc.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace sys {
namespace {

TEST(WaitStatus, SignalsByNumberNameAndWords) {
    EXPECT_EQ(describe_wait_status(31), "was killed by signal 31 (SIGSYS: bad system call)");
    EXPECT_EQ(describe_wait_status(9), "was killed by signal 9 (SIGKILL: killed)");
    EXPECT_EQ(describe_wait_status(3 << 8), "exited with status 3");
}

TEST(ProcStat, CommandWithSpacesAndParens) {
    std::string text =
        "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 "
        "1000 100 18446744073709551615";
    auto st = parse_proc_stat(text);
    ASSERT_TRUE(st);
    EXPECT_EQ(st->state, 'S');
    EXPECT_EQ(st->start_time, 987654u);
}

TEST(ProcStat, GarbageIsNoStatNotAnException) {
    // Found by fuzz_proc: a start time that is no number made std::stoull throw.
    EXPECT_EQ(parse_proc_stat("1 (x) S 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 x 1"), std::nullopt);
    EXPECT_EQ(parse_proc_stat("1 (x) S 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 "), std::nullopt);
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

namespace sys {

TEST(ChangedSignals, IgnoredAndCaughtTogether) {
    std::string status =
        "Name:\tx\nSigBlk:\t0000000000000004\nSigIgn:\t0000000000001000\n"
        "SigCgt:\t0000000000000002\nCapInh:\t0\n";
    EXPECT_EQ(parse_changed_signals(status), std::optional<std::uint64_t>(0x1002));
}

TEST(ChangedSignals, MissingOrMalformedIsNone) {
    EXPECT_EQ(parse_changed_signals("Name:\tx\nSigIgn:\t0000000000001000\n"), std::nullopt);
    EXPECT_EQ(parse_changed_signals("Name:\tx\nSigIgn:\tzz\nSigCgt:\t0\n"), std::nullopt);
}

TEST(ChangedSignals, OwnProcessReadsAMask) {
    // This test process ignores nothing it was not given and catches nothing: whatever the
    // mask, it is not the all-ones fallback.
    EXPECT_NE(changed_signals(), ~std::uint64_t{0});
}

}  // namespace sys
