#include "runtime/state_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "sys/proc.h"

namespace runtime {
namespace {

// The hand-made UTC date against glibc's gmtime_r, across leap years, century rules and the
// epoch's both sides.
TEST(Rfc3339, MatchesGmtime) {
    std::vector<std::int64_t> secs = {0,          -1,         86399,       86400,
                                      951782399,  951782400,  951868800,   4107542399,
                                      4107542400, 1733443200, -2208988800, 253402300799};
    for (std::int64_t s = -4000000000LL; s < 8000000000LL; s += 7919LL * 3601) secs.push_back(s);
    for (std::int64_t s : secs) {
        auto t = static_cast<std::time_t>(s);
        std::tm utc{};
        ASSERT_NE(::gmtime_r(&t, &utc), nullptr);
        char want[64];
        std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", utc.tm_year + 1900,
                      utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, 123456789L);
        EXPECT_EQ(format_rfc3339_utc(s, 123456789L), want) << s;
    }
    EXPECT_EQ(format_rfc3339_utc(1733443200, 5), "2024-12-06T00:00:00.000000005Z");
}

TEST(ContainerId, RejectsPathTricks) {
    EXPECT_TRUE(valid_container_id("web-1_a.b+c"));
    EXPECT_FALSE(valid_container_id(""));
    EXPECT_FALSE(valid_container_id("."));
    EXPECT_FALSE(valid_container_id(".."));
    EXPECT_FALSE(valid_container_id("a/b"));
    EXPECT_FALSE(valid_container_id("../../etc"));
    EXPECT_FALSE(valid_container_id("a b"));
    EXPECT_FALSE(valid_container_id(std::string(2000, 'a')));
}

TEST(ContainerId, SaysWhatIsWrong) {
    EXPECT_EQ(container_id_problem("ok-1"), "");
    EXPECT_EQ(container_id_problem(""), "it is empty");
    EXPECT_EQ(container_id_problem(".."), "\"..\" names a directory, not a container");
    EXPECT_EQ(container_id_problem("a/b").rfind("it contains '/'", 0), 0U);
    EXPECT_EQ(container_id_problem("a\tb").rfind("it contains a space or control character", 0),
              0U);
    EXPECT_TRUE(valid_container_id(std::string(kMaxIdLength, 'a')));
    EXPECT_EQ(container_id_problem(std::string(kMaxIdLength + 1, 'a')),
              "it is 256 characters long, and at most 255 fit in a file name of the state "
              "directory");
    EXPECT_EQ(invalid_id_error(std::string(300, 'x')).op,
              "invalid container id \"" + std::string(40, 'x') + "...\"");
}

TEST(StateJson, RoundTripsPrivateFields) {
    State s;
    s.id = "c1";
    s.pid = 42;
    s.start_time = 777;
    s.bundle = "/b";
    s.rootfs = "/b/rootfs";
    s.annotations = {{"k", "v"}};
    s.created = "2026-01-01T00:00:00.000000000Z";
    s.cgroup_dirs = {"/sys/fs/cgroup/memory/x"};
    s.cgroup_created = {"/sys/fs/cgroup/memory/x"};
    s.own_pid_namespace = true;
    auto back = state_from_json(to_json(s, true));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(back->pid, 42);
    EXPECT_EQ(back->start_time, 777u);
    EXPECT_EQ(back->annotations.at("k"), "v");
    EXPECT_EQ(back->cgroup_dirs, s.cgroup_dirs);
    EXPECT_TRUE(back->own_pid_namespace);
}

TEST(StateJson, MissingOrMistypedFieldsAreRefusedByName) {
    State s;
    s.id = "c1";
    s.bundle = "/b";
    std::string good = to_json(s, true);
    ASSERT_TRUE(state_from_json(good));
    auto no_hako = state_from_json(R"({"id":"c1","pid":1,"bundle":"/b"})");
    ASSERT_FALSE(no_hako);
    EXPECT_NE(no_hako.error().message().find("missing hako, hako.initStartTime"), std::string::npos)
        << no_hako.error().message();
    auto id_number = state_from_json(R"({"id":7})");
    ASSERT_FALSE(id_number);
    EXPECT_NE(id_number.error().message().find("\"id\" has a value of the wrong type"),
              std::string::npos);
    auto dirs_of_numbers = good;
    dirs_of_numbers.replace(dirs_of_numbers.find("\"cgroupDirs\":[]"), 15, "\"cgroupDirs\":[1]");
    EXPECT_FALSE(state_from_json(dirs_of_numbers));
    EXPECT_FALSE(state_from_json(good.substr(0, good.size() - 2)));  // cut short
    auto extra = good;
    extra.insert(1, R"("future":{"a":[1,{"b":null}]},)");
    ASSERT_TRUE(state_from_json(extra));
}

TEST(StateJson, ASummaryReadStopsBeforeTheCgroupLists) {
    State s;
    s.id = "c1";
    s.bundle = "/b";
    s.owner = 7;
    s.creating = true;
    s.cgroup_dirs = {"/sys/fs/cgroup/memory/x"};
    s.cgroup_created = s.cgroup_dirs;
    bool stopped = false;
    auto summary = state_from_json(to_json(s, true), true, &stopped);
    ASSERT_TRUE(summary) << summary.error().message();
    EXPECT_TRUE(stopped);
    EXPECT_EQ(summary->owner, 7u);
    EXPECT_TRUE(summary->creating);
    EXPECT_TRUE(summary->cgroup_dirs.empty());
    // A state written with the lists before "creating" (older hako) is read whole.
    std::string old_order = R"({"id":"c1","pid":1,"bundle":"/b","hako":{"initStartTime":1,)"
                            R"("owner":0,"cgroupDirs":["/d"],"cgroupCreated":[],"creating":true}})";
    auto whole = state_from_json(old_order, true, &stopped);
    ASSERT_TRUE(whole) << whole.error().message();
    EXPECT_FALSE(stopped);
    EXPECT_EQ(whole->cgroup_dirs, std::vector<std::string>{"/d"});
    // Without "creating" at all, nothing is skipped either.
    EXPECT_FALSE(state_from_json(R"({"id":"c1","pid":1,"bundle":"/b","hako":{})", true, &stopped));
}

TEST(StateJson, PublicFormHidesThePidOfAStoppedContainer) {
    State s;
    s.id = "c1";
    s.pid = 42;
    s.status = "stopped";
    EXPECT_NE(to_json(s, false).find("\"pid\": 0"), std::string::npos);
}

TEST(Status, PidReuseIsDetected) {
    State s;
    s.pid = ::getpid();
    s.start_time = sys::read_proc_stat(::getpid())->start_time;
    EXPECT_EQ(derive_status(s, "/nonexistent"), "running");
    s.start_time += 1;  // same pid, another process
    EXPECT_EQ(derive_status(s, "/nonexistent"), "stopped");
}

}  // namespace
}  // namespace runtime
