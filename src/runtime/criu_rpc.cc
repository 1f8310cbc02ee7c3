#include "runtime/criu_rpc.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "criu/rpc.pb-c.h"
#include "sys/unix_socket.h"

namespace runtime::criu {
namespace {

// Each boolean option: ours, and rpc.proto's presence and value fields.
struct Flag {
    bool Opts::*ours;
    protobuf_c_boolean CriuOpts::*has;
    protobuf_c_boolean CriuOpts::*value;
};
constexpr Flag kFlags[] = {
    {&Opts::leave_running, &CriuOpts::has_leave_running, &CriuOpts::leave_running},
    {&Opts::ext_unix_sk, &CriuOpts::has_ext_unix_sk, &CriuOpts::ext_unix_sk},
    {&Opts::tcp_established, &CriuOpts::has_tcp_established, &CriuOpts::tcp_established},
    {&Opts::evasive_devices, &CriuOpts::has_evasive_devices, &CriuOpts::evasive_devices},
    {&Opts::shell_job, &CriuOpts::has_shell_job, &CriuOpts::shell_job},
    {&Opts::file_locks, &CriuOpts::has_file_locks, &CriuOpts::file_locks},
    {&Opts::track_mem, &CriuOpts::has_track_mem, &CriuOpts::track_mem},
    {&Opts::auto_dedup, &CriuOpts::has_auto_dedup, &CriuOpts::auto_dedup},
    {&Opts::lazy_pages, &CriuOpts::has_lazy_pages, &CriuOpts::lazy_pages},
    {&Opts::rst_sibling, &CriuOpts::has_rst_sibling, &CriuOpts::rst_sibling},
    {&Opts::orphan_pts_master, &CriuOpts::has_orphan_pts_master, &CriuOpts::orphan_pts_master},
    {&Opts::notify_scripts, &CriuOpts::has_notify_scripts, &CriuOpts::notify_scripts},
};

// protobuf-c's structures hold char* and arrays of pointers: this owns what they point to
// while one request is packed.
struct Packer {
    std::vector<InheritFd> inherit;
    std::vector<CgroupRoot> cgroups;
    std::vector<JoinNamespace> joins;
    std::vector<InheritFd*> inherit_ptrs;
    std::vector<CgroupRoot*> cgroup_ptrs;
    std::vector<JoinNamespace*> join_ptrs;
    std::vector<char*> externals;
    CriuPageServerInfo ps = CRIU_PAGE_SERVER_INFO__INIT;

    static char* c(const std::string& s) { return const_cast<char*>(s.c_str()); }
    static char* c_or_null(const std::string& s) { return s.empty() ? nullptr : c(s); }

    static CriuCgMode cg_mode(const std::string& m) {
        if (m == "ignore") return CRIU_CG_MODE__IGNORE;
        if (m == "full") return CRIU_CG_MODE__FULL;
        if (m == "strict") return CRIU_CG_MODE__STRICT;
        return CRIU_CG_MODE__SOFT;
    }

    void flags(const Opts& o, CriuOpts& m) {
        for (const auto& f : kFlags)
            if (o.*f.ours) m.*f.has = m.*f.value = 1;
        m.has_manage_cgroups = m.manage_cgroups = 1;
        if (!o.manage_cgroups_mode.empty()) {
            m.has_manage_cgroups_mode = 1;
            m.manage_cgroups_mode = cg_mode(o.manage_cgroups_mode);
        }
        if (o.empty_ns != 0) {
            m.has_empty_ns = 1;
            m.empty_ns = o.empty_ns;
        }
    }

