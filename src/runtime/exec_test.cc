#include "runtime/exec.h"

#include <gtest/gtest.h>

namespace runtime {
namespace {

TEST(SubCgroups, PlainAndPerControllerPaths) {
    std::vector<std::string> dirs = {"/sys/fs/cgroup/memory/c", "/sys/fs/cgroup/cpu,cpuacct/c",
                                     "/sys/fs/cgroup/unified/c"};
    std::vector<std::string> ctrls = {"memory", "cpu,cpuacct", ""};
    auto all = sub_cgroup_dirs(dirs, ctrls, {"sub"});
    ASSERT_TRUE(all) << all.error().message();
    EXPECT_EQ((*all)[0], "/sys/fs/cgroup/memory/c/sub");
    EXPECT_EQ((*all)[2], "/sys/fs/cgroup/unified/c/sub");
    auto some = sub_cgroup_dirs(dirs, ctrls, {"memory:m", "cpu:x/y"});
    ASSERT_TRUE(some) << some.error().message();
    EXPECT_EQ((*some)[0], "/sys/fs/cgroup/memory/c/m");
    EXPECT_EQ((*some)[1], "/sys/fs/cgroup/cpu,cpuacct/c/x/y");
    EXPECT_EQ((*some)[2], "/sys/fs/cgroup/unified/c");
    auto top = sub_cgroup_dirs(dirs, ctrls, {"/"});
    ASSERT_TRUE(top);
    EXPECT_EQ(*top, dirs);
    auto up = sub_cgroup_dirs(dirs, ctrls, {".."});
    ASSERT_FALSE(up);
    EXPECT_NE(up.error().message().find(" .. is not a sub cgroup path"), std::string::npos);
    EXPECT_FALSE(sub_cgroup_dirs(dirs, ctrls, {"a/../../b"}));
    auto unknown = sub_cgroup_dirs(dirs, ctrls, {"whaaat:/"});
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message().find("unknown controller whaaat"), std::string::npos);
    EXPECT_FALSE(sub_cgroup_dirs(dirs, ctrls, {"a", "memory:b"}));
    EXPECT_FALSE(sub_cgroup_dirs(dirs, ctrls, {"memory:a", "memory:b"}));
}

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
