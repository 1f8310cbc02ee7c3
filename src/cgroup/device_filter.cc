#include "cgroup/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "sys/fs.h"
#include "sys/unique_fd.h"

namespace cgroup {
namespace {

// The few instructions the filter needs (the kernel's own macros are not in its uapi).
bpf_insn insn(std::uint8_t code, int dst, int src, std::int16_t off, std::int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = static_cast<std::uint8_t>(dst) & 0xf;
    i.src_reg = static_cast<std::uint8_t>(src) & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}
bpf_insn load_word(int dst, int src, std::int16_t off) {
    return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}
bpf_insn alu32_imm(std::uint8_t op, int dst, std::int32_t imm) {
    return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov32_reg(int dst, int src) { return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn mov64_imm(int dst, std::int32_t imm) {
    return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn jne_imm(int dst, std::int32_t imm, std::int16_t off) {
    return insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}
bpf_insn jne_reg(int dst, int src, std::int16_t off) {
    return insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0);
}
bpf_insn exit_insn() { return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

std::int32_t access_bits(const std::string& access) {
    std::int32_t bits = 0;
    for (char c : access) {
        if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
        if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
        if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    }
    return bits;
}

long bpf(int cmd, bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof *attr); }

/// BPF_PROG_LOAD of a device program; with `log`, the verifier's log (level 1) goes there.
long load_device_program(const std::vector<bpf_insn>& program, char* log, std::size_t log_size) {
    static const char kLicense[] = "Apache";
    bpf_attr load{};
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = reinterpret_cast<std::uint64_t>(program.data());
    load.insn_cnt = static_cast<std::uint32_t>(program.size());
    load.license = reinterpret_cast<std::uint64_t>(kLicense);
    if (log != nullptr) {
        load.log_buf = reinterpret_cast<std::uint64_t>(log);
        load.log_size = static_cast<std::uint32_t>(log_size);
        load.log_level = 1;
    }
    return bpf(BPF_PROG_LOAD, &load);
}

}  // namespace

std::vector<bpf_insn> device_filter_program(const std::vector<spec::DeviceRule>& rules) {
    constexpr int kAll = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;
    // A type "a" rule resets the list: what comes before it no longer matters.
    std::size_t first = 0;
    bool default_allow = true;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        if (rules[i].type == "a") {
            first = i + 1;
            default_allow = rules[i].allow;
        }
    }
    // r2 = device type, r3 = requested access, r4 = major, r5 = minor (bpf_cgroup_dev_ctx).
    std::vector<bpf_insn> p = {
        load_word(BPF_REG_2, BPF_REG_1, 0), alu32_imm(BPF_AND, BPF_REG_2, 0xffff),
        load_word(BPF_REG_3, BPF_REG_1, 0), alu32_imm(BPF_RSH, BPF_REG_3, 16),
        load_word(BPF_REG_4, BPF_REG_1, 4), load_word(BPF_REG_5, BPF_REG_1, 8),
    };
    // The last matching rule decides: test them from the last one back.
    for (std::size_t i = rules.size(); i-- > first;) {
        const auto& r = rules[i];
        std::vector<bpf_insn> tests;
        // Each test jumps past the rest of this rule's block on a mismatch; offsets are
        // filled in once the block's length is known.
        if (r.type != "a")
            tests.push_back(
                jne_imm(BPF_REG_2, r.type == "b" ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0));
        std::int32_t bits = access_bits(r.access);
        if (bits != kAll) {
            // Every requested bit must be in the rule: (access & rule) == access.
            tests.push_back(mov32_reg(BPF_REG_1, BPF_REG_3));
            tests.push_back(alu32_imm(BPF_AND, BPF_REG_1, bits));
            tests.push_back(jne_reg(BPF_REG_1, BPF_REG_3, 0));
        }
        if (r.major && *r.major >= 0)
            tests.push_back(jne_imm(BPF_REG_4, static_cast<std::int32_t>(*r.major), 0));
        if (r.minor && *r.minor >= 0)
            tests.push_back(jne_imm(BPF_REG_5, static_cast<std::int32_t>(*r.minor), 0));
        tests.push_back(mov64_imm(BPF_REG_0, r.allow ? 1 : 0));
        tests.push_back(exit_insn());
        for (std::size_t k = 0; k < tests.size(); ++k)
            if ((tests[k].code & 0x07) == BPF_JMP && (tests[k].code & 0xf0) == BPF_JNE)
                tests[k].off = static_cast<std::int16_t>(tests.size() - k - 1);
        p.insert(p.end(), tests.begin(), tests.end());
    }
    p.push_back(mov64_imm(BPF_REG_0, default_allow ? 1 : 0));
    p.push_back(exit_insn());
    return p;
}

sys::Status attach_device_filter(const std::string& dir, const std::vector<bpf_insn>& program) {
    HAKO_ASSIGN(auto cgroup, sys::open_path(dir, O_RDONLY | O_DIRECTORY));
    // What is attached now (an earlier filter of ours), to detach once the new one is in.
    std::uint32_t old_ids[64];
    bpf_attr query{};
    query.query.target_fd = static_cast<std::uint32_t>(cgroup.get());
    query.query.attach_type = BPF_CGROUP_DEVICE;
    query.query.prog_ids = reinterpret_cast<std::uint64_t>(old_ids);
    query.query.prog_cnt = 64;
    std::uint32_t old_count = bpf(BPF_PROG_QUERY, &query) == 0 ? query.query.prog_cnt : 0;

    // Loaded without the verifier's log first: with a log the kernel fails a load whose log
    // does not fit the buffer with ENOSPC (containerd's default device list is enough to fill
    // 4 KiB on 6.1), and logging slows the verifier. Only a refused program is loaded again with
    // the log, to say what the verifier objected to (the log's end holds the reason).
    long prog = load_device_program(program, nullptr, 0);
    if (prog < 0) {
        int err = errno;
        std::vector<char> log(std::size_t{1} << 18);
        if (load_device_program(program, log.data(), log.size()) < 0) {
            std::string said(log.data(), strnlen(log.data(), log.size()));
            constexpr std::size_t kTail = 1500;
            if (said.size() > kTail) {
                std::size_t cut = said.find('\n', said.size() - kTail);
                said = "..." + said.substr(cut == std::string::npos ? said.size() - kTail : cut);
            }
            return sys::fail(sys::SysError{
                "linux.resources.devices: load the cgroup v2 device filter (eBPF)", dir, err,
                said.empty() ? std::string{} : "the verifier said: " + said});
        }
        return sys::fail(
            sys::SysError{"linux.resources.devices: load the cgroup v2 device filter (eBPF)", dir,
                          err, "refused without the verifier's log, accepted with it"});
    }
    sys::UniqueFd prog_fd(static_cast<int>(prog));
    bpf_attr attach{};
    attach.target_fd = static_cast<std::uint32_t>(cgroup.get());
    attach.attach_bpf_fd = static_cast<std::uint32_t>(prog_fd.get());
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    if (bpf(BPF_PROG_ATTACH, &attach) < 0)
        return sys::errno_error("linux.resources.devices: attach the device filter to", dir);
    for (std::uint32_t i = 0; i < old_count && i < 64; ++i) {
        bpf_attr by_id{};
        by_id.prog_id = old_ids[i];
        long fd = bpf(BPF_PROG_GET_FD_BY_ID, &by_id);
        if (fd < 0) continue;
        sys::UniqueFd old(static_cast<int>(fd));
        bpf_attr detach{};
        detach.target_fd = static_cast<std::uint32_t>(cgroup.get());
        detach.attach_bpf_fd = static_cast<std::uint32_t>(old.get());
        detach.attach_type = BPF_CGROUP_DEVICE;
        if (bpf(BPF_PROG_DETACH, &detach) < 0)
            return sys::errno_error(
                "linux.resources.devices: detach the previous device filter from", dir);
    }
    return {};
}

}  // namespace cgroup
