"""CVE-2024-21626 ("leaky vessels") as a class: a path from the config (process.cwd, `exec
--cwd`, args[0], a hook run in the container) that climbs out through /proc/self/fd/N of an fd
hako holds. Each attack plants a secret on the host and tries every fd number from inside."""
import os
import shutil
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pytest

# Far enough up to reach the host's "/" from any directory an fd could point at.
UP = "/".join([".."] * 16)
FDS = range(3, 16)


@pytest.fixture
def secret(tmp_path):
    """A file on the host the container must never read, and a host script that prints it."""
    d = Path(f"/tmp/hako-secret-{uuid.uuid4().hex[:8]}")
    d.mkdir()
    value = uuid.uuid4().hex
    (d / "secret").write_text(value)
    # A static ELF of the host's (a script would be refused once its interpreter, resolved in
    # the container, cannot open it), named so that busybox runs its echo: it prints its args.
    evil = d / "echo"
    shutil.copy("/bin/busybox", evil)
    evil.chmod(0o755)
    yield {"dir": d, "value": value, "evil": evil}
    for f in d.iterdir():
        f.unlink()
    d.rmdir()


def reads_secret_script(secret):
    # From the working directory: as a host procfs, through this test's root; else climb to
    # "/" (within a detached mount ".." stops at its root) and read the secret by its path.
    return (f"cat {os.getpid()}/root{secret['dir']}/secret 2>/dev/null; cd {UP} 2>/dev/null; "
            f"cat .{secret['dir']}/secret 2>/dev/null; pwd")


def via_fd(fd, path):
    """The ways a path can leave through fd `fd`: the root of a host process (this test's)
    in a host procfs, or climbing."""
    return [f"/proc/self/fd/{fd}/{os.getpid()}/root{path}", f"/proc/self/fd/{fd}/{UP}{path}"]


def test_cwd_through_a_host_fd_is_refused(hako, secret):
    with_ptrace(hako)
    hako.set_args("sh", "-c", reads_secret_script(secret))
    for fd in FDS:
        hako.config["process"]["cwd"] = f"/proc/self/fd/{fd}"
        r, _ = hako.run()
        assert secret["value"] not in r.stdout, f"cwd /proc/self/fd/{fd} reached the host"
        assert r.returncode != 0, f"cwd /proc/self/fd/{fd} was accepted: {r.stdout}"
        assert "process.cwd" in r.stderr, r.stderr


def test_cwd_through_a_magic_link_says_why(hako):
    hako.config["process"]["cwd"] = "/proc/self/fd/3"
    hako.set_args("true")
    r, _ = hako.run()
    assert r.returncode == 1
    assert "process.cwd: chdir /proc/self/fd/3" in r.stderr, r.stderr
    assert "CVE-2024-21626" in r.stderr, r.stderr


def test_cwd_symlink_out_of_the_rootfs_stays_inside(hako, tmp_path, rootfs):
    """A cwd that is a symlink to an absolute host path resolves inside the rootfs."""
    import shutil
    private = tmp_path / "rootfs"
    shutil.copytree(rootfs, private, symlinks=True)
    host_dir = tmp_path / "host-cwd"
    host_dir.mkdir()
    (host_dir / "only-on-the-host").write_text("x")
    os.symlink(str(host_dir), private / "work")
    hako.config["root"]["path"] = str(private)
    hako.config["process"]["cwd"] = "/work"
    hako.set_args("sh", "-c", "ls; pwd")
    r, _ = hako.run()
    assert "only-on-the-host" not in r.stdout, "the cwd symlink was followed on the host"


def test_exec_cwd_through_a_host_fd_is_refused(hako, secret):
    hako.set_args("sleep", "30")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    for fd in FDS:
        r = hako.cmd("exec", "--cwd", f"/proc/self/fd/{fd}", cid, "sh", "-c",
                     reads_secret_script(secret))
        assert secret["value"] not in r.stdout, f"exec --cwd /proc/self/fd/{fd} reached the host"
        assert r.returncode != 0, f"exec --cwd /proc/self/fd/{fd} was accepted: {r.stdout}"


def test_args0_through_a_host_fd_runs_nothing_of_the_host(hako, secret):
    with_ptrace(hako)
    for fd in FDS:
        for path in via_fd(fd, secret["evil"]):
            hako.set_args(path, secret["value"])
            r, _ = hako.run()
            assert secret["value"] not in r.stdout + r.stderr, f"args[0] {path} ran a host file"
            assert r.returncode != 0


def with_ptrace(hako):
    """CAP_SYS_PTRACE (a debugging container): then a host /proc's /proc/1/root is open to it,
    and only what the container holds decides whether it leads to the host."""
    caps = hako.config["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k] = caps[k] + ["CAP_SYS_PTRACE"]


def test_hook_in_the_container_through_a_host_fd_runs_nothing_of_the_host(hako, secret):
    with_ptrace(hako)
    hako.set_args("true")
    for fd in FDS:
        for path in via_fd(fd, secret["evil"]):
            hako.config["hooks"] = {"startContainer": [{"path": path,
                                                        "args": ["echo", secret["value"]]}]}
            r, _ = hako.run()
            assert secret["value"] not in r.stdout + r.stderr, f"a hook {path} ran a host file"
    hako.config["hooks"] = {"createContainer": [
        {"path": p, "args": ["echo", secret["value"]]} for fd in FDS
        for p in via_fd(fd, secret["evil"])]}
    r, _ = hako.run()
    assert secret["value"] not in r.stdout + r.stderr


def host_reachable(pid, fd):
    """Whether fd `fd` of process `pid` is a directory a path could climb out through: any
    directory but a procfs instance of the container's own (the host's /proc leads to
    /proc/1/root, the host's root)."""
    link = f"/proc/{pid}/fd/{fd}"
    st = os.stat(link)
    if not stat.S_ISDIR(st.st_mode):
        return False
    own_procfs = os.path.isdir(f"{link}/sys/kernel") and st.st_dev != os.stat("/proc").st_dev
    return not own_procfs


def test_the_waiting_init_holds_nothing_of_the_host(hako):
    """While `created`, the init has resolved every config path it will; it must hold only
    stdio, its sync socket, the fifo and a procfs of its own pid namespace."""
    hako.set_args("true")
    r, cid = hako.create()
    pid = hako.state(cid)["pid"]
    fds = sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd"))
    leaks = [(f, os.readlink(f"/proc/{pid}/fd/{f}")) for f in fds if f >= 3 and
             host_reachable(pid, f)]
    assert leaks == [], f"the init holds host directories: {leaks}"
    assert len(fds) <= 7, f"more fds than stdio, sync, fifo, procfs and the exec stub: {fds}"
    # Its procfs handle shows the container's processes only: its init is pid 1 there.
    for f in fds:
        link = f"/proc/{pid}/fd/{f}"
        if stat.S_ISDIR(os.stat(link).st_mode):
            pids = [p for p in os.listdir(link) if p.isdigit()]
            assert pids == ["1"], f"the init's procfs handle shows other processes: {pids}"
