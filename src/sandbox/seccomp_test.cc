#include "sandbox/seccomp.h"

#include <gtest/gtest.h>
#include <seccomp.h>

namespace sandbox {
namespace {

TEST(Seccomp, ActionsCarryTheirErrno) {
    EXPECT_EQ(seccomp_action("SCMP_ACT_ERRNO", 38), SCMP_ACT_ERRNO(38));
    EXPECT_EQ(seccomp_action("SCMP_ACT_KILL", 1), SCMP_ACT_KILL_THREAD);
    EXPECT_EQ(seccomp_action("SCMP_ACT_NOTIFY", 1), SCMP_ACT_NOTIFY);
    EXPECT_FALSE(seccomp_action("SCMP_ACT_SMILE", 1));
}

TEST(Seccomp, OperatorsAndArchitectures) {
    EXPECT_EQ(seccomp_operator("SCMP_CMP_MASKED_EQ"), SCMP_CMP_MASKED_EQ);
    EXPECT_FALSE(seccomp_operator("SCMP_CMP_ALMOST"));
    EXPECT_EQ(seccomp_arch("SCMP_ARCH_X86_64"), SCMP_ARCH_X86_64);
    EXPECT_EQ(seccomp_arch("SCMP_ARCH_AARCH64"), SCMP_ARCH_AARCH64);
    EXPECT_FALSE(seccomp_arch("SCMP_ARCH_PDP11"));
}

TEST(Seccomp, UnknownSyscallsAreSkippedNotFatal) {
    spec::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"};
    s.syscalls = {{{"mkdir", "no_such_syscall_ever"}, "SCMP_ACT_ERRNO", 1, {}},
                  {{"getpid"}, "SCMP_ACT_ALLOW", {}, {}},  // same as default: dropped
                  {{"personality"},
                   "SCMP_ACT_ERRNO",
                   {},
                   {{0, 0, 0, "SCMP_CMP_EQ"}, {0, 8, 0, "SCMP_CMP_EQ"}}}};
    std::vector<std::string> skipped;
    auto f = build_seccomp(s, skipped);
    ASSERT_TRUE(f) << f.error().message();
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_NE(skipped[0].find("no_such_syscall_ever"), std::string::npos);
    EXPECT_FALSE(f->uses_notify());
}

}  // namespace
}  // namespace sandbox

TEST(Seccomp, OnlyANotifyActionMayWaitForAnAgent) {
    EXPECT_FALSE(sandbox::seccomp_may_wait_for_agent(std::nullopt));
    spec::Seccomp s;
    s.default_action = "SCMP_ACT_ALLOW";
    s.syscalls.push_back({{"mkdir"}, "SCMP_ACT_ERRNO", 1, {}});
    EXPECT_FALSE(sandbox::seccomp_may_wait_for_agent(s));
    s.syscalls.push_back({{"read"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
    EXPECT_TRUE(sandbox::seccomp_may_wait_for_agent(s));
    s.syscalls.pop_back();
    s.default_action = "SCMP_ACT_NOTIFY";
    EXPECT_TRUE(sandbox::seccomp_may_wait_for_agent(s));
}
