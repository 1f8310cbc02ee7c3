// Checkpoint and restore through CRIU (runc's `checkpoint` / `restore`): criu's command line,
// with the runtime's part around it (the container's bind mounts and stdio as CRIU's externals,
// its cgroups, the restored init recorded as the container's).
#pragma once

#include <string>
#include <vector>

#include "runtime/container.h"
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

// `criu dump` / `criu pre-dump`'s arguments after the program name.
std::vector<std::string> dump_args(const CheckpointOptions& o, const spec::Spec& s, pid_t pid,
                                   const std::string& images, const std::string& log_dir,
                                   const std::vector<std::string>& stdio_keys);

// `criu restore`'s arguments; `cgroup_roots` as criu's --cgroup-root takes them.
std::vector<std::string> restore_args(const RestoreOptions& o, const spec::Spec& s,
                                      const std::string& images, const std::string& log_dir,
                                      const std::string& root, const std::string& pid_file,
                                      const std::vector<std::string>& cgroup_roots,
                                      const std::vector<std::string>& stdio_keys);

// The keys of the init's fds 0-2 (stdio_key), from /proc.
std::vector<std::string> stdio_keys_of(pid_t pid);

// The images' directory and criu's log directory, absolute.
std::string image_dir(const CriuOptions& o);
std::string log_dir(const CriuOptions& o);

// A criu step that failed: its wait status, the log's excerpt and the log's path.
sys::SysError failed(const std::string& step, int status, const std::string& log_path);

// Run criu with `args` (stdin from /dev/null, no fd of ours but stdio): "" when it succeeded,
// else what failed in words with the log's excerpt and path.
sys::Status run(const Runtime& rt, const std::string& step, const std::vector<std::string>& args,
                const std::string& log_path);

}  // namespace criu

}  // namespace runtime
