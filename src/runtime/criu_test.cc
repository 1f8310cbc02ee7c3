#include "runtime/criu.h"

#include <gtest/gtest.h>
#include <sched.h>

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

TEST(CriuOpts, DumpNamesTheBindMountsAndOutsideStdioAsExternal) {
    CheckpointOptions o;
    o.leave_running = true;
    o.criu.tcp_established = true;
    auto a = dump_opts(o, bundle_spec(), 123, {"", "file[20:4]", "pipe:[9]"});
    EXPECT_EQ(a.pid, 123);
    EXPECT_EQ(a.log_file, "dump.log");
    EXPECT_TRUE(a.leave_running && a.tcp_established);
    EXPECT_TRUE(a.orphan_pts_master) << "a terminal's slave is dumped without its master";
    EXPECT_EQ(a.config_file, "/etc/criu/runc.conf") << "runc's default";
    spec::Spec own = bundle_spec();
    own.annotations["org.criu.config"] = "/etc/mine.conf";
    EXPECT_EQ(dump_opts(o, own, 1, {}).config_file, "/etc/mine.conf");
    own.annotations["org.criu.config"] = "";
    EXPECT_EQ(dump_opts(o, own, 1, {}).config_file, "") << "an empty annotation: no file";
    EXPECT_TRUE(has(a.external, "mnt[/data]:/data")) << "by destination";
    EXPECT_FALSE(has(a.external, "mnt[/tmp]:/tmp")) << "a tmpfs is the container's own";
    EXPECT_TRUE(has(a.external, "file[20:4]"));
    EXPECT_FALSE(has(a.external, "pipe:[9]")) << "criu dumps pipes itself";
    auto r = dump_opts(o, bundle_spec(), 123, {}, {}, [](const std::string& d) {
        return d == "/data" ? std::string("/real/data") : d;
    });
    EXPECT_TRUE(has(r.external, "mnt[/real/data]:/data"))
        << "found where it is mounted (a symlinked destination), named by its destination";
    o.pre_dump = true;
    o.criu.manage_cgroups_mode = "ignore";
    auto p = dump_opts(o, bundle_spec(), 123, {});
    EXPECT_EQ(p.log_file, "pre-dump.log");
    EXPECT_TRUE(p.track_mem);
    EXPECT_EQ(p.manage_cgroups_mode, "ignore");
    EXPECT_FALSE(p.leave_running) << "a pre-dump always leaves it running";
    o.pre_dump = false;
    o.parent_path = "../pre";
    o.page_server = "10.0.0.1:27";
    auto d = dump_opts(o, bundle_spec(), 123, {});
    EXPECT_EQ(d.parent_img, "../pre");
    EXPECT_TRUE(d.track_mem);
    EXPECT_EQ(d.ps_address, "10.0.0.1");
    EXPECT_EQ(d.ps_port, 27);
}

TEST(CriuOpts, RestoreMapsSourcesAndHandsOverStdioOncePerKey) {
    RestoreOptions o;
    o.criu.empty_ns = {"network"};
    auto a = restore_opts(o, bundle_spec(), "/state/criu-root", {{"", "/c2"}, {"memory", "/c2"}},
                          {"", "pipe:[9]", "pipe:[9]"});
    EXPECT_TRUE(a.rst_sibling && a.orphan_pts_master && a.notify_scripts);
    EXPECT_TRUE(has(a.external, "mnt[/data]:/srv/data")) << "destination to source";
    ASSERT_EQ(a.inherit_fd.size(), 1U) << "one fd per key";
    EXPECT_EQ(a.inherit_fd[0], std::make_pair(std::string("pipe:[9]"), 1));
    EXPECT_EQ(a.cg_root.size(), 2U);
    EXPECT_EQ(a.root, "/state/criu-root");
    EXPECT_EQ(a.empty_ns, static_cast<std::uint32_t>(CLONE_NEWNET));
}

