#include "spec/config.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <nlohmann/json.hpp>

#include "spec/default_spec.h"

namespace spec {
namespace {

using nlohmann::json;

json base() { return json::parse(default_config_json()); }

std::string error_of(const json& j) {
    auto r = parse_config(j.dump(), "/bundle");
    EXPECT_FALSE(r) << "expected a parse error for " << j.dump();
    return r ? "" : r.error().message();
}

TEST(Config, DefaultSpecParses) {
    auto r = parse_config(default_config_json(), "/bundle");
    ASSERT_TRUE(r) << r.error().message();
    const Spec& s = r->spec;
    EXPECT_EQ(s.root.path, "/bundle/rootfs");
    EXPECT_TRUE(s.root.readonly);
    ASSERT_TRUE(s.process);
    EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
    EXPECT_EQ(s.mounts.size(), 7u);
    EXPECT_EQ(s.mounts[2].destination, "/dev/pts");
    ASSERT_TRUE(s.process->capabilities);
    EXPECT_EQ(s.process->capabilities->bounding.size(), 3u);
    EXPECT_EQ(s.linux.namespaces.size(), 5u);  // runc's: no cgroup namespace
    EXPECT_TRUE(s.process->terminal);
    EXPECT_TRUE(r->warnings.empty());
}

TEST(Config, RootlessSpecMapsOnlyTheCallerAndDropsWhatNeedsPrivileges) {
    RootlessIds ids{1234, 567};
    auto r = parse_config(default_config_json(&ids), "/bundle");
    ASSERT_TRUE(r) << r.error().message();
    const Spec& s = r->spec;
    ASSERT_EQ(s.linux.uid_mappings.size(), 1u);
    EXPECT_EQ(s.linux.uid_mappings[0].host_id, 1234u);
    EXPECT_EQ(s.linux.gid_mappings[0].host_id, 567u);
    EXPECT_NE(s.linux.find_namespace(NamespaceType::kUser), nullptr);
    EXPECT_EQ(s.linux.find_namespace(NamespaceType::kNetwork), nullptr);
    EXPECT_FALSE(s.linux.resources);
    for (const auto& m : s.mounts) {
        if (m.destination == "/sys") {
            EXPECT_EQ(m.source, "/sys");
        }
        for (const auto& o : m.options) EXPECT_NE(o.rfind("gid=", 0), 0u) << m.destination;
    }
}

// The devpts trap: refused at parse time, naming the mount, the map and both fixes.
TEST(Config, UnmappedGidOptionIsRefusedBeforeMounting) {
    RootlessIds ids{1234, 567};
    json j = json::parse(default_config_json(&ids));
    j["mounts"][2]["options"].push_back("gid=5");
    std::string e = error_of(j);
    EXPECT_NE(e.find("mounts[2] (devpts on /dev/pts): gid=5: gid 5 is not mapped"),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("linux.gidMappings maps gids 0-0"), std::string::npos) << e;
    EXPECT_NE(e.find("add gid 5 to linux.gidMappings or drop gid=5"), std::string::npos) << e;

    j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 567}, {"size", 1}},
                                 {{"containerID", 1}, {"hostID", 100000}, {"size", 65536}}};
    EXPECT_TRUE(parse_config(j.dump(), "/bundle"));
    j["mounts"][1]["options"].push_back("uid=70000");  // the /dev tmpfs
    EXPECT_NE(error_of(j).find("mounts[1] (tmpfs on /dev): uid=70000: uid 70000 is not mapped"),
              std::string::npos);
}

