// CRIU's RPC (`criu swrk FD`): one request over a SOCK_SEQPACKET socketpair, criu's
// notifications at its steps answered one by one, then its response. The messages are those
// of criu's rpc.proto (Debian's criu ships it; protobuf-c encodes them); this file keeps the
// C structures out of the rest of hako: options are a plain struct, responses a plain struct.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sys/child_process.h"
#include "sys/sys_error.h"
#include "sys/unique_fd.h"

namespace runtime::criu {

// rpc.proto's criu_opts, the fields hako sets. Fds are numbers in hako's own table (criu opens
// /proc/<hako>/fd/N) except inherit_fd's, which are criu's (fds it inherited).
struct Opts {
    int images_dir_fd = -1, work_dir_fd = -1;
    pid_t pid = 0;  // dump: the tree's root
    int log_level = 4;
    std::string log_file, root, parent_img, freeze_cgroup, lsm_profile, lsm_mount_context;
    std::string config_file;          // criu's own options, read after these (and winning)
    std::string manage_cgroups_mode;  // soft, full, strict, ignore; "" for criu's default
    bool leave_running = false, ext_unix_sk = false, tcp_established = false;
    bool evasive_devices = false, shell_job = false, file_locks = false, track_mem = false;
    bool auto_dedup = false, lazy_pages = false, rst_sibling = false;
    bool orphan_pts_master = false, notify_scripts = false;
    std::uint32_t empty_ns = 0;                                // CLONE_NEW* flags
    std::vector<std::string> external;                         // "mnt[/data]:/srv", "file[..]"
    std::vector<std::pair<std::string, int>> inherit_fd;       // key, criu's fd
    std::vector<std::pair<std::string, std::string>> cg_root;  // controllers ("" v2), path
    std::vector<std::pair<std::string, std::string>> join_ns;  // "uts", a namespace file
    std::string ps_address;                                    // --page-server ADDRESS:PORT
    int ps_port = 0;
    int status_fd = -1;  // lazy pages: where criu says it is ready to serve them
};

enum class ReqType { kDump, kPreDump, kRestore };

// A criu_req of `type` with `o`, packed.
std::string encode_request(ReqType type, const Opts& o);
// The answer to a notification: criu goes on (true) or gives up.
std::string encode_notify_answer(bool ok);

// What criu_resp says, in the fields hako reads.
struct Response {
    bool notify = false;  // a notification (criu waits for the answer), else the final one
    bool success = false;
    std::string script;  // the notification's step: "setup-namespaces", "orphan-pts-master"..
    pid_t pid = 0;       // the notification's pid, or the restored tree's root
    int cr_errno = 0;
    std::string cr_errmsg;
};
sys::Result<Response> decode_response(std::string_view packed);

// Options decoded back (for tests: what criu would read).
sys::Result<Opts> decode_opts_of_request(std::string_view packed, int* type);

// A notification and the fd that came with it (orphan-pts-master's pty master): true to let
// criu go on; false with `*why` to make it stop.
using NotifyHandler = std::function<bool(const Response&, sys::UniqueFd passed, std::string* why)>;

// Send the request over `sock` (criu's end is in `criu`), answer the notifications with
// `on_notify` and return the final response. A failed handler's reason is in `*handler_error`.
sys::Result<Response> converse(int sock, ReqType type, const Opts& o,
                               const NotifyHandler& on_notify, std::string* handler_error);

}  // namespace runtime::criu