TEST(CriuOpts, CgroupDirectoriesBoundWithoutACgroupNamespaceAreExternal) {
    spec::Spec s = bundle_spec();
    spec::Mount cg;
    cg.destination = "/sys/fs/cgroup";
    cg.type = "cgroup";
    cg.source = "cgroup";
    s.mounts.push_back(cg);
    cgroup::Host hybrid;
    hybrid.mode = cgroup::Mode::kHybrid;
    hybrid.hierarchies.resize(2);
    hybrid.hierarchies[0].mount_point = "/sys/fs/cgroup/memory";
    hybrid.hierarchies[1].mount_point = "/sys/fs/cgroup/unified";
    std::vector<std::string> dirs = {"/sys/fs/cgroup/memory/p/c", "/sys/fs/cgroup/unified/p/c"};
    auto binds = cgroup_binds(s, hybrid, dirs);
    ASSERT_EQ(binds.size(), 2U);
    EXPECT_EQ(binds[0], std::make_pair(std::string("/sys/fs/cgroup/memory"), dirs[0]));
    EXPECT_EQ(binds[1].first, "/sys/fs/cgroup/unified");
    EXPECT_TRUE(has(dump_opts({}, s, 1, {}, {{binds[0].first, binds[0].first}}).external,
                    "mnt[/sys/fs/cgroup/memory]:/sys/fs/cgroup/memory"))
        << "dumped under its place";
    EXPECT_TRUE(has(restore_opts({}, s, "/r", {}, {}, binds).external,
                    "mnt[/sys/fs/cgroup/memory]:/sys/fs/cgroup/memory/p/c"))
        << "the new container's own directory where the dumped one's was";
    cgroup::Host unified;
    unified.mode = cgroup::Mode::kUnified;
    unified.hierarchies.resize(1);
    unified.hierarchies[0].mount_point = "/sys/fs/cgroup";
    binds = cgroup_binds(s, unified, {"/sys/fs/cgroup/p/c"});
    ASSERT_EQ(binds.size(), 1U);
    EXPECT_EQ(binds[0].first, "/sys/fs/cgroup");
    spec::Namespace ns;
    ns.type = spec::NamespaceType::kCgroup;
    s.linux.namespaces.push_back(ns);
    EXPECT_TRUE(cgroup_binds(s, unified, {"/sys/fs/cgroup/p/c"}).empty())
        << "a cgroup namespace's mounts are fresh: criu dumps them itself";
}

TEST(CriuOpts, HostDeviceNodesBoundInAUserNamespaceAreExternal) {
    std::string info =
        "63 1 0:40 / / rw - ext4 /dev/vda rw\n"
        "65 63 0:41 / /dev rw - tmpfs tmpfs rw\n"
        "71 65 0:5 /null /dev/null rw,relatime - devtmpfs dev rw,size=1001336k\n"
        "49 64 0:5 /null /proc/kcore rw,relatime - devtmpfs dev rw\n"
        "80 63 0:5 / /mnt/dev rw - devtmpfs dev rw\n";
    auto binds = device_binds_of(info);
    ASSERT_EQ(binds.size(), 2U) << "the nodes, not a whole devtmpfs (criu dumps that itself)";
    EXPECT_EQ(binds[0], std::make_pair(std::string("/dev/null"), std::string("/dev/null")));
    EXPECT_EQ(binds[1], std::make_pair(std::string("/proc/kcore"), std::string("/dev/null")))
        << "a masked file: the host's /dev/null";
    EXPECT_TRUE(
        has(dump_opts({}, bundle_spec(), 1, {}, binds).external, "mnt[/proc/kcore]:/dev/null"));
    spec::Spec s = bundle_spec();
    spec::Device d;
    d.path = "/dev/fuse";
    s.linux.devices.push_back(d);
    auto r = restore_opts({}, s, "/r", {}, {});
    EXPECT_TRUE(has(r.external, "mnt[/dev/null]:/dev/null") &&
                has(r.external, "mnt[/dev/fuse]:/dev/fuse"));
}

TEST(CriuRpc, ARequestDecodesToWhatWasAsked) {
    RestoreOptions o;
    auto opts = restore_opts(o, bundle_spec(), "/r", {{"", "/c2"}, {"cpu,cpuacct", "/c2"}},
                             {"pipe:[1]", "pipe:[2]", ""});
    opts.images_dir_fd = 7;
    opts.work_dir_fd = 8;
    opts.join_ns = {{"uts", "/proc/1/ns/uts"}};
    int type = -1;
    auto back = decode_opts_of_request(encode_request(ReqType::kRestore, opts), &type);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(type, 2) << "rpc.proto's RESTORE";
    EXPECT_EQ(back->images_dir_fd, 7);
    EXPECT_EQ(back->work_dir_fd, 8);
    EXPECT_EQ(back->root, "/r");
    EXPECT_EQ(back->log_file, "restore.log");
    EXPECT_TRUE(back->rst_sibling && back->orphan_pts_master && back->evasive_devices);
    EXPECT_EQ(back->external, opts.external);
    EXPECT_EQ(back->inherit_fd, opts.inherit_fd);
    EXPECT_EQ(back->cg_root, opts.cg_root);
    EXPECT_EQ(back->join_ns, opts.join_ns);
    EXPECT_TRUE(back->parent_img.empty() && back->ps_address.empty());
    EXPECT_FALSE(decode_response("\xff\xff garbage"));
}

}  // namespace
}  // namespace runtime::criu
