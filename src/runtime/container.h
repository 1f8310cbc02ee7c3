// The container lifecycle: create, start, run, kill, delete, state, list. The CLI is one client
// of this layer, the C API (src/capi) another.
#pragma once

#include <string>
#include <vector>

#include "runtime/log.h"
#include "runtime/state_store.h"
#include "spec/config.h"
#include "sys/child_process.h"
#include "sys/sys_error.h"

namespace runtime {

struct Runtime {
    std::string root = "/run/hako";
    Logger log;
    // Cgroups hako cannot write are skipped, not fatal (runc's --rootless; default: detected).
    bool rootless = detect_rootless();
    // --systemd-cgroup: the container's cgroup is a unit systemd makes (cgroup/systemd.h).
    bool systemd_cgroup = false;
    std::string criu = "criu";  // --criu: the CRIU binary checkpoint and restore run

    // Not root, or root of a user namespace other than the initial one (podman's rootless mode
    // runs the runtime as uid 0 of its own user namespace).
    static bool detect_rootless();
};

// Where state lives without --root, as runc: $XDG_RUNTIME_DIR/hako when rootless (not root, or
// root of a user namespace), else /run/hako for root; for other users without XDG_RUNTIME_DIR,
// /run/user/<uid>/hako when that directory is the user's own.
sys::Result<std::string> default_state_root();

struct CreateOptions {
    std::string id;
    std::string bundle = ".";
    std::string pid_file;
    std::string console_socket;
    bool no_pivot = false;
    bool no_new_keyring = false;
    int preserve_fds = 0;
    bool proxy_terminal = false;  // hako keeps the pty master (run in the foreground)
};

// The init was made and waits on exec.fifo. `init` owns it: unless released, it is killed.
struct Created {
    State state;
    sys::ChildProcess init;
    sys::UniqueFd console_master;  // with proxy_terminal and process.terminal
};

sys::Result<Created> create(const Runtime& rt, const CreateOptions& opts);
sys::Status start(const Runtime& rt, const std::string& id);
// create + start; waits and forwards signals unless `detach`. Returns the exit code to use:
// the container's status, or 128 + the signal that ended it.
sys::Result<int> run(const Runtime& rt, const CreateOptions& opts, bool detach, bool keep);
sys::Status kill(const Runtime& rt, const std::string& id, int sig, bool all);
sys::Status remove(const Runtime& rt, const std::string& id, bool force);
sys::Result<State> state(const Runtime& rt, const std::string& id);
sys::Status pause(const Runtime& rt, const std::string& id);
// Write new resource limits into a container's cgroups.
sys::Status update(const Runtime& rt, const std::string& id, const spec::Resources& r);
sys::Status resume(const Runtime& rt, const std::string& id);
// The host pids of every process in the container (from its cgroup).
sys::Result<std::vector<pid_t>> pids(const Runtime& rt, const std::string& id);
sys::Result<std::vector<State>> list(const Runtime& rt);

}  // namespace runtime
