// process.terminal: a pseudo-terminal from the container's own devpts instance, its master sent
// to the runtime (which passes it to --console-socket), its slave made the process's stdio.
#pragma once

#include "spec/config.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace sandbox {

// Open a pty in the devpts of the rootfs `root_fd`, send the master on `sync_fd` (kConsoleFd),
// size it, and (for the init) bind the slave onto /dev/console. Returns the slave.
sys::Result<sys::UniqueFd> open_console(int root_fd, const spec::Process& p, int sync_fd,
                                        bool bind_dev_console);
// Make `slave` the controlling terminal and stdin/stdout/stderr.
sys::Status attach_console(sys::UniqueFd slave);

// Runtime side: send `master` to the unix socket at `socket_path` (runc's protocol: SCM_RIGHTS,
// with the pty's name as the message).
sys::Status send_console(const std::string& socket_path, int master, const std::string& name);

}  // namespace sandbox
