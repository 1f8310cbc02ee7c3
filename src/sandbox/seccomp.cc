#include "sandbox/seccomp.h"

#include <seccomp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace sandbox {

std::optional<std::uint32_t> seccomp_action(const std::string& name, std::uint32_t errno_ret) {
    if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret);
    if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret);
    if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    return std::nullopt;
}

std::optional<int> seccomp_operator(const std::string& name) {
    static const std::map<std::string, int> kOps = {{"SCMP_CMP_NE", SCMP_CMP_NE},
                                                    {"SCMP_CMP_LT", SCMP_CMP_LT},
                                                    {"SCMP_CMP_LE", SCMP_CMP_LE},
                                                    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
                                                    {"SCMP_CMP_GE", SCMP_CMP_GE},
                                                    {"SCMP_CMP_GT", SCMP_CMP_GT},
                                                    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
    auto it = kOps.find(name);
    if (it == kOps.end()) return std::nullopt;
    return it->second;
}

std::optional<std::uint32_t> seccomp_arch(const std::string& name) {
    if (name.rfind("SCMP_ARCH_", 0) != 0) return std::nullopt;
    std::string arch = name.substr(10);
    std::transform(arch.begin(), arch.end(), arch.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::uint32_t token = seccomp_arch_resolve_name(arch.c_str());
    if (token == 0) return std::nullopt;
    return token;
}

SeccompFilter& SeccompFilter::operator=(SeccompFilter&& o) noexcept {
    if (this != &o) {
        if (ctx_ != nullptr) seccomp_release(ctx_);
        ctx_ = o.ctx_;
        notify_ = o.notify_;
        o.ctx_ = nullptr;
    }
    return *this;
}

SeccompFilter::~SeccompFilter() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
}

sys::Result<sys::UniqueFd> SeccompFilter::load() {
    if (ctx_ == nullptr) return sys::UniqueFd();
    if (int rc = seccomp_load(ctx_); rc < 0) {
        sys::SysError e{"load seccomp filter", "linux.seccomp", -rc, {}};
        if (rc == -EACCES) e.hint = "without noNewPrivileges, loading a filter needs CAP_SYS_ADMIN";
        return sys::fail(e);
    }
    if (!notify_) return sys::UniqueFd();
    int fd = seccomp_notify_fd(ctx_);
    if (fd < 0) return sys::fail(sys::SysError{"get seccomp notify fd", "linux.seccomp", -fd, {}});
    return sys::UniqueFd(fd);
}

bool seccomp_may_wait_for_agent(const std::optional<spec::Seccomp>& s) {
    if (!s) return false;
    return s->default_action == "SCMP_ACT_NOTIFY" ||
           std::any_of(s->syscalls.begin(), s->syscalls.end(),
                       [](const spec::SeccompSyscall& r) { return r.action == "SCMP_ACT_NOTIFY"; });
}

sys::Result<SeccompFilter> build_seccomp(const spec::Seccomp& s,
                                         std::vector<std::string>& skipped) {
    auto def = seccomp_action(s.default_action, s.default_errno_ret.value_or(EPERM));
    if (!def)
        return sys::plain_error("linux.seccomp.defaultAction: unknown action " + s.default_action);
    SeccompFilter filter(seccomp_init(*def));
    if (filter.empty()) return sys::plain_error("linux.seccomp: seccomp_init failed");
    filter.notify_ = s.default_action == "SCMP_ACT_NOTIFY";
    auto* ctx = filter.ctx_;
    // libseccomp sets no_new_privs itself on load unless told not to; hako sets it only when
    // process.noNewPrivileges asks (a Docker container keeps its setuid programs, as on runc).
    if (int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0); rc < 0)
        return sys::fail(sys::SysError{"linux.seccomp: clear SCMP_FLTATR_CTL_NNP", {}, -rc, {}});
    auto failed = [](const std::string& what, int rc) {
        return sys::fail(sys::SysError{what, {}, -rc, {}});
    };
    for (std::size_t i = 0; i < s.architectures.size(); ++i) {
        auto arch = seccomp_arch(s.architectures[i]);
        std::string where = "linux.seccomp.architectures[" + std::to_string(i) + "]";
        if (!arch)
            return sys::plain_error(where + ": libseccomp does not know " + s.architectures[i]);
        int rc = seccomp_arch_add(ctx, *arch);
        if (rc < 0 && rc != -EEXIST) return failed(where + ": add " + s.architectures[i], rc);
    }
    for (const auto& flag : s.flags) {
        int rc = 0;
        if (flag == "SECCOMP_FILTER_FLAG_TSYNC")
            rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
        else if (flag == "SECCOMP_FILTER_FLAG_LOG")
            rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
        else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
            rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1);
        else
            return sys::plain_error("linux.seccomp.flags: " + flag +
                                    " is not supported by this libseccomp (2.5)");
        if (rc < 0) return failed("linux.seccomp.flags: set " + flag, rc);
    }
    for (std::size_t i = 0; i < s.syscalls.size(); ++i) {
        const auto& rule = s.syscalls[i];
        std::string where = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
        auto action = seccomp_action(rule.action, rule.errno_ret.value_or(EPERM));
        if (!action) return sys::plain_error(where + ".action: unknown action " + rule.action);
        // A rule that repeats the default action is redundant, and libseccomp refuses it.
        if (*action == *def) continue;
        filter.notify_ = filter.notify_ || rule.action == "SCMP_ACT_NOTIFY";
        std::vector<scmp_arg_cmp> conds;
        for (const auto& a : rule.args) {
            auto op = seccomp_operator(a.op);
            if (!op) return sys::plain_error(where + ": unknown operator " + a.op);
            conds.push_back({a.index, static_cast<scmp_compare>(*op), a.value, a.value_two});
        }
        // Conditions on one argument index are alternatives (runc): one rule each.
        bool repeated = false;
        for (std::size_t x = 0; x < conds.size(); ++x)
            for (std::size_t y = x + 1; y < conds.size(); ++y)
                repeated = repeated || conds[x].arg == conds[y].arg;
        for (const auto& name : rule.names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR) {
                skipped.push_back(where + ": syscall " + name + " unknown to libseccomp, skipped");
                continue;
            }
            int rc = 0;
            if (repeated) {
                for (const auto& c : conds)
                    if ((rc = seccomp_rule_add_array(ctx, *action, nr, 1, &c)) < 0) break;
            } else {
                rc = seccomp_rule_add_array(ctx, *action, nr, static_cast<unsigned>(conds.size()),
                                            conds.empty() ? nullptr : conds.data());
            }
            if (rc < 0) return failed(where + ": add rule for " + name, rc);
        }
    }
    return filter;
}

}  // namespace sandbox
