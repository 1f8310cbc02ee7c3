// Pieces shared by the lifecycle operations (container.cc, exec.cc). Not part of the API.
#pragma once

#include <csignal>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "sandbox/init.h"
#include "sandbox/sync.h"
#include "spec/config.h"
#include "sys/child_process.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace runtime::internal {

// The config a container was created with: a copy kept in its state directory, so later
// operations (exec, poststart, poststop) see what create saw even if the bundle changed.
constexpr const char* kSavedConfig = "config.json";
// With `hook`, only when the text names that hook ("poststart"): nothing to parse otherwise.
std::optional<spec::Spec> saved_spec(const std::string& dir, const std::string& bundle,
                                     std::string_view hook = {});

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
// Our terminal's window size onto the container's pty: before the program is released, so that
// its first look at the size (stty size, a shell's COLUMNS) never sees 0x0.
void copy_window_size(int master);

// The child side of create and exec, as the parent sees it while waiting for "ready".
struct ChildSession {
    sys::ChildProcess first;       // what we cloned
    sys::ChildProcess process;     // the init / exec'd process, once known (kInitPid)
    sys::UniqueFd console_master;  // kept when there is no console socket (proxied)
    // The process that ends up running: `process` if there was one more fork, else `first`.
    sys::ChildProcess& target() { return process.pid() > 0 ? process : first; }
};
// Read messages until ready. Common ones (pid, console, warning, failure) are handled here;
// `extra` gets the rest and returns false for a type it does not know either. On EOF the child
// died: `died` turns its wait status into the error.
sys::Status await_ready(
    const Runtime& rt, int sync_fd, ChildSession& session, const std::string& console_socket,
    const std::function<sys::Result<bool>(const sandbox::SyncMessage&, sys::UniqueFd&)>& extra,
    const std::function<sys::SysError(int)>& died);
// "was killed by signal 9" / "exited with status 1"
std::string describe_wait_status(int status);

// The host's cgroup hierarchies, for an operation (`what`: "update", "events") on a container's
// cgroups: refused in words when the container has none (rootless where the host does not
// delegate cgroups) or when the hierarchies changed since create (its directories are parallel
// to them).
sys::Result<cgroup::Host> cgroup_host_of(const State& s, const char* what);

// A terminal needs a console socket to send its master to, and a socket needs a terminal.
// `proxy`: hako itself will hold the master (run in the foreground, exec without -d).
sys::Status check_console(bool terminal, const std::string& console_socket, bool proxy);

// The namespaces named by path, opened and checked to be of their type before anything exists,
// so that a wrong path is reported with nothing to undo. The user namespace is joined first.
struct Joins {
    std::vector<sys::UniqueFd> fds;
    std::vector<sandbox::NamespaceJoin> list;
    bool shared_mounts = false;  // the container has no mount namespace of its own
};
sys::Result<Joins> open_joins(const spec::Linux& l);

// Without a mount namespace of its own the container shares the host's mount table: what that
// leaves out, as the warning `create` and `check` give.
std::string shared_mounts_warning(const spec::Spec& s);
// Hand the pty master to the console socket (runc's protocol).
sys::Status pass_console(const std::string& console_socket, int master);

}  // namespace runtime::internal
