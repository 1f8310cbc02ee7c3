// The C API (include/hako.h) over runtime/. Each call forks (glibc fork: malloc and the rest of
// libc are consistent in the child even when the caller has threads), runs the operation in the
// single-threaded child, and reads the result back through a pipe.
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "hako.h"
#include "runtime/container.h"
#include "runtime/exec.h"
#include "sys/child_process.h"
#include "sys/fs.h"

struct hako_ctx {
    std::string root;
    std::string error;  // the whole message, as the command line prints it
    int err = 0;        // its errno, 0 when no syscall failed
    std::string field;  // the config field or argument it concerns, or ""
};

namespace {

// What the child reports: a status word, then the text (error message or JSON output); for a
// failure also its errno and field, so that the record stays structured to the caller.
struct Outcome {
    int status = -1;  // -1: failed; else the operation's own number (an exit status, or 0)
    std::string text;
    int err = 0;
    std::string field;

    Outcome() = default;
    Outcome(int s, std::string t, int e = 0, std::string f = {})
        : status(s), text(std::move(t)), err(e), field(std::move(f)) {}
};

// The packet: status, errno, field length, text length (host order: same machine), field, text.
struct PacketHeader {
    int status;
    int err;
    std::uint32_t field_len;
    std::uint32_t text_len;
};

// Run `op` in a forked child; its status and text come back through a pipe as one packet
// (status, length, text). Not "until EOF": processes the child starts (a container init waiting
// for `start`) inherit the pipe until they exec.
Outcome in_child(const std::function<Outcome()>& op) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) < 0)
        return {-1, std::string("pipe: ") + std::strerror(errno), errno, {}};
    sys::UniqueFd r(fds[0]), w(fds[1]);
    pid_t pid = ::fork();
    if (pid < 0) return {-1, std::string("fork: ") + std::strerror(errno), errno, {}};
    if (pid == 0) {
        r.reset();
        Outcome o;
        try {
            o = op();
        } catch (const std::exception& e) {
            o = {-1, e.what()};
        }
        PacketHeader h{o.status, o.err, static_cast<std::uint32_t>(o.field.size()),
                       static_cast<std::uint32_t>(o.text.size())};
        std::string packet(reinterpret_cast<const char*>(&h), sizeof h);
        packet += o.field;
        packet += o.text;
        (void)sys::write_all(w.get(), packet, "result pipe");
        ::_exit(0);
    }
    w.reset();
    sys::ChildProcess worker(pid,
                             sys::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))));
    std::string data;
    PacketHeader h{};
    auto complete = [&] {
        if (data.size() < sizeof h) return false;
        std::memcpy(&h, data.data(), sizeof h);
        return data.size() >= sizeof h + h.field_len + h.text_len;
    };
    while (!complete()) {
        pollfd p[2] = {{r.get(), POLLIN, 0}, {worker.pidfd(), POLLIN, 0}};
        if (::poll(p, worker.pidfd() >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) break;
        if ((p[0].revents & (POLLIN | POLLHUP)) != 0) {
            char buf[65536];
            ssize_t n = ::read(r.get(), buf, sizeof buf);
            if (n > 0) {
                data.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0) break;
        }
        // The worker is gone and nothing more is buffered: the packet will not come.
        if ((p[1].revents & POLLIN) != 0 && (p[0].revents & POLLIN) == 0) break;
    }
    int wstatus = worker.wait();
    if (!complete())
        return {-1, "the hako worker process died (wait status " + std::to_string(wstatus) + ")"};
    Outcome o;
    o.status = h.status;
    o.err = h.err;
    o.field = data.substr(sizeof h, h.field_len);
    o.text = data.substr(sizeof h + h.field_len, h.text_len);
    return o;
}

runtime::Runtime runtime_of(const hako_ctx* ctx) {
    runtime::Runtime rt;
    if (!ctx->root.empty()) {
        rt.root = ctx->root;
    } else if (auto root = runtime::default_state_root()) {
        rt.root = *root;
    }
    return rt;
}

Outcome failed(const sys::SysError& e) { return {-1, e.message(), e.err, e.field}; }

template <typename T>
Outcome from(const sys::Result<T>& r) {
    if (!r) return failed(r.error());
    return {0, {}};
}

int finish(hako_ctx* ctx, const Outcome& o, int* status = nullptr, char** text = nullptr) {
    ctx->err = o.status < 0 ? o.err : 0;
    ctx->field = o.status < 0 ? o.field : std::string();
    if (o.status < 0) {
        ctx->error = o.text;
        return -1;
    }
    ctx->error.clear();
    if (status != nullptr) *status = o.status;
    if (text != nullptr) {
        *text = static_cast<char*>(std::malloc(o.text.size() + 1));
        if (*text == nullptr) {
            ctx->error = "out of memory";
            return -1;
        }
        std::memcpy(*text, o.text.c_str(), o.text.size() + 1);
    }
    return 0;
}

bool bad_args(hako_ctx* ctx, bool bad) {
    if (bad && ctx != nullptr) {
        ctx->error = "invalid argument (NULL)";
        ctx->err = EINVAL;
        ctx->field.clear();
    }
    return bad;
}

}  // namespace

