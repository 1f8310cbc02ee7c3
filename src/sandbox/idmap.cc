#include "sandbox/idmap.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <unistd.h>

#include "sys/child_process.h"
#include "sys/clone.h"
#include "sys/fs.h"

namespace sandbox {

std::string id_map_text(const std::vector<spec::IdMapping>& maps) {
    std::string out;
    for (const auto& m : maps)
        out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
               std::to_string(m.size) + "\n";
    return out;
}

sys::Result<sys::UniqueFd> make_userns_fd(const std::vector<spec::IdMapping>& uids,
                                          const std::vector<spec::IdMapping>& gids,
                                          const std::string& which) {
    int gate[2];
    if (::pipe2(gate, O_CLOEXEC) < 0) return sys::errno_error(which + ": pipe");
    sys::UniqueFd gate_r(gate[0]), gate_w(gate[1]);
    auto child = sys::clone3_fork(CLONE_NEWUSER | CLONE_PIDFD);
    if (!child) return sys::fail(child.error());
    if (child->pid == 0) {
        // Exist until the parent is done with our namespace: EOF on the gate.
        gate_w.reset();
        char byte;
        (void)!::read(gate_r.get(), &byte, 1);
        ::_exit(0);
    }
    sys::ChildProcess helper(child->pid, std::move(child->pidfd));
    std::string proc = "/proc/" + std::to_string(helper.pid());
    if (auto w = sys::write_file(proc + "/uid_map", id_map_text(uids)); !w)
        return sys::fail(
            sys::SysError{which + ".uidMappings: write", proc + "/uid_map", w.error().err, {}});
    if (auto w = sys::write_file(proc + "/gid_map", id_map_text(gids)); !w)
        return sys::fail(
            sys::SysError{which + ".gidMappings: write", proc + "/gid_map", w.error().err, {}});
    auto fd = sys::open_path(proc + "/ns/user", O_RDONLY);
    if (!fd) return fd;
    gate_w.reset();
    helper.wait();
    return fd;
}

}  // namespace sandbox
