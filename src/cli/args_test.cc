#include "cli/args.h"

#include <gtest/gtest.h>

namespace cli {
namespace {

const std::vector<FlagSpec> kGlobals = {
    {"root", true, ""}, {"debug", false, ""}, {"log-format", true, ""}};
const std::vector<CommandSpec> kCommands = {
    {"create", "<id>", "", {{"b,bundle", true, ""}, {"no-pivot", false, ""}}, 1, 1},
    {"kill", "<id> [signal]", "", {{"a,all", false, ""}}, 1, 2},
    {"exec", "<id> <cmd>...", "", {{"t,tty", false, ""}}, 1, 100},
};

ParsedArgs parse(std::vector<std::string> argv) {
    argv.insert(argv.begin(), "hako");
    auto r = parse_args(argv, kGlobals, kCommands);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : ParsedArgs{};
}

TEST(Args, ContainerdStyle) {
    auto p = parse({"--root", "/run/x", "--log-format=json", "create", "--bundle", "/b", "id1"});
    EXPECT_EQ(p.global("root"), "/run/x");
    EXPECT_EQ(p.global("log-format"), "json");
    EXPECT_EQ(p.command, "create");
    EXPECT_EQ(p.value("bundle"), "/b");
    EXPECT_EQ(p.args, std::vector<std::string>{"id1"});
}

TEST(Args, SingleDashLongFlagsAndShortOnes) {
    auto p = parse({"-root", "/r", "-debug", "create", "-b", "/b", "-no-pivot", "c"});
    EXPECT_EQ(p.global("root"), "/r");
    EXPECT_EQ(p.global("debug"), "true");
    EXPECT_EQ(p.value("bundle"), "/b");
    EXPECT_TRUE(p.flag("no-pivot"));
}

TEST(Args, BoolWithExplicitValue) {
    auto p = parse({"create", "--no-pivot=false", "c"});
    EXPECT_FALSE(p.flag("no-pivot"));
}

TEST(Args, FlagsStopAtTheFirstPositional) {
    auto p = parse({"exec", "-t", "c", "sh", "-c", "echo hi"});
    EXPECT_TRUE(p.flag("tty"));
    EXPECT_EQ(p.args, (std::vector<std::string>{"c", "sh", "-c", "echo hi"}));
    p = parse({"kill", "--", "c", "-9"});
    EXPECT_EQ(p.args, (std::vector<std::string>{"c", "-9"}));
}

TEST(Args, FlagsMayFollowTheIdExceptBeforeACommandLine) {
    auto p = parse({"create", "c", "--bundle", "/b", "--no-pivot"});
    EXPECT_EQ(p.value("bundle"), "/b");
    EXPECT_TRUE(p.flag("no-pivot"));
    EXPECT_EQ(p.args, std::vector<std::string>{"c"});
    p = parse({"kill", "c", "-a", "KILL"});
    EXPECT_TRUE(p.flag("all"));
    EXPECT_EQ(p.args, (std::vector<std::string>{"c", "KILL"}));
    p = parse({"exec", "c", "ls", "-t"});
    EXPECT_FALSE(p.flag("tty"));
    EXPECT_EQ(p.args, (std::vector<std::string>{"c", "ls", "-t"}));
}

TEST(Args, SizesAsRuncsUpdateTakesThem) {
    EXPECT_EQ(parse_size("1024"), 1024);
    EXPECT_EQ(parse_size("50M"), 50LL << 20);
    EXPECT_EQ(parse_size("50m"), 50LL << 20);
    EXPECT_EQ(parse_size("512kb"), 512LL << 10);
    EXPECT_EQ(parse_size("2GiB"), 2LL << 30);
    EXPECT_EQ(parse_size("1.5g"), 3LL << 29);
    EXPECT_EQ(parse_size("-1"), -1);
    EXPECT_FALSE(parse_size(""));
    EXPECT_FALSE(parse_size("M"));
    EXPECT_FALSE(parse_size("12x"));
    EXPECT_FALSE(parse_size("1.2.3k"));
    EXPECT_FALSE(parse_size("99999999p"));
}

TEST(Args, ErrorsAreRuncLike) {
    auto bad = [](std::vector<std::string> argv) {
        argv.insert(argv.begin(), "hako");
        auto r = parse_args(argv, kGlobals, kCommands);
        return r ? std::string("(parsed)") : r.error().message();
    };
    EXPECT_EQ(bad({"create", "--nope", "c"}),
              "flag provided but not defined: -nope (in `hako create`)");
    EXPECT_EQ(bad({"--root"}), "flag needs an argument: -root");
    EXPECT_EQ(bad({"frobnicate"}), "no such command: frobnicate — see `hako --help`");
    EXPECT_EQ(bad({"create"}), "`hako create` takes <id> — see `hako create --help`");
    EXPECT_EQ(bad({"create", "--no-pivot=maybe", "c"}),
              "invalid boolean value \"maybe\" for -no-pivot (in `hako create`)");
}

TEST(Args, HelpAndVersion) {
    EXPECT_TRUE(parse({"--version"}).version);
    EXPECT_TRUE(parse({"-v"}).version);
    EXPECT_TRUE(parse({"create", "--help"}).help);
    EXPECT_NE(usage_text(kGlobals, kCommands, "").find("commands:"), std::string::npos);
}

}  // namespace
}  // namespace cli

namespace cli {
namespace {

TEST(Args, RepeatedFlagsKeepEveryValue) {
    std::vector<CommandSpec> cmds = {{"exec", "", "", {{"e,env", true, ""}}, 1, 100}};
    auto r = parse_args({"hako", "exec", "-e", "A=1", "--env=B=2", "c", "sh"}, {}, cmds);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->values("env"), (std::vector<std::string>{"A=1", "B=2"}));
    EXPECT_EQ(r->value("env"), "B=2");
}

TEST(Args, GoDurations) {
    EXPECT_EQ(parse_duration_ms("5s"), 5000);
    EXPECT_EQ(parse_duration_ms("500ms"), 500);
    EXPECT_EQ(parse_duration_ms("1m30s"), 90000);
    EXPECT_EQ(parse_duration_ms("1.5s"), 1500);
    EXPECT_FALSE(parse_duration_ms("5"));
    EXPECT_FALSE(parse_duration_ms("s"));
    EXPECT_FALSE(parse_duration_ms("5x"));
}

TEST(Duration, OutOfRangeAndNonNumbersAreRefused) {
    // Found by fuzz_cli: a value past int64 milliseconds made the conversion undefined.
    EXPECT_EQ(parse_duration_ms("777777777777777777777777777777777777777777777m"), std::nullopt);
    EXPECT_EQ(parse_duration_ms("infs"), std::nullopt);
    EXPECT_EQ(parse_duration_ms("nans"), std::nullopt);
    EXPECT_EQ(parse_duration_ms("0x10s"), std::nullopt);
    EXPECT_EQ(parse_duration_ms("1m30s"), 90000);
}

}  // namespace
}  // namespace cli