extern "C" {

hako_ctx* hako_new(const char* root) {
    auto* ctx = new (std::nothrow) hako_ctx;
    if (ctx != nullptr && root != nullptr) ctx->root = root;
    return ctx;
}

void hako_free(hako_ctx* ctx) { delete ctx; }

const char* hako_last_error(const hako_ctx* ctx) {
    return ctx == nullptr ? "" : ctx->error.c_str();
}

int hako_last_errno(const hako_ctx* ctx) { return ctx == nullptr ? 0 : ctx->err; }

const char* hako_last_error_field(const hako_ctx* ctx) {
    return ctx == nullptr ? "" : ctx->field.c_str();
}

void hako_string_free(char* s) { std::free(s); }

int hako_create(hako_ctx* ctx, const char* id, const char* bundle) {
    if (ctx == nullptr || bad_args(ctx, id == nullptr || bundle == nullptr)) return -1;
    return finish(ctx, in_child([&] {
                      runtime::CreateOptions o;
                      o.id = id;
                      o.bundle = bundle;
                      auto c = runtime::create(runtime_of(ctx), o);
                      if (c) c->init.release();
                      return from(c);
                  }));
}

int hako_start(hako_ctx* ctx, const char* id) {
    if (ctx == nullptr || bad_args(ctx, id == nullptr)) return -1;
    return finish(ctx, in_child([&] { return from(runtime::start(runtime_of(ctx), id)); }));
}

int hako_run(hako_ctx* ctx, const char* id, const char* bundle, int* exit_status) {
    if (ctx == nullptr || bad_args(ctx, id == nullptr || bundle == nullptr)) return -1;
    return finish(ctx, in_child([&] {
                      runtime::CreateOptions o;
                      o.id = id;
                      o.bundle = bundle;
                      auto code = runtime::run(runtime_of(ctx), o, false, false);
                      if (!code) return failed(code.error());
                      return Outcome{*code, {}};
                  }),
                  exit_status);
}

int hako_exec(hako_ctx* ctx, const char* id, const char* const* argv, int* exit_status,
              char** output) {
    if (ctx == nullptr || bad_args(ctx, id == nullptr || argv == nullptr || argv[0] == nullptr))
        return -1;
    return finish(
        ctx, in_child([&] {
            runtime::ExecOptions o;
            o.id = id;
            for (const char* const* a = argv; *a != nullptr; ++a) o.args.emplace_back(*a);
            // A library call reads nothing from the caller's stdin.
            if (auto null = sys::open_path("/dev/null", O_RDONLY)) ::dup2(null->get(), 0);
            // Captured output goes to a memfd, read back once the process has ended: no pipe to
            // fill up while exec waits.
            sys::UniqueFd capture;
            if (output != nullptr) {
                capture.reset(::memfd_create("hako-exec-output", 0));
                if (!capture.valid())
                    return Outcome{
                        -1, std::string("memfd_create: ") + std::strerror(errno), errno, {}};
                ::dup2(capture.get(), 1);
            }
            auto code = runtime::exec(runtime_of(ctx), o);
            if (!code) return failed(code.error());
            Outcome res{*code, {}};
            if (capture.valid()) {
                ::lseek(capture.get(), 0, SEEK_SET);
                if (auto text = sys::read_fd(capture.get())) res.text = *text;
            }
            return res;
        }),
        exit_status, output);
}

int hako_kill(hako_ctx* ctx, const char* id, int signal, int all) {
    if (ctx == nullptr || bad_args(ctx, id == nullptr)) return -1;
    return finish(
        ctx, in_child([&] { return from(runtime::kill(runtime_of(ctx), id, signal, all != 0)); }));
}

int hako_delete(hako_ctx* ctx, const char* id, int force) {
    if (ctx == nullptr || bad_args(ctx, id == nullptr)) return -1;
    return finish(ctx,
                  in_child([&] { return from(runtime::remove(runtime_of(ctx), id, force != 0)); }));
}

int hako_state(hako_ctx* ctx, const char* id, char** json) {
    if (ctx == nullptr || bad_args(ctx, id == nullptr || json == nullptr)) return -1;
    return finish(ctx, in_child([&] {
                      auto s = runtime::state(runtime_of(ctx), id);
                      if (!s) return failed(s.error());
                      return Outcome{0, runtime::to_json(*s, false)};
                  }),
                  nullptr, json);
}

int hako_list(hako_ctx* ctx, char** json) {
    if (ctx == nullptr || bad_args(ctx, json == nullptr)) return -1;
    return finish(ctx, in_child([&] {
                      auto all = runtime::list(runtime_of(ctx));
                      if (!all) return failed(all.error());
                      std::string out = "[";
                      for (std::size_t i = 0; i < all->size(); ++i)
                          out += (i ? "," : "") + runtime::to_json((*all)[i], false);
                      return Outcome{0, out + "]"};
                  }),
                  nullptr, json);
}

}  // extern "C"
