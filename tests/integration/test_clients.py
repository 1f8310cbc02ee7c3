"""Real clients run their containers on hako, unmodified: containerd (through its runc.v2 shim,
as Kubernetes and Docker use it), podman (through conmon) and dockerd.

Every daemon here is started by the test with its own directories and socket, stopped by its pid,
and its directories removed; the containers' cgroups go under a parent of the test's own.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HAKO, REPO, read_until
import images

IMAGE = "docker.io/library/hako-busybox:latest"


def need(*programs):
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.fail(f"{' '.join(missing)} missing: scripts/install-deps installs them")


def wait_for(path, timeout=30):
    deadline = time.time() + timeout
    while not Path(path).exists():
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def stop_daemon(proc, base):
    """SIGTERM by pid, SIGKILL if it lingers; then nothing of it may stay mounted."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    mounts = [l for l in Path("/proc/self/mountinfo").read_text().splitlines() if str(base) in l]
    for line in reversed(mounts):
        subprocess.run(["umount", "-l", line.split()[4]], check=False)
    assert not mounts, f"mounts left under {base}: {mounts}"


@pytest.fixture(scope="module")
def public_base():
    base = Path(tempfile.mkdtemp(prefix="hako-clients-"))
    base.chmod(0o755)
    subprocess.run([str(REPO / "scripts" / "make-bundle"), str(base / "bundle"), str(HAKO)],
                   check=True, capture_output=True)
    yield base
    shutil.rmtree(base, ignore_errors=True)


# --- containerd ------------------------------------------------------------------------------

class Containerd:
    def __init__(self, base):
        self.base = base
        self.sock = base / "containerd.sock"
        self.runc_root = base / "runc"

    def ctr(self, *args, check=True, timeout=60, **kw):
        kw.setdefault("capture_output", True)
        r = subprocess.run(["ctr", "--address", str(self.sock), "-n", "hako", *args], text=True,
                           timeout=timeout, **kw)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    def runtime_flags(self, cid):
        # What a runc.v2 runtime with BinaryName = hako gets (see README for the config lines).
        return ["--runc-binary", str(HAKO), "--runc-root", str(self.runc_root),
                "--cgroup", f"/hako-ctr-{os.getpid()}/{cid}"]


@pytest.fixture(scope="module")
def containerd(public_base):
    need("containerd", "ctr", "containerd-shim-runc-v2")
    base = public_base / "containerd"
    base.mkdir()
    (base / "config.toml").write_text(f"""version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{base}/containerd.sock"
[ttrpc]
  address = "{base}/containerd.sock.ttrpc"
""")
    log = open(base / "containerd.log", "w")
    proc = subprocess.Popen(["containerd", "--config", str(base / "config.toml")], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        c = Containerd(base)
        wait_for(c.sock)
        images.oci_archive(public_base / "bundle" / "rootfs", base / "image.tar", IMAGE)
        c.ctr("images", "import", str(base / "image.tar"))
        yield c
        assert c.ctr("task", "ls", "-q").stdout.strip() == "", "tasks left"
    finally:
        stop_daemon(proc, base)
        log.close()


def test_containerd_run_prints_and_cleans_up(containerd):
    r = containerd.ctr("run", "--rm", *containerd.runtime_flags("r1"), IMAGE, "r1", "sh", "-c",
                       "echo hello; cat /proc/self/cgroup | grep pids")
    assert r.stdout.splitlines()[0] == "hello", r.stdout
    assert f"pids:/hako-ctr-{os.getpid()}/r1" in r.stdout, "in the cgroup containerd asked for"
    assert not (containerd.runc_root / "hako" / "r1").exists(), "hako's state is gone"


def test_containerd_detached_task_exec_ps_pause_metrics_kill(containerd):
    c = containerd
    c.ctr("run", "-d", *c.runtime_flags("d1"), IMAGE, "d1", "sleep", "300")
    try:
        tasks = c.ctr("task", "ls").stdout
        assert "d1" in tasks and "RUNNING" in tasks, tasks
        # exec --detach --pid-file and the exit status of the exec'd process come back
        r = c.ctr("task", "exec", "--exec-id", "e1", "d1", "sh", "-c", "echo in-$(hostname); "
                  "exit 3", check=False)
        assert r.returncode == 3 and "in-" in r.stdout, (r.stdout, r.stderr)
        ps = c.ctr("task", "ps", "d1").stdout.split()
        assert ps[0] == "PID" and len(ps) >= 4, ps  # the init at least
        c.ctr("task", "pause", "d1")
        assert "PAUSED" in c.ctr("task", "ls").stdout
        c.ctr("task", "resume", "d1")
        assert "RUNNING" in c.ctr("task", "ls").stdout
        metrics = c.ctr("task", "metrics", "d1").stdout
        assert "memory.usage_in_bytes" in metrics and "pids.current" in metrics, metrics
        # exec -t: under a pty, a terminal inside (console socket protocol through the shim)
        import pty
        master, slave = pty.openpty()
        p = subprocess.Popen(["ctr", "--address", str(c.sock), "-n", "hako", "task", "exec",
                              "-t", "--exec-id", "t1", "d1", "sh", "-c", "tty; echo tty-done"],
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        out = read_until(master, "tty-done")
        assert p.wait(timeout=30) == 0, out
        os.close(master)
        assert "/dev/pts/" in out, out
        c.ctr("task", "kill", "-s", "SIGKILL", "d1")
        deadline = time.time() + 10
        while "STOPPED" not in c.ctr("task", "ls").stdout:
            assert time.time() < deadline, c.ctr("task", "ls").stdout
            time.sleep(0.1)
    finally:
        c.ctr("task", "delete", "-f", "d1", check=False)
        c.ctr("container", "delete", "d1", check=False)
    assert not (c.runc_root / "hako" / "d1").exists()
    for h in Path("/sys/fs/cgroup").iterdir():
        assert not (h / f"hako-ctr-{os.getpid()}").exists(), f"cgroup left in {h}"
