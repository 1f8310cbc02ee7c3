#include "cgroup/device_filter.h"

#include <gtest/gtest.h>

#include "cgroup/resources.h"

namespace cgroup {
namespace {

// Runs a device filter the way the kernel would, for the instructions the generator emits.
int run(const std::vector<bpf_insn>& p, int type, int access, int major, int minor) {
    std::uint64_t reg[11] = {};
    std::uint32_t ctx[3] = {static_cast<std::uint32_t>(access << 16 | type),
                            static_cast<std::uint32_t>(major), static_cast<std::uint32_t>(minor)};
    for (std::size_t pc = 0; pc < p.size(); ++pc) {
        const bpf_insn& i = p[pc];
        switch (i.code) {
            case BPF_LDX | BPF_MEM | BPF_W:
                EXPECT_EQ(i.src_reg, BPF_REG_1);
                reg[i.dst_reg] = ctx[i.off / 4];
                break;
            case BPF_ALU | BPF_AND | BPF_K:
                reg[i.dst_reg] = static_cast<std::uint32_t>(reg[i.dst_reg] & i.imm);
                break;
            case BPF_ALU | BPF_RSH | BPF_K:
                reg[i.dst_reg] = static_cast<std::uint32_t>(reg[i.dst_reg]) >> i.imm;
                break;
            case BPF_ALU | BPF_MOV | BPF_X:
                reg[i.dst_reg] = static_cast<std::uint32_t>(reg[i.src_reg]);
                break;
            case BPF_ALU64 | BPF_MOV | BPF_K:
                reg[i.dst_reg] = static_cast<std::uint64_t>(i.imm);
                break;
            case BPF_JMP | BPF_JNE | BPF_K:
                if (reg[i.dst_reg] != static_cast<std::uint64_t>(i.imm)) pc += i.off;
                break;
            case BPF_JMP | BPF_JNE | BPF_X:
                if (reg[i.dst_reg] != reg[i.src_reg]) pc += i.off;
                break;
            case BPF_JMP | BPF_EXIT:
                return static_cast<int>(reg[0]);
            default:
                ADD_FAILURE() << "unexpected instruction " << int(i.code);
                return -1;
        }
    }
    ADD_FAILURE() << "fell off the end";
    return -1;
}

constexpr int kChar = BPF_DEVCG_DEV_CHAR, kBlock = BPF_DEVCG_DEV_BLOCK;
constexpr int kRead = BPF_DEVCG_ACC_READ, kWrite = BPF_DEVCG_ACC_WRITE,
              kMknod = BPF_DEVCG_ACC_MKNOD;

TEST(DeviceFilter, DenyAllThenRuncsDefaults) {
    auto p = device_filter_program(effective_device_rules({{false, "a", {}, {}, "rwm"}}));
    EXPECT_EQ(run(p, kChar, kRead | kWrite, 1, 3), 1);  // /dev/null
    EXPECT_EQ(run(p, kChar, kRead, 136, 7), 1);         // a pts
    EXPECT_EQ(run(p, kChar, kRead, 1, 11), 0);          // /dev/kmsg
    EXPECT_EQ(run(p, kBlock, kRead, 8, 0), 0);          // a disk
    EXPECT_EQ(run(p, kBlock, kMknod, 1, 3), 0);         // type matters
}

TEST(DeviceFilter, LastMatchingRuleWinsAndAccessMustBeCovered) {
    std::vector<spec::DeviceRule> rules = {{false, "a", {}, {}, "rwm"},
                                           {true, "c", 1, 11, "r"},
                                           {true, "b", 8, {}, "rwm"},
                                           {false, "b", 8, 1, "rwm"}};
    auto p = device_filter_program(rules);
    EXPECT_EQ(run(p, kChar, kRead, 1, 11), 1);
    EXPECT_EQ(run(p, kChar, kWrite, 1, 11), 0);  // "r" only
    EXPECT_EQ(run(p, kChar, kRead | kWrite, 1, 11), 0);
    EXPECT_EQ(run(p, kBlock, kRead, 8, 0), 1);  // wildcard minor
    EXPECT_EQ(run(p, kBlock, kRead, 8, 1), 0);  // the later deny wins
}

TEST(DeviceFilter, WithoutAnAllRuleUnmatchedIsAllowed) {
    auto p = device_filter_program({{false, "c", 1, 11, "rwm"}});
    EXPECT_EQ(run(p, kChar, kRead, 1, 11), 0);
    EXPECT_EQ(run(p, kChar, kRead, 1, 3), 1);
    // An allow-all after a deny resets it.
    auto q = device_filter_program({{false, "c", 1, 11, "rwm"}, {true, "a", {}, {}, "rwm"}});
    EXPECT_EQ(run(q, kChar, kRead, 1, 11), 1);
}

}  // namespace
}  // namespace cgroup
