#include "sandbox/hook_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>

#include "sys/child_process.h"
#include "sys/clone.h"
#include "sys/fs.h"
#include "sys/proc.h"

namespace sandbox {

std::string hook_state_json(const spec::Spec& s, const std::string& id, const std::string& status,
                            int pid) {
    nlohmann::ordered_json j = {{"ociVersion", "1.3.0"}, {"id", id},
                                {"status", status},      {"pid", pid},
                                {"bundle", s.bundle},    {"annotations", s.annotations}};
    return j.dump();
}

namespace {

// The state is small (well under a pipe's buffer): one write, then EOF for the hook. A hook need
// not read it (/bin/false exits at once): then the write fails with EPIPE, and the SIGPIPE it
// raises is taken back here, not left to end hako when signals are unblocked.
void give_state(sys::UniqueFd in, const std::string& state_json, const std::string& which) {
    sigset_t pipe_signal, old_mask;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    ::sigprocmask(SIG_BLOCK, &pipe_signal, &old_mask);
    (void)sys::write_all(in.get(), state_json, which + " stdin");
    const timespec no_wait{};
    while (::sigtimedwait(&pipe_signal, nullptr, &no_wait) == SIGPIPE) {
    }
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
}

}  // namespace

sys::Status run_hook(const spec::Hook& hook, const std::string& state_json,
                     const std::string& which) {
    int in[2], err[2];
    if (::pipe2(in, O_CLOEXEC) < 0) return sys::errno_error(which + ": pipe");
    sys::UniqueFd in_r(in[0]), in_w(in[1]);
    if (::pipe2(err, O_CLOEXEC) < 0) return sys::errno_error(which + ": pipe");
    sys::UniqueFd err_r(err[0]), err_w(err[1]);
    std::vector<std::string> args =
        hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = hook.env;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    HAKO_ASSIGN(auto child, sys::clone3_fork(CLONE_PIDFD));
    if (child.pid == 0) {
        ::dup2(in_r.get(), 0);
        ::dup2(err_w.get(), 2);
        // A hook runs alone in a process group of its own, so that a timeout or a failure ends
        // whatever it started too; and it inherits no fd of hako's, since a hook in the
        // container could otherwise climb out through /proc/self/fd/N (CVE-2024-21626).
        ::setpgid(0, 0);
        ::syscall(SYS_close_range, 3U, ~0U, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(hook.path.c_str(), argv.data(), envp.data());
        std::string msg = "exec " + hook.path + ": " + std::strerror(errno);
        (void)!::write(2, msg.data(), msg.size());
        ::_exit(127);
    }
    sys::ChildProcess proc(child.pid, std::move(child.pidfd));
    ::setpgid(proc.pid(), proc.pid());  // also here: the group exists before any kill below
    in_r.reset();
    err_w.reset();
    give_state(std::move(in_w), state_json, which);
    int timeout_ms = hook.timeout ? *hook.timeout * 1000 : -1;
    pollfd p{proc.pidfd(), POLLIN, 0};
    int ready;
    while ((ready = ::poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
    }
    if (ready == 0) {
        ::kill(-proc.pid(), SIGKILL);  // the hook's group: what it started dies with it
        // ~ChildProcess kills and reaps the hook itself.
        return sys::plain_error(which + ": error running hook " + hook.path + ": timed out after " +
                                std::to_string(*hook.timeout) +
                                "s and was killed, with every process of its group");
    }
    // Its status without reaping it: while the hook is a zombie its pid (the group's id)
    // cannot be reused, so the kill of a failed hook's group hits only what it started.
    siginfo_t info{};
    while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(proc.pidfd()), &info,
                    WEXITED | WNOWAIT) < 0 &&
           errno == EINTR) {
    }
    if (!(info.si_code == CLD_EXITED && info.si_status == 0)) ::kill(-proc.pid(), SIGKILL);
    int status = proc.wait();
    std::string said;
    // What it said so far, without waiting for EOF: a child it left running may hold the pipe.
    if (::fcntl(err_r.get(), F_SETFL, O_NONBLOCK) == 0)
        if (auto text = sys::read_fd(err_r.get())) said = *text;
    while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
    // "error running hook" as runc words it (clients and runc's tests look for it).
    return sys::plain_error(
        which + ": error running hook " + hook.path + ": " + sys::describe_wait_status(status),
        said.empty() ? std::string{} : "it said: " + said);
}

}  // namespace sandbox