// Docker sends zeros for what it does not set; runc reads them as unset, and so do we.
TEST(Config, ZeroResourceValuesMeanUnset) {
    json j = base();
    j["linux"]["resources"]["blockIO"] = {{"weight", 0}};
    j["linux"]["resources"]["memory"] = {{"limit", 0}, {"swap", 0}};
    j["linux"]["resources"]["cpu"] = {{"shares", 0}, {"quota", 0}, {"cpus", "0"}};
    j["linux"]["resources"]["pids"] = {{"limit", 0}};
    auto r = parse_config(j.dump(), "/bundle");
    ASSERT_TRUE(r) << r.error().message();
    const Resources& res = *r->spec.linux.resources;
    EXPECT_FALSE(res.block_io->weight);
    EXPECT_FALSE(res.memory->limit);
    EXPECT_FALSE(res.memory->swap);
    EXPECT_FALSE(res.cpu->shares);
    EXPECT_FALSE(res.cpu->quota);
    EXPECT_EQ(res.cpu->cpus, "0");
    EXPECT_FALSE(res.pids_limit);
}

TEST(Config, CgroupsPathMayNotClimb) {
    for (const char* path : {"../x", "/a/../../b", "a/.."}) {
        json j = base();
        j["linux"]["cgroupsPath"] = path;
        EXPECT_EQ(error_of(j).rfind("linux.cgroupsPath: must not contain \"..\"", 0), 0U)
            << error_of(j);
    }
    json j = base();
    j["linux"]["cgroupsPath"] = "/a/..b/c..";  // names, not climbs
    EXPECT_TRUE(parse_config(j.dump(), "/bundle"));
}

TEST(Config, SyntaxErrorsGiveLineAndColumn) {
    auto r = parse_config("{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": {,}\n}", "/b");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message().rfind("config.json:3:", 0), 0u) << r.error().message();
}

TEST(Config, UnknownNamespaceTypeNamesPathAndValue) {
    json j = base();
    j["linux"]["namespaces"][2]["type"] = "netns";
    EXPECT_EQ(error_of(j).rfind("linux.namespaces[2].type: unknown namespace type \"netns\"", 0),
              0u)
        << error_of(j);
}

TEST(Config, DuplicateNamespace) {
    json j = base();
    j["linux"]["namespaces"].push_back({{"type", "pid"}});
    EXPECT_EQ(error_of(j), "linux.namespaces[5].type: namespace \"pid\" is given more than once");
}

TEST(Config, WrongTypeSaysWhatItGot) {
    json j = base();
    j["process"]["args"] = json::array({"sh", 5});
    EXPECT_EQ(error_of(j), "process.args[1]: expected a string, got integer 5");
}

TEST(Config, MissingRequiredField) {
    json j = base();
    j["process"].erase("cwd");
    EXPECT_EQ(error_of(j), "process.cwd: required but missing");
}

TEST(Config, RelativeCwdIsAnError) {
    json j = base();
    j["process"]["cwd"] = "tmp";
    EXPECT_EQ(error_of(j), "process.cwd: must be an absolute path, got \"tmp\"");
}

TEST(Config, RlimitSoftAboveHard) {
    json j = base();
    j["process"]["rlimits"][0]["soft"] = 2048;
    EXPECT_EQ(error_of(j), "process.rlimits[0]: soft limit 2048 is above hard limit 1024");
}

TEST(Config, UnknownCapabilityIsAWarningWithASuggestion) {
    json j = base();
    j["process"]["capabilities"]["bounding"].push_back("CAP_SYS_ADMN");
    auto r = parse_config(j.dump(), "/b");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_EQ(r->warnings[0],
              "process.capabilities.bounding[3]: unknown capability \"CAP_SYS_ADMN\" ignored (did "
              "you mean CAP_SYS_ADMIN?)");
}

TEST(Config, RelativeMountDestinationIsDeprecatedNotFatal) {
    json j = base();
    j["mounts"][0]["destination"] = "proc";
    auto r = parse_config(j.dump(), "/b");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->spec.mounts[0].destination, "/proc");
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_NE(r->warnings[0].find("deprecated"), std::string::npos);
}

