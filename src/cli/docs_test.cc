#include "cli/docs.h"

#include <gtest/gtest.h>

#include "cli/command_table.h"

namespace cli {
namespace {

TEST(Docs, EveryCommandAndFlagIsInItsPage) {
    std::string top = man_page(global_flags(), command_specs(), "");
    EXPECT_EQ(top.rfind(".TH HAKO 8", 0), 0u) << top.substr(0, 80);
    for (const auto& c : command_specs()) {
        EXPECT_NE(top.find(".B " + std::string(c.name) + "\n"), std::string::npos) << c.name;
        std::string page = man_page(global_flags(), command_specs(), c.name);
        ASSERT_FALSE(page.empty()) << c.name;
        for (const auto& f : c.flags) {
            std::string last = f.names;
            last = last.substr(last.rfind(',') + 1);
            std::string shown = (last.size() == 1 ? "\\-" : "\\-\\-");
            for (char ch : last) shown += ch == '-' ? std::string("\\-") : std::string(1, ch);
            EXPECT_NE(page.find(shown), std::string::npos) << c.name << " " << last;
        }
    }
    EXPECT_TRUE(man_page(global_flags(), command_specs(), "nope").empty());
}

TEST(Docs, CompletionKnowsCommandsAndFlags) {
    std::string s = bash_completion(global_flags(), command_specs());
    EXPECT_NE(s.find("complete -F _hako hako"), std::string::npos);
    EXPECT_NE(s.find("create) flags=\"-b --bundle"), std::string::npos) << s;
    EXPECT_NE(s.find("--root|-root"), std::string::npos) << s;
}

}  // namespace
}  // namespace cli
