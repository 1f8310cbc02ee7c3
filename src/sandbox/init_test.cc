#include "sandbox/init.h"

#include <gtest/gtest.h>
#include <sched.h>

namespace sandbox {
namespace {

using spec::NamespaceType;

spec::Linux with(std::vector<spec::Namespace> ns) {
    spec::Linux l;
    l.namespaces = std::move(ns);
    return l;
}

TEST(NamespacePlan, AllNewIsOneCloneButCgroupComesAfterJoiningCgroups) {
    auto p = plan_namespaces(with({{NamespaceType::kPid, ""},
                                   {NamespaceType::kMount, ""},
                                   {NamespaceType::kUser, ""},
                                   {NamespaceType::kCgroup, ""}}));
    EXPECT_EQ(p.birth_flags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUSER);
    EXPECT_EQ(p.unshare_flags, CLONE_NEWCGROUP);
    EXPECT_FALSE(p.extra_fork);
    EXPECT_FALSE(p.new_user);
}

TEST(NamespacePlan, NetworkIpcAndUtsMayBeUnsharedEarlyWithoutAUserNamespace) {
    auto plain = plan_namespaces(with({{NamespaceType::kPid, ""},
                                       {NamespaceType::kMount, ""},
                                       {NamespaceType::kNetwork, ""},
                                       {NamespaceType::kIpc, ""},
                                       {NamespaceType::kUts, ""}}));
    EXPECT_EQ(early_unshare_flags(plain), CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS);
    // A child in a new user namespace could not open the host's cgroup files; one that joins
    // by path must join before it makes anything.
    auto user = plan_namespaces(with({{NamespaceType::kUser, ""}, {NamespaceType::kNetwork, ""}}));
    EXPECT_EQ(early_unshare_flags(user), 0);
    auto joins = plan_namespaces(
        with({{NamespaceType::kNetwork, ""}, {NamespaceType::kIpc, "/proc/1/ns/ipc"}}));
    EXPECT_EQ(early_unshare_flags(joins), 0);
}

TEST(NamespacePlan, JoiningMeansUnshareInTheChildAndForkForPid) {
    auto p = plan_namespaces(with({{NamespaceType::kPid, ""},
                                   {NamespaceType::kMount, ""},
                                   {NamespaceType::kUser, ""},
                                   {NamespaceType::kNetwork, "/proc/1/ns/net"}}));
    EXPECT_EQ(p.birth_flags, 0);
    EXPECT_TRUE(p.new_user);
    EXPECT_EQ(p.unshare_flags, CLONE_NEWPID | CLONE_NEWNS);
    EXPECT_TRUE(p.extra_fork);
}

TEST(NamespacePlan, TimeOffsetsNeedTheUnsharePath) {
    auto p = plan_namespaces(with({{NamespaceType::kMount, ""}, {NamespaceType::kTime, ""}}));
    EXPECT_EQ(p.birth_flags, 0);
    EXPECT_EQ(p.unshare_flags, CLONE_NEWNS | CLONE_NEWTIME);
    EXPECT_TRUE(p.extra_fork);
}

TEST(JoinOrder, UserFirstMountLastTheRestAsConfigured) {
    using T = NamespaceType;
    std::vector<spec::Namespace> nss = {
        {T::kMount, "/m"}, {T::kNetwork, "/n"}, {T::kUser, "/u"}, {T::kIpc, "/i"}, {T::kPid, ""}};
    EXPECT_EQ(join_order(nss), (std::vector<std::size_t>{2, 1, 3, 4, 0}));
}

TEST(JoinOrder, NothingToReorder) {
    using T = NamespaceType;
    EXPECT_TRUE(join_order({}).empty());
    std::vector<spec::Namespace> nss = {{T::kNetwork, ""}, {T::kUts, ""}};
    EXPECT_EQ(join_order(nss), (std::vector<std::size_t>{0, 1}));
}

}  // namespace
}  // namespace sandbox