TEST(Config, UnknownFieldsAreIgnoredButUnknownEnumValuesAreNot) {
    json j = base();
    j["somethingNew"] = {{"x", 1}};
    j["linux"]["futureField"] = true;
    EXPECT_TRUE(parse_config(j.dump(), "/b"));
    j["linux"]["rootfsPropagation"] = "sideways";
    EXPECT_EQ(
        error_of(j).rfind("linux.rootfsPropagation: unknown rootfs propagation \"sideways\"", 0),
        0u);
}

TEST(Config, UserNamespaceNeedsMapsAndMapsNeedAUserNamespace) {
    json j = base();
    j["linux"]["namespaces"].push_back({{"type", "user"}});
    EXPECT_NE(error_of(j).find("a new user namespace needs linux.uidMappings"), std::string::npos);
    j = base();
    j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
    j["linux"]["gidMappings"] = j["linux"]["uidMappings"];
    EXPECT_NE(error_of(j).find("does not create a user namespace"), std::string::npos);
}

TEST(Config, OverlappingMapsAndUnmappedUser) {
    json j = base();
    j["linux"]["namespaces"].push_back({{"type", "user"}});
    j["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 10}},
                                 {{"containerID", 5}, {"hostID", 5000}, {"size", 10}}};
    j["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 10}}};
    EXPECT_EQ(error_of(j), "linux.uidMappings[1]: container ids overlap with linux.uidMappings[0]");
    j["linux"]["uidMappings"] = {{{"containerID", 1}, {"hostID", 1000}, {"size", 10}}};
    EXPECT_EQ(error_of(j), "process.user.uid: 0 is not mapped in linux.uidMappings");
}

TEST(Config, MountNamespaceMayBeSharedOrJoined) {
    json j = base();
    j["hostname"] = "";
    j["linux"]["namespaces"] = {{{"type", "pid"}}};
    EXPECT_TRUE(parse_config(j.dump(), "/bundle"));
    j["linux"]["namespaces"] = {{{"type", "mount"}, {"path", "/proc/1/ns/mnt"}}};
    EXPECT_TRUE(parse_config(j.dump(), "/bundle"));
}

TEST(Config, NamespaceTable) {
    EXPECT_STREQ(namespace_name(NamespaceType::kNetwork), "network");
    EXPECT_STREQ(namespace_proc_name(NamespaceType::kNetwork), "net");
    EXPECT_STREQ(namespace_proc_name(NamespaceType::kMount), "mnt");
    EXPECT_EQ(namespace_clone_flag(NamespaceType::kTime), CLONE_NEWTIME);
    EXPECT_EQ(namespace_of_clone_flag(CLONE_NEWUTS), NamespaceType::kUts);
    EXPECT_FALSE(namespace_of_clone_flag(0));
}

TEST(Config, DeviceAccessLettersBeyondRwmAreDroppedWithAWarning) {
    json j = base();
    j["linux"]["resources"]["devices"] = {
        {{"allow", false}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "rwa"}}};
    auto r = parse_config(j.dump(), "/bundle");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->spec.linux.resources->devices[0].access, "rw");
    ASSERT_EQ(r->warnings.size(), 1u);
    EXPECT_NE(r->warnings[0].find("\"rwa\" has letters other than r, w, m"), std::string::npos);
    j["linux"]["resources"]["devices"][0]["access"] = "x";
    EXPECT_NE(error_of(j).find("expected letters of \"rwm\""), std::string::npos);
}

