#include "runtime/exec.h"

#include <gtest/gtest.h>

namespace runtime {
namespace {

TEST(ExecProcess, FlagsChangeTheContainersProcess) {
    spec::Process base;
    base.args = {"sleep", "60"};
    base.env = {"PATH=/bin", "FOO=old"};
    base.cwd = "/";
    ExecOptions o;
    o.args = {"sh", "-c", "true"};
    o.env = {"FOO=new", "BAR=1"};
    o.user = "1000:100";
    o.additional_gids = {"5"};
    o.caps = {"CAP_SYS_ADMIN"};
    o.cwd = "/tmp";
    std::vector<std::string> warnings;
    auto p = exec_process_spec(base, o, warnings);
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_EQ(p->args, o.args);
    EXPECT_EQ(p->env, (std::vector<std::string>{"PATH=/bin", "FOO=new", "BAR=1"}));
    EXPECT_EQ(p->user.uid, 1000u);
    EXPECT_EQ(p->user.gid, 100u);
    EXPECT_EQ(p->user.additional_gids, std::vector<std::uint32_t>{5});
    ASSERT_TRUE(p->capabilities);
    EXPECT_EQ(p->capabilities->effective, std::vector<int>{21});
    EXPECT_EQ(p->cwd, "/tmp");
}

TEST(ExecProcess, BadFlagsAreNamed) {
    spec::Process base;
    std::vector<std::string> w;
    ExecOptions o;
    EXPECT_EQ(exec_process_spec(base, o, w).error().message(),
              "exec: a command to run is required");
    o.args = {"x"};
    o.user = "bob";
    EXPECT_EQ(exec_process_spec(base, o, w).error().message(),
              "--user: expected a number, got \"bob\"");
    o.user = "";
    o.caps = {"CAP_NOPE"};
    EXPECT_EQ(exec_process_spec(base, o, w).error().message(),
              "--cap: unknown capability \"CAP_NOPE\"");
}

}  // namespace
}  // namespace runtime
