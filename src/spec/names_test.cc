#include "spec/names.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>

namespace spec {
namespace {

TEST(Capabilities, NamesAndNumbersRoundTrip) {
    EXPECT_EQ(capability_number("CAP_CHOWN"), 0);
    EXPECT_EQ(capability_number("CAP_SYS_ADMIN"), 21);
    EXPECT_EQ(capability_number("CAP_CHECKPOINT_RESTORE"), 40);
    EXPECT_FALSE(capability_number("CAP_SYS_ADMN"));
    for (int c = 0; c <= 40; ++c) EXPECT_EQ(capability_number(capability_name(c)), c);
}

TEST(Capabilities, DidYouMean) {
    EXPECT_EQ(closest_capability("CAP_SYS_ADMN"), "CAP_SYS_ADMIN");
    EXPECT_EQ(closest_capability("net_admin"), "CAP_NET_ADMIN");
    EXPECT_FALSE(closest_capability("CAP_COMPLETELY_DIFFERENT_THING"));
}

TEST(Rlimits, KnownNames) {
    EXPECT_EQ(rlimit_number("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    EXPECT_EQ(rlimit_number("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    EXPECT_FALSE(rlimit_number("RLIMIT_FILES"));
}

TEST(Signals, NamesNumbersAndPrefixes) {
    EXPECT_EQ(signal_number("KILL"), SIGKILL);
    EXPECT_EQ(signal_number("SIGTERM"), SIGTERM);
    EXPECT_EQ(signal_number("sigusr1"), SIGUSR1);
    EXPECT_EQ(signal_number("9"), 9);
    EXPECT_FALSE(signal_number("0"));
    EXPECT_FALSE(signal_number("NOPE"));
    EXPECT_FALSE(signal_number("99999"));
}

}  // namespace
}  // namespace spec