TEST(Config, MemoryPolicyModesFlagsAndNodes) {
    json j = base();
    j["linux"]["memoryPolicy"] = {
        {"mode", "MPOL_INTERLEAVE"}, {"nodes", "0-1"}, {"flags", {"MPOL_F_STATIC_NODES"}}};
    auto r = parse_config(j.dump(), "/bundle");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(r->spec.linux.memory_policy);
    EXPECT_EQ(r->spec.linux.memory_policy->mode, 3);  // MPOL_INTERLEAVE
    EXPECT_EQ(r->spec.linux.memory_policy->flags, 1 << 15);
    EXPECT_EQ(r->spec.linux.memory_policy->nodes, "0-1");
    j["linux"]["memoryPolicy"] = {{"mode", "MPOL_LOCAL"}, {"nodes", "0"}};
    EXPECT_NE(error_of(j).find("MPOL_LOCAL takes no nodes"), std::string::npos);
    j["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}};
    EXPECT_NE(error_of(j).find("MPOL_BIND needs at least one memory node"), std::string::npos);
    j["linux"]["memoryPolicy"] = {{"mode", "MPOL_BIND"}, {"nodes", "0"}, {"flags", {"MPOL_F_X"}}};
    EXPECT_NE(error_of(j).find("MPOL_F_X"), std::string::npos);
}

TEST(Config, HostnameNeedsUts) {
    json j = base();
    j["linux"]["namespaces"] = {{{"type", "mount"}}};
    EXPECT_EQ(error_of(j),
              "hostname: setting the hostname needs a uts namespace in linux.namespaces");
}

TEST(Config, DeviceTypeAndMode) {
    json j = base();
    j["linux"]["devices"] = {{{"path", "/dev/fuse"}, {"type", "x"}, {"major", 10}, {"minor", 229}}};
    EXPECT_EQ(error_of(j).rfind("linux.devices[0].type: unknown device type \"x\"", 0), 0u);
    j["linux"]["devices"] = {{{"path", "dev/fuse"}, {"type", "c"}, {"major", 10}, {"minor", 229}}};
    EXPECT_EQ(error_of(j), "linux.devices[0].path: must be an absolute path, got \"dev/fuse\"");
}

TEST(Config, VersionMustBeOne) {
    json j = base();
    j["ociVersion"] = "2.0.0";
    EXPECT_EQ(error_of(j).rfind("ociVersion: unsupported version \"2.0.0\"", 0), 0u);
}

TEST(Config, BindSourceResolvedAgainstTheBundle) {
    json j = base();
    j["mounts"].push_back({{"destination", "/data"},
                           {"type", "bind"},
                           {"source", "data"},
                           {"options", {"rbind", "ro"}}});
    auto r = parse_config(j.dump(), "/bundle");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->spec.mounts.back().source, "/bundle/data");
}

TEST(Config, OomScoreAdjRange) {
    json j = base();
    j["process"]["oomScoreAdj"] = 1001;
    EXPECT_EQ(error_of(j), "process.oomScoreAdj: value 1001 is out of range [-1000, 1000]");
}

TEST(Config, SeccompNotifyNeedsAListener) {
    json j = base();
    j["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                             {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_NOTIFY"}}}}};
    EXPECT_EQ(error_of(j), "linux.seccomp: SCMP_ACT_NOTIFY is used but listenerPath is not set");
}

TEST(Config, NamespaceFlags) {
    EXPECT_EQ(namespace_clone_flag(NamespaceType::kTime), CLONE_NEWTIME);
    EXPECT_STREQ(namespace_name(NamespaceType::kNetwork), "network");
}

}  // namespace
}  // namespace spec

namespace spec {
namespace {

TEST(ConfigSysctl, OnlyNamespacedKeysOwnedByTheContainer) {
    json j = base();
    j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "1000000"}};
    EXPECT_TRUE(parse_config(j.dump(), "/b"));
    j["linux"]["sysctl"] = {{"vm.swappiness", "10"}};
    EXPECT_EQ(error_of(j),
              "linux.sysctl.\"vm.swappiness\": not a namespaced sysctl: setting it would change "
              "the host");
    j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
    j["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "uts"}}};
    EXPECT_EQ(error_of(j),
              "linux.sysctl.\"net.ipv4.ip_forward\": belongs to the network namespace, which the "
              "container shares with the host; add a network namespace to linux.namespaces");
}

}  // namespace
}  // namespace spec
