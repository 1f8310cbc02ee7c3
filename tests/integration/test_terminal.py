"""Terminals: the pty master goes to --console-socket exactly as runc sends it (SCM_RIGHTS),
which is what podman's conmon and containerd's shim read."""
import os
import socket
import subprocess

from conftest import HAKO, read_until


class ConsoleReceiver:
    def __init__(self, path):
        self.path = str(path)
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(self.path)
        self.srv.listen(4)
        self.srv.settimeout(30)

    def receive(self):
        conn, _ = self.srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        conn.close()
        assert len(fds) == 1
        return msg.decode(), fds[0]


def test_create_sends_the_pty_master_to_the_console_socket(hako, tmp_path):
    rx = ConsoleReceiver(tmp_path / "console.sock")
    p = hako.config["process"]
    p["terminal"] = True
    p["consoleSize"] = {"height": 40, "width": 120}
    p["args"] = ["sh", "-c", "tty; stty size; [ -t 0 ] && echo stdin-is-a-tty; "
                 "ls -l /dev/console; echo done; sleep 2"]
    r, cid = hako.create("--console-socket", rx.path)
    name, master = rx.receive()
    assert name.startswith("/dev/pts/"), name
    assert hako.cmd("start", cid).returncode == 0
    out = read_until(master, "done")
    os.close(master)
    lines = out.splitlines()
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "40 120", out
    assert "stdin-is-a-tty" in lines
    assert any(l.startswith("crw") and "136," in l and "/dev/console" in l for l in lines), out


def test_exec_tty_with_console_socket(hako, tmp_path):
    hako.set_args("sleep", "60")
    _, cid = hako.create()
    hako.cmd("start", cid)
    rx = ConsoleReceiver(tmp_path / "exec.sock")
    with open(tmp_path / "exec.out", "w") as o:
        p = subprocess.Popen([str(HAKO), "--root", str(hako.root), "exec", "-t", "--console-socket",
                              rx.path, cid, "sh", "-c", "tty; echo exec-done; sleep 1"],
                             stdout=o, stderr=o)
        name, master = rx.receive()
        out = read_until(master, "exec-done")
        # Closing the master first would hang up the terminal (SIGHUP, exit 129), as it should.
        assert p.wait(timeout=30) == 0, (tmp_path / "exec.out").read_text()
        os.close(master)
    assert out.splitlines()[0].startswith("/dev/pts/"), out


def test_terminal_and_console_socket_go_together(hako, tmp_path):
    hako.config["process"]["terminal"] = True
    r, cid = hako.create(check=False)
    assert r.returncode == 1 and "process.terminal is true but no --console-socket was given" in r.stderr
    hako.assert_gone(cid)
    hako.config["process"]["terminal"] = False
    r, cid = hako.create("--console-socket", str(tmp_path / "x.sock"), check=False)
    assert r.returncode == 1 and "--console-socket was given but process.terminal is false" in r.stderr
    hako.assert_gone(cid)


def test_foreground_run_proxies_the_terminal(hako):
    """`hako run` with process.terminal and no console socket: hako holds the master, puts its
    own terminal in raw mode and proxies both ways; the exit status is the container's."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 99, 0, 0))
    hako.config["process"]["terminal"] = True
    hako.set_args("sh", "-c", "tty; stty size; echo ready; read x; echo got-$x; exit 3")
    cid = hako.new_id()
    hako.write_config(cid)
    p = subprocess.Popen([str(HAKO), "--root", str(hako.root), "run", "-b", str(hako.bundle), cid],
                         stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = read_until(master, "ready")
    os.write(master, b"hello\r")
    out += read_until(master, "got-hello")
    assert p.wait(timeout=30) == 3, out
    os.close(master)
    lines = [l for l in out.splitlines() if l.strip() and not l.startswith("hako: warning")]
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "33 99", "the window size of hako's terminal"
    assert "got-hello" in out
    hako.assert_gone(cid)
