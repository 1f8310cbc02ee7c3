// Pieces shared by the lifecycle operations (container.cc, exec.cc). Not part of the API.
#pragma once

#include <csignal>
#include <optional>
#include <string>

#include "spec/config.h"
#include "sys/sys_error.h"

namespace runtime::internal {

// The config a container was created with: a copy kept in its state directory, so later
// operations (exec, poststart, poststop) see what create saw even if the bundle changed.
constexpr const char* kSavedConfig = "config.json";
std::optional<spec::Spec> saved_spec(const std::string& dir, const std::string& bundle);

// Every signal blocked while the object lives: taken before a clone, so none is lost between
// the clone and the wait loop; the container process unblocks them before execve.
class BlockedSignals {
public:
    BlockedSignals() {
        sigfillset(&all_);
        ::sigprocmask(SIG_BLOCK, &all_, &old_);
    }
    BlockedSignals(const BlockedSignals&) = delete;
    BlockedSignals& operator=(const BlockedSignals&) = delete;
    ~BlockedSignals() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
    [[nodiscard]] const sigset_t& all() const { return all_; }

private:
    sigset_t all_{}, old_{};
};

// Wait for our child `pid`, forwarding every signal but SIGCHLD (and SIGWINCH) to it. With a
// console master, proxy our stdio to and from it meanwhile (our terminal in raw mode, window
// size kept in step). Returns the exit status, or 128 + the signal that ended it.
int wait_forwarding(pid_t pid, const BlockedSignals& signals, int console_master = -1);

// A terminal needs a console socket to send its master to, and a socket needs a terminal.
// `proxy`: hako itself will hold the master (run in the foreground, exec without -d).
sys::Status check_console(bool terminal, const std::string& console_socket, bool proxy);
// Hand the pty master to the console socket (runc's protocol).
sys::Status pass_console(const std::string& console_socket, int master);

}  // namespace runtime::internal