    void lists(const Opts& o, CriuOpts& m) {
        for (const auto& [key, fd] : o.inherit_fd) {
            InheritFd f = INHERIT_FD__INIT;
            f.key = c(key);
            f.fd = fd;
            inherit.push_back(f);
        }
        for (const auto& [ctrl, path] : o.cg_root) {
            CgroupRoot r = CGROUP_ROOT__INIT;
            r.ctrl = c_or_null(ctrl);
            r.path = c(path);
            cgroups.push_back(r);
        }
        for (const auto& [ns, file] : o.join_ns) {
            JoinNamespace j = JOIN_NAMESPACE__INIT;
            j.ns = c(ns);
            j.ns_file = c(file);
            joins.push_back(j);
        }
        for (auto& f : inherit) inherit_ptrs.push_back(&f);
        for (auto& r : cgroups) cgroup_ptrs.push_back(&r);
        for (auto& j : joins) join_ptrs.push_back(&j);
        for (const auto& e : o.external) externals.push_back(c(e));
        m.n_inherit_fd = inherit_ptrs.size();
        m.inherit_fd = inherit_ptrs.data();
        m.n_cg_root = cgroup_ptrs.size();
        m.cg_root = cgroup_ptrs.data();
        m.n_join_ns = join_ptrs.size();
        m.join_ns = join_ptrs.data();
        m.n_external = externals.size();
        m.external = externals.data();
    }

