#include "runtime/criu.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace runtime::criu {
namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

spec::Spec bundle_spec() {
    spec::Spec s;
    s.root.path = "/b/rootfs";
    spec::Mount bind;
    bind.destination = "/data";
    bind.type = "bind";
    bind.source = "/srv/data";
    bind.options = {"rbind"};
    spec::Mount tmp;
    tmp.destination = "/tmp";
    tmp.type = "tmpfs";
    tmp.source = "tmpfs";
    s.mounts = {bind, tmp};
    return s;
}

TEST(CriuLog, QuotesTheErrorsAndWhatLedToThem) {
    std::string log = "a\nb\nc\nd\ne\nError (x.c:1): it broke\nf\ng\n";
    EXPECT_EQ(log_excerpt(log, 12), "c\nd\ne\nError (x.c:1): it broke");
    EXPECT_EQ(log_excerpt(log, 2), "e\nError (x.c:1): it broke");
    EXPECT_EQ(log_excerpt("1\n2\n3\n4\n5\n6\n7\n", 12), "3\n4\n5\n6\n7") << "no error: the end";
}

TEST(CriuStdio, KeysForPipesAndOutsideFiles) {
    EXPECT_EQ(stdio_key("pipe:[4242]", 30, 4242, false), "pipe:[4242]");
    EXPECT_EQ(stdio_key("/dev/null", 32, 4, true), "file[20:4]");
    EXPECT_EQ(stdio_key("/dev/pts/0", 40, 3, false), "") << "inside the container: no key";
    EXPECT_EQ(stdio_key("socket:[1]", 8, 1, false), "");
}

TEST(CriuArgs, DumpNamesTheBindMountsAndOutsideStdioAsExternal) {
    CheckpointOptions o;
    o.leave_running = true;
    o.criu.tcp_established = true;
    auto a = dump_args(o, bundle_spec(), 123, "/img", "/work", {"", "file[20:4]", "pipe:[9]"});
    EXPECT_EQ(a[0], "dump");
    EXPECT_TRUE(has(a, "--leave-running") && has(a, "--tcp-established"));
    EXPECT_TRUE(has(a, "--manage-cgroups"));
    EXPECT_TRUE(has(a, "--external=mnt[/data]:/data")) << "by destination";
    EXPECT_FALSE(has(a, "--external=mnt[/tmp]:/tmp")) << "a tmpfs is the container's own";
    EXPECT_TRUE(has(a, "--external=file[20:4]"));
    EXPECT_FALSE(has(a, "--external=pipe:[9]")) << "criu dumps pipes itself";
    o.pre_dump = true;
    o.criu.manage_cgroups_mode = "ignore";
    auto p = dump_args(o, bundle_spec(), 123, "/img", "/work", {});
    EXPECT_EQ(p[0], "pre-dump");
    EXPECT_TRUE(has(p, "--track-mem") && has(p, "--manage-cgroups=ignore"));
    EXPECT_FALSE(has(p, "--leave-running")) << "a pre-dump always leaves it running";
    o.pre_dump = false;
    o.parent_path = "../pre";
    auto d = dump_args(o, bundle_spec(), 123, "/img", "/work", {});
    EXPECT_TRUE(has(d, "--prev-images-dir") && has(d, "../pre") && has(d, "--track-mem"));
}

TEST(CriuArgs, RestoreMapsSourcesAndHandsOverStdioOncePerKey) {
    RestoreOptions o;
    auto a = restore_args(o, bundle_spec(), "/img", "/work", "/state/criu-root", "/state/pid",
                          {"/c2", "memory:/c2"}, {"", "pipe:[9]", "pipe:[9]"});
    EXPECT_EQ(a[0], "restore");
    EXPECT_TRUE(has(a, "--restore-sibling") && has(a, "--restore-detached"));
    EXPECT_TRUE(has(a, "--external=mnt[/data]:/srv/data")) << "destination to source";
    EXPECT_TRUE(has(a, "--inherit-fd=fd[1]:pipe:[9]"));
    EXPECT_FALSE(has(a, "--inherit-fd=fd[2]:pipe:[9]")) << "one fd per key";
    EXPECT_TRUE(has(a, "/c2") && has(a, "memory:/c2"));
    EXPECT_TRUE(has(a, "/state/criu-root"));
}

}  // namespace
}  // namespace runtime::criu
