// SysError: what failed (operation), on what (path or object), the errno, and the cause in
// words when we know it. Every fallible call in hako returns Result<T>.
#pragma once

#include <cerrno>
#include <string>
#include <tl/expected.hpp>

namespace sys {

struct SysError {
    SysError() = default;
    SysError(std::string o, std::string p, int e = 0, std::string h = {})
        : op(std::move(o)), path(std::move(p)), err(e), hint(std::move(h)) {}

    std::string op;     // "mount devpts"
    std::string path;   // "/dev/pts"
    int err = 0;        // errno; 0 when no syscall failed
    std::string hint;   // the cause in words, when we know it
    std::string field;  // what of the config or command line it concerns: "mounts[2]"

    // "mounts[2]: mount devpts on /dev/pts: Invalid argument — gid 5 is not mapped ..."
    [[nodiscard]] std::string message() const;
    SysError&& with_hint(std::string h) && {
        hint = std::move(h);
        return std::move(*this);
    }
    // The context wrap: the outer field goes in front of what the error already names.
    SysError&& in(const std::string& outer) && {
        field = field.empty() ? outer : outer + ": " + field;
        return std::move(*this);
    }
};

template <typename T>
using Result = tl::expected<T, SysError>;
using Status = Result<void>;

// An error from the errno of the syscall that just failed.
inline tl::unexpected<SysError> errno_error(std::string op, std::string path = {}) {
    return tl::unexpected(SysError{std::move(op), std::move(path), errno, {}});
}
// An error that no syscall produced (a bad value, a refused request).
inline tl::unexpected<SysError> plain_error(std::string message, std::string hint = {}) {
    return tl::unexpected(SysError{std::move(message), {}, 0, std::move(hint)});
}
inline tl::unexpected<SysError> fail(SysError e) { return tl::unexpected(std::move(e)); }

// The value of a Result-returning expression into a new variable, or return its error:
//     HAKO_ASSIGN(auto fd, sys::open_path(path, O_RDONLY));
// NOLINTBEGIN(bugprone-macro-parentheses): `tmp` and `decl` are names and a declaration.
#define HAKO_ASSIGN(decl, expr) HAKO_ASSIGN_AT_(HAKO_CONCAT_(hako_assign_r, __LINE__), decl, expr)
#define HAKO_CONCAT_(a, b) HAKO_CONCAT2_(a, b)
#define HAKO_CONCAT2_(a, b) a##b
#define HAKO_ASSIGN_AT_(tmp, decl, expr)                     \
    auto tmp = (expr);                                       \
    if (!tmp) return tl::unexpected(std::move(tmp.error())); \
    decl = std::move(*tmp)
// NOLINTEND(bugprone-macro-parentheses)

// Propagate the error of a Result-returning expression.
#define HAKO_TRY(expr)                                            \
    do {                                                          \
        if (auto hako_try_r = (expr); !hako_try_r)                \
            return tl::unexpected(std::move(hako_try_r.error())); \
    } while (0)

}  // namespace sys
