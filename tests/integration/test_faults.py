"""System calls that fail: hako run under `strace -f -e inject=...` (Debian strace) for each
call that builds a container. Each failure ends with an error that names the operation (and the
object), and leaves nothing behind that delete -f does not remove."""
import shutil
import subprocess

import pytest

from conftest import HAKO, host_mounts, unique_sleep
from test_crash import assert_no_residue

# (syscall injection, what the error must say)
INJECTIONS = [
    ("clone3:error=EAGAIN:when=1", "clone3"),
    ("unshare:error=EINVAL", "unshare namespaces: Invalid argument"),
    ("fsopen:error=ENODEV", "the kernel does not know the filesystem type"),
    ("fsmount:error=EPERM", "mount proc on /proc: Operation not permitted"),
    ("move_mount:error=EINVAL:when=2", "attach mount on"),
    ("open_tree:error=ENOENT", "open_tree: No such file or directory"),
    ("mount_setattr:error=EINVAL", "set mount attributes on"),
    ("openat2:error=ELOOP:when=3", "Too many levels of symbolic links"),
    ("mknodat:error=EIO", "exec.fifo: Input/output error"),
    ("pivot_root:error=EINVAL", "pivot_root rootfs: Invalid argument"),
    ("write:error=ENOSPC:when=2", "No space left on device"),
    ("sethostname:error=EPERM", "sethostname"),
    ("execveat:error=EACCES", "through the exec stub: Permission denied"),
    ("memfd_create:error=EMFILE", "memfd_create exec stub"),
    ("setresuid:error=EPERM", "setresuid"),
]


@pytest.fixture(scope="module")
def strace():
    path = shutil.which("strace")
    if path is None:
        pytest.fail("strace missing: scripts/install-deps installs it")
    return path


@pytest.mark.parametrize("inject,said", INJECTIONS, ids=[i[0].split(":")[0] for i in INJECTIONS])
def test_an_injected_failure_is_named_and_leaves_nothing(hako, strace, inject, said):
    marker = unique_sleep()
    hako.set_args("sleep", marker)
    before = host_mounts()
    cid = hako.new_id()
    hako.write_config(cid)
    syscall = inject.split(":")[0]
    r = subprocess.run([strace, "-f", "-qq", "-o", "/dev/null", "-e", f"trace={syscall}",
                        "-e", f"inject={inject}", str(HAKO), "--root", str(hako.root), "run",
                        "-d", "-b", str(hako.bundle), cid], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    # The stub's execveat comes after `start`: run -d has returned 0 by then, and the init
    # says why it exits 127 on the stderr it shares.
    after_start = inject.startswith("execveat")
    assert r.returncode != 0 or after_start, f"{inject}: hako did not fail"
    assert r.returncode >= 0, f"{inject}: hako crashed ({r.returncode})"
    assert said in r.stderr, (inject, r.stderr)
    assert r.stderr.startswith("hako: "), r.stderr
    assert hako.cmd("delete", "-f", cid).returncode == 0
    assert_no_residue(hako, cid, marker, before)


def test_an_injected_setns_failure_in_exec_is_named(hako, strace):
    hako.set_args("sleep", "30")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    r = subprocess.run([strace, "-f", "-qq", "-o", "/dev/null", "-e", "trace=setns", "-e",
                        "inject=setns:error=EINVAL:when=2", str(HAKO), "--root", str(hako.root),
                        "exec", cid, "true"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 255, r.stderr  # exec failed itself: runc's 255
    assert "namespace of the container: Invalid argument" in r.stderr, r.stderr
    assert hako.state(cid)["status"] == "running"


@pytest.mark.parametrize("inject", ["signalfd4:error=EMFILE"])
def test_foreground_run_survives_a_failing_signalfd(hako, strace, inject):
    # The foreground `run` forwards signals through a signalfd: when it cannot have one it must
    # not hang with every signal blocked, but wait for the container's exit status and say why.
    # (A failing poll takes the same path; `start` polls first, so strace cannot aim at it.)
    hako.set_args("sh", "-c", "sleep 0.3; exit 7")
    cid = hako.new_id()
    hako.write_config(cid)
    syscall = inject.split(":")[0]
    r = subprocess.run([strace, "-qq", "-o", "/dev/null", "-e", f"trace={syscall}",
                        "-e", f"inject={inject}", str(HAKO), "--root", str(hako.root), "run",
                        "-b", str(hako.bundle), cid], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 7, r.stderr
    assert "signals are no longer forwarded to the container" in r.stderr, r.stderr
