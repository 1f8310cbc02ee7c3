// linux.seccomp through libseccomp: the filter is built at create (so a bad profile is reported
// there) and loaded by the container init as late as the capability rules allow.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "spec/config.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

// Pure translations, unit-tested. nullopt: unknown.
std::optional<std::uint32_t> seccomp_action(const std::string& name, std::uint32_t errno_ret);
std::optional<int> seccomp_operator(const std::string& name);        // enum scmp_compare
std::optional<std::uint32_t> seccomp_arch(const std::string& name);  // SCMP_ARCH_*

// An owned libseccomp filter context.
class SeccompFilter {
public:
    SeccompFilter() = default;
    explicit SeccompFilter(void* ctx) : ctx_(ctx) {}
    SeccompFilter(const SeccompFilter&) = delete;
    SeccompFilter& operator=(const SeccompFilter&) = delete;
    SeccompFilter(SeccompFilter&& o) noexcept : ctx_(o.ctx_), notify_(o.notify_) {
        o.ctx_ = nullptr;
    }
    SeccompFilter& operator=(SeccompFilter&& o) noexcept;
    ~SeccompFilter();

    [[nodiscard]] bool empty() const { return ctx_ == nullptr; }
    [[nodiscard]] bool uses_notify() const { return notify_; }
    // Load into the calling process; returns the notify fd when SCMP_ACT_NOTIFY is used.
    [[nodiscard]] sys::Result<sys::UniqueFd> load();

private:
    friend sys::Result<SeccompFilter> build_seccomp(const spec::Seccomp&,
                                                    std::vector<std::string>&);
    void* ctx_ = nullptr;
    bool notify_ = false;
};

// Syscall names libseccomp does not know are skipped (as runc), with a debug line in `skipped`.
sys::Result<SeccompFilter> build_seccomp(const spec::Seccomp& s, std::vector<std::string>& skipped);
// Whether the profile hands syscalls to a supervisor (SCMP_ACT_NOTIFY): a process under it may
// block in any of them until the agent answers, which it cannot before hako has passed the
// listener on. A child that shares hako's memory (hako stopped until it execs) must not then
// make a single one after the filter. Pure; unit-tested.
bool seccomp_may_wait_for_agent(const std::optional<spec::Seccomp>& s);

}  // namespace sandbox
