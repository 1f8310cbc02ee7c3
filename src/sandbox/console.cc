#include "sandbox/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "sandbox/sync.h"
#include "sys/fs.h"
#include "sys/mount_api.h"
#include "sys/unix_socket.h"

namespace sandbox {

sys::Result<sys::UniqueFd> open_console(int root_fd, const spec::Process& p, int sync_fd,
                                        bool bind_dev_console) {
    // The container's devpts, resolved inside the rootfs, verified to be a ptmx.
    auto master = sys::open_in_root(root_fd, "/dev/pts/ptmx", O_RDWR | O_NOCTTY);
    if (!master) {
        auto e = std::move(master.error()).in("process.terminal");
        e.op = "open";
        e.hint = "the container needs a devpts mount at /dev/pts (newinstance, ptmxmode=0666)";
        return sys::fail(e);
    }
    struct stat st {};
    if (::fstat(master->get(), &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 ||
        minor(st.st_rdev) != 2)
        return sys::plain_error("process.terminal: /dev/pts/ptmx in the container is not a ptmx");
    int unlock = 0;
    if (::ioctl(master->get(), TIOCSPTLCK, &unlock) < 0)
        return sys::errno_error("unlockpt", "/dev/pts/ptmx");
    // The slave straight from the master: no /dev/pts/N path that a container could swap
    // (CVE-2025-52565).
    int slave_fd = ::ioctl(master->get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave_fd < 0) return sys::errno_error("open pty slave (TIOCGPTPEER)");
    sys::UniqueFd slave(slave_fd);
    // The terminal belongs to the process's user, as on a login (runc's too); the group stays
    // devpts's (gid=5, tty). Only this pty, which hako made, is chowned: never a host file.
    // EINVAL/EPERM: the uid is not mapped in the container's user namespace; it stays root's.
    if (p.user.uid != 0 && ::fchown(slave.get(), p.user.uid, static_cast<gid_t>(-1)) < 0 &&
        errno != EINVAL && errno != EPERM)
        return sys::errno_error("chown the pty to process.user.uid", std::to_string(p.user.uid));
    if (p.console_size) {
        winsize ws{};
        ws.ws_row = static_cast<unsigned short>(p.console_size->first);
        ws.ws_col = static_cast<unsigned short>(p.console_size->second);
        if (::ioctl(slave.get(), TIOCSWINSZ, &ws) < 0) return sys::errno_error("set console size");
    }
    if (bind_dev_console) {
        HAKO_ASSIGN(auto target, sys::make_file_in_root(root_fd, "/dev/console"));
        HAKO_ASSIGN(auto tree, sys::clone_tree(slave.get(), "", false));
        HAKO_TRY(sys::move_mount_to(tree.get(), target.get(), "/dev/console"));
    }
    HAKO_TRY(send_fd_message(sync_fd, SyncType::kConsoleFd, master->get()));
    return slave;
}

sys::Status attach_console(sys::UniqueFd slave) {
    // Only a session leader may take a controlling terminal (the init already is one; an exec'd
    // process is not). EPERM: we already lead a session.
    if (::setsid() < 0 && errno != EPERM) return sys::errno_error("setsid");
    if (::ioctl(slave.get(), TIOCSCTTY, 0) < 0)
        return sys::errno_error("make the pty the controlling terminal");
    for (int fd = 0; fd < 3; ++fd)
        if (::dup2(slave.get(), fd) < 0) return sys::errno_error("dup2 pty to stdio");
    return {};
}

sys::Status send_console(const std::string& socket_path, int master, const std::string& name) {
    HAKO_ASSIGN(auto sock, sys::connect_unix(socket_path, "--console-socket"));
    return sys::send_with_fd(sock.get(), name, master, "--console-socket " + socket_path);
}

}  // namespace sandbox