    CriuOpts opts(const Opts& o) {
        CriuOpts m = CRIU_OPTS__INIT;
        m.images_dir_fd = o.images_dir_fd;
        if (o.work_dir_fd >= 0) {
            m.has_work_dir_fd = 1;
            m.work_dir_fd = o.work_dir_fd;
        }
        if (o.pid > 0) {
            m.has_pid = 1;
            m.pid = o.pid;
        }
        m.has_log_level = 1;
        m.log_level = o.log_level;
        m.log_file = c_or_null(o.log_file);
        m.root = c_or_null(o.root);
        m.parent_img = c_or_null(o.parent_img);
        m.freeze_cgroup = c_or_null(o.freeze_cgroup);
        m.lsm_profile = c_or_null(o.lsm_profile);
        m.lsm_mount_context = c_or_null(o.lsm_mount_context);
        m.config_file = c_or_null(o.config_file);
        if (!o.ps_address.empty()) {
            ps.address = c(o.ps_address);
            ps.has_port = 1;
            ps.port = o.ps_port;
            m.ps = &ps;
        }
        if (o.status_fd >= 0) {
            m.has_status_fd = 1;
            m.status_fd = o.status_fd;
        }
        flags(o, m);
        lists(o, m);
        return m;
    }
};

std::string pack(const CriuReq& req) {
    std::string out(criu_req__get_packed_size(&req), '\0');
    criu_req__pack(&req, reinterpret_cast<uint8_t*>(out.data()));
    return out;
}

CriuReqType wire_type(ReqType t) {
    switch (t) {
        case ReqType::kDump:
            return CRIU_REQ_TYPE__DUMP;
        case ReqType::kPreDump:
            return CRIU_REQ_TYPE__PRE_DUMP;
        case ReqType::kRestore:
            return CRIU_REQ_TYPE__RESTORE;
    }
    return CRIU_REQ_TYPE__EMPTY;
}

std::string str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

}  // namespace

std::string encode_request(ReqType type, const Opts& o) {
    Packer p;
    CriuOpts opts = p.opts(o);
    CriuReq req = CRIU_REQ__INIT;
    req.type = wire_type(type);
    req.opts = &opts;
    return pack(req);
}

std::string encode_notify_answer(bool ok) {
    CriuReq req = CRIU_REQ__INIT;
    req.type = CRIU_REQ_TYPE__NOTIFY;
    req.has_notify_success = 1;
    req.notify_success = ok ? 1 : 0;
    return pack(req);
}

sys::Result<Response> decode_response(std::string_view packed) {
    std::unique_ptr<CriuResp, void (*)(CriuResp*)> resp(
        criu_resp__unpack(nullptr, packed.size(), reinterpret_cast<const uint8_t*>(packed.data())),
        [](CriuResp* r) { criu_resp__free_unpacked(r, nullptr); });
    if (!resp) return sys::plain_error("criu's RPC: a response that is not a criu_resp");
    Response r;
    r.notify = resp->type == CRIU_REQ_TYPE__NOTIFY;
    r.success = resp->success != 0;
    if (resp->notify != nullptr) {
        r.script = str(resp->notify->script);
        if (resp->notify->has_pid) r.pid = resp->notify->pid;
    }
    if (resp->restore != nullptr) r.pid = resp->restore->pid;
    if (resp->has_cr_errno) r.cr_errno = resp->cr_errno;
    r.cr_errmsg = str(resp->cr_errmsg);
    return r;
}

sys::Result<Opts> decode_opts_of_request(std::string_view packed, int* type) {
    std::unique_ptr<CriuReq, void (*)(CriuReq*)> req(
        criu_req__unpack(nullptr, packed.size(), reinterpret_cast<const uint8_t*>(packed.data())),
        [](CriuReq* r) { criu_req__free_unpacked(r, nullptr); });
    if (!req || req->opts == nullptr) return sys::plain_error("not a criu_req with options");
    *type = req->type;
    const CriuOpts& m = *req->opts;
    Opts o;
    o.images_dir_fd = m.images_dir_fd;
    if (m.has_work_dir_fd) o.work_dir_fd = m.work_dir_fd;
    if (m.has_pid) o.pid = m.pid;
    o.log_file = str(m.log_file);
    o.root = str(m.root);
    o.parent_img = str(m.parent_img);
    o.freeze_cgroup = str(m.freeze_cgroup);
    o.lsm_profile = str(m.lsm_profile);
    o.config_file = str(m.config_file);
    for (const auto& f : kFlags) o.*f.ours = m.*f.value != 0;
    if (m.has_manage_cgroups_mode)
        o.manage_cgroups_mode = m.manage_cgroups_mode == CRIU_CG_MODE__IGNORE   ? "ignore"
                                : m.manage_cgroups_mode == CRIU_CG_MODE__FULL   ? "full"
                                : m.manage_cgroups_mode == CRIU_CG_MODE__STRICT ? "strict"
                                                                                : "soft";
    o.empty_ns = m.empty_ns;
    if (m.has_status_fd) o.status_fd = m.status_fd;
    for (std::size_t i = 0; i < m.n_external; ++i) o.external.emplace_back(m.external[i]);
    for (std::size_t i = 0; i < m.n_inherit_fd; ++i)
        o.inherit_fd.emplace_back(str(m.inherit_fd[i]->key), m.inherit_fd[i]->fd);
    for (std::size_t i = 0; i < m.n_cg_root; ++i)
        o.cg_root.emplace_back(str(m.cg_root[i]->ctrl), str(m.cg_root[i]->path));
    for (std::size_t i = 0; i < m.n_join_ns; ++i)
        o.join_ns.emplace_back(str(m.join_ns[i]->ns), str(m.join_ns[i]->ns_file));
    if (m.ps != nullptr) {
        o.ps_address = str(m.ps->address);
        o.ps_port = m.ps->port;
    }
    return o;
}

sys::Result<Response> converse(int sock, ReqType type, const Opts& o,
                               const NotifyHandler& on_notify, std::string* handler_error) {
    auto send = [sock](const std::string& msg) -> sys::Status {
        if (::send(sock, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
            return sys::errno_error("send a request to criu swrk");
        return {};
    };
    HAKO_TRY(send(encode_request(type, o)));
    constexpr std::size_t kMaxMessage = 65536;  // criu's responses are a few hundred bytes
    std::string buf(kMaxMessage, '\0');
    for (;;) {
        sys::UniqueFd passed;
        ssize_t n = -1;
        do {
            n = sys::receive_with_fd(sock, buf.data(), buf.size(), &passed);
        } while (n < 0 && errno == EINTR);
        if (n < 0) return sys::errno_error("receive criu's response");
        if (n == 0)
            return sys::plain_error("criu swrk closed its socket before it answered",
                                    "criu exited or was killed: see its log");
        HAKO_ASSIGN(auto resp, decode_response(std::string_view(buf.data(), n)));
        if (!resp.notify) return resp;
        bool ok = on_notify(resp, std::move(passed), handler_error);
        HAKO_TRY(send(encode_notify_answer(ok)));
    }
}

}  // namespace runtime::criu
