// Checkpoint and restore through CRIU (runc's `checkpoint` / `restore`): criu's RPC (swrk),
// with the runtime's part around it (the container's bind mounts and stdio as CRIU's externals,
// its cgroups, the restored init recorded as the container's).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "runtime/criu_rpc.h"
#include "spec/config.h"

namespace runtime {

// What checkpoint and restore share: criu's options as runc spells them.
struct CriuOptions {
    std::string image_path;             // default: ./checkpoint
    std::string work_path;              // criu's logs and work files (default: the image directory)
    std::string manage_cgroups_mode;    // soft, full, strict, ignore (default: criu's, soft)
    std::vector<std::string> empty_ns;  // namespaces to leave to the caller ("network")
    bool tcp_established = false, ext_unix_sk = false, shell_job = false, file_locks = false;
    bool auto_dedup = false, lazy_pages = false;
};

struct CheckpointOptions {
    std::string id;
    CriuOptions criu;
    std::string parent_path;  // a pre-dump's images, relative to the image directory
    std::string page_server;  // ADDRESS:PORT
    int status_fd = -1;       // --lazy-pages: criu writes a \0 to it once its pages are served
    bool leave_running = false, pre_dump = false;
};

struct RestoreOptions {
    CreateOptions create;  // id, bundle, pid file, console socket
    CriuOptions criu;
    std::string lsm_profile, lsm_mount_context;
    bool detach = false, no_subreaper = false;
};

// Dump the container into the image directory; unless --leave-running or --pre-dump, the
// container is then gone (as runc: its processes end and its state and cgroups are removed).
sys::Status checkpoint(const Runtime& rt, const CheckpointOptions& o);

// Restore a checkpoint as a new container of the bundle (criu's restored init recorded as its
// init); without --detach, wait for it as `run` does and delete it after.
sys::Result<int> restore(const Runtime& rt, const RestoreOptions& o);

namespace criu {

// The lines of a criu log that say what failed ("Error" lines and the few before each), at most
// `max_lines`: what a failed step quotes.
std::string log_excerpt(const std::string& log, std::size_t max_lines);

// The key criu knows an inherited stdio descriptor by: "pipe:[ino]" for a pipe, "file[mnt:ino]"
// (hex) for a file outside the container's mounts; empty for what needs no key (a tty, a
// socket, a file inside). `link` is the fd's /proc readlink, `mnt_id` from its fdinfo.
std::string stdio_key(const std::string& link, int mnt_id, unsigned long inode, bool regular);

// The container's cgroup mounts that are binds of host directories (a config without a cgroup
// namespace: sandbox's mount_cgroup binds the container's own cgroup directories): each one's
// place in the container and the host directory, in `dirs` (one per hierarchy of `host`).
std::vector<std::pair<std::string, std::string>> cgroup_binds(const spec::Spec& s,
                                                              const cgroup::Host& host,
                                                              const std::vector<std::string>& dirs);

// The container's mounts of host device nodes, from its init's mountinfo: in a user namespace
// hako binds the host's nodes (no mknod there) and masks files with that /dev/null. Each
// one's mountpoint and the host node's path ("/dev" + the mount's root in the devtmpfs).
std::vector<std::pair<std::string, std::string>> device_binds_of(const std::string& mountinfo);

// Where a mount's destination is mounted in the container (its symlinks resolved inside the
// root, as create resolved them); null: the destination itself.
using MountpointOf = std::function<std::string(const std::string& destination)>;

// `criu dump` / `criu pre-dump`'s options (the caller adds the fds and the freezer).
// `host_binds`: more binds of host paths, each a mountpoint and the name it is dumped under
// (cgroup_binds(), device_binds_of()).
Opts dump_opts(const CheckpointOptions& o, const spec::Spec& s, pid_t pid,
               const std::vector<std::string>& stdio_keys,
               const std::vector<std::pair<std::string, std::string>>& host_binds = {},
               const MountpointOf& mountpoint_of = nullptr);

// `criu restore`'s options: the restored tree goes into `cgroup_roots` (controllers, path:
// criu's --cgroup-root), our stdio is criu's 0-2 and the joined namespaces' fds follow from 3.
Opts restore_opts(const RestoreOptions& o, const spec::Spec& s, const std::string& root,
                  const std::vector<std::pair<std::string, std::string>>& cgroup_roots,
                  const std::vector<std::string>& stdio_keys,
                  const std::vector<std::pair<std::string, std::string>>& cgroup_binds = {});

// The keys of the init's fds 0-2 (stdio_key), from /proc.
std::vector<std::string> stdio_keys_of(pid_t pid);

// The images' directory and criu's log directory, absolute.
std::string image_dir(const CriuOptions& o);
std::string log_dir(const CriuOptions& o);

// Before a restore, as create would have (runc's prepareCriuRestoreMounts): each bind mount's
// mountpoint made in the rootfs, with the binds before it mounted so that one nested in
// another's source is made in that source. In a mount namespace that ends with it: nothing
// stays mounted. Not below a tmpfs of the config (criu restores those with their contents).
sys::Status prepare_mountpoints(const spec::Spec& s);

// Where `criu swrk` runs for a restore: a mount namespace of its own with the rootfs bound on
// `root` (nothing is mounted on the host), inside the container's cgroups (`procs`: each
// hierarchy's cgroup.procs), so that the restored tree is born in them.
struct SwrkPlace {
    std::string rootfs, root;
    std::vector<std::string> procs;
};

// `criu swrk` started as hako's child, our stdio its 0-2, `fds` from 3 on and its end of the
// socketpair after them; `place` null for a dump (criu where hako is).
struct Swrk {
    sys::ChildProcess process;
    sys::UniqueFd sock;  // ours
    bool placed = false;

    // `path` as criu sees it, for opening the directories criu is given by fd: criu opens
    // /proc/<hako>/fd/N, and a restore's criu needs a mount of its own namespace there (its
    // cgroup yard, mounted in its work directory, fails with EINVAL on a mount of ours).
    [[nodiscard]] std::string path_in_criu(const std::string& path) const {
        return placed ? "/proc/" + std::to_string(process.pid()) + "/root" + path : path;
    }
};
sys::Result<Swrk> spawn_swrk(const Runtime& rt, const SwrkPlace* place,
                             const std::vector<sys::UniqueFd>& fds);

// One request to a started criu: its notifications answered by `on_notify`, then criu is
// waited for. The final response when criu succeeded; else what failed in words (criu's
// reason, the log's excerpt and path; a handler's failure first, as `handler_error` said).
sys::Result<Response> run(const Runtime& rt, Swrk criu, const std::string& step, ReqType type,
                          const Opts& o, const NotifyHandler& on_notify,
                          const std::string& log_path);

}  // namespace criu

}  // namespace runtime
