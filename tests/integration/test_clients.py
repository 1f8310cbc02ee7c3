"""Real clients run their containers on hako, unmodified: containerd (through its runc.v2 shim,
as Kubernetes and Docker use it), podman (through conmon) and dockerd.

Every daemon here is started by the test with its own directories and socket, stopped by its pid,
and its directories removed; the containers' cgroups go under a parent of the test's own.
"""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import HAKO, REPO, run_under_pty
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


class HostDirs:
    """Directories a client makes on the host whatever it is told (containerd's shims put their
    sockets in /run/containerd/s, dockerd makes /run/docker/plugins): the ones that did not
    exist before are removed after, deepest first, and only when empty."""

    def __init__(self, *paths):
        self.paths = [Path(p) for p in paths if not Path(p).exists()]

    def restore(self):
        for p in sorted(self.paths, key=lambda p: len(p.parts), reverse=True):
            if p.is_dir():
                p.rmdir()


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

    def kill_until_stopped(self, cid):
        self.ctr("task", "kill", "-s", "SIGKILL", cid)
        deadline = time.time() + 10
        while "STOPPED" not in self.ctr("task", "ls").stdout:
            assert time.time() < deadline, self.ctr("task", "ls").stdout
            time.sleep(0.1)

    def remove(self, cid):
        self.ctr("task", "delete", "-f", cid, check=False)
        self.ctr("container", "delete", cid, check=False)

    def io_flags(self):
        # ctr keeps the task's stdio fifos here (else in /run/containerd/fifo)
        return ["--fifo-dir", str(self.base / "fifo")]

    def runtime_flags(self, cid):
        # What a runc.v2 runtime with BinaryName = hako gets (see README for the config lines).
        return self.io_flags() + ["--runc-binary", str(HAKO), "--runc-root", str(self.runc_root),
                "--cgroup", f"/hako-ctr-{os.getpid()}/{cid}"]


@contextlib.contextmanager
def running_containerd(base, rootfs):
    """containerd with its own root, state and socket in `base` (made here), the busybox image
    imported; stopped by its pid after, and the host directories it made removed."""
    need("containerd", "ctr", "containerd-shim-runc-v2")
    base.mkdir()
    host_dirs = HostDirs("/run/containerd", "/run/containerd/s", "/run/containerd/fifo")
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
        images.oci_archive(rootfs, base / "image.tar", IMAGE)
        c.ctr("images", "import", str(base / "image.tar"))
        yield c
        assert c.ctr("task", "ls", "-q").stdout.strip() == "", "tasks left"
    finally:
        stop_daemon(proc, base)
        log.close()
        host_dirs.restore()


@pytest.fixture(scope="module")
def containerd(public_base):
    with running_containerd(public_base / "containerd", public_base / "bundle" / "rootfs") as c:
        yield c


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
        r = c.ctr("task", "exec", *c.io_flags(), "--exec-id", "e1", "d1", "sh", "-c", "echo in-$(hostname); "
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
        status, out = run_under_pty(["ctr", "--address", str(c.sock), "-n", "hako", "task",
                                     "exec", *c.io_flags(), "-t", "--exec-id", "t1", "d1", "sh",
                                     "-c", "tty; echo tty-done"], "tty-done")
        assert status == 0 and "/dev/pts/" in out, out
        c.kill_until_stopped("d1")
    finally:
        c.remove("d1")
    assert not (c.runc_root / "hako" / "d1").exists()
    for h in Path("/sys/fs/cgroup").iterdir():
        assert not (h / f"hako-ctr-{os.getpid()}").exists(), f"cgroup left in {h}"


# --- podman (through conmon) -----------------------------------------------------------------

class Client:
    """A client program: argv() builds its command line; calling it runs one command."""

    def argv(self, *args):
        raise NotImplementedError

    def __call__(self, *args, check=True, timeout=60):
        r = subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r


class Podman(Client):
    cgroup_manager = "cgroupfs"

    def __init__(self, base):
        self.base = base
        self.parent = f"/hako-podman-{os.getpid()}"

    def argv(self, *args):
        b = self.base
        return ["podman", "--root", str(b / "storage"), "--runroot", str(b / "run"), "--tmpdir",
                str(b / "tmp"), "--runtime", str(HAKO), "--cgroup-manager", self.cgroup_manager,
                "--events-backend", "file", *args]

    def run_flags(self):
        # podman's default nofile (1048576) is above this host's hard limit (see README).
        return ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit",
                "nproc=1024:1024", "--cgroup-parent", self.parent]


@pytest.fixture(scope="module")
def podman(public_base):
    need("podman", "conmon")
    base = public_base / "podman"
    base.mkdir()
    # podman leaves the runtime's state in its default root, as it does runc's /run/runc (its
    # --runtime-flag root=... is not passed on to the cleanup that deletes the container).
    host_dirs = HostDirs("/run/hako")
    p = Podman(base)
    images.rootfs_tar(public_base / "bundle" / "rootfs", base / "rootfs.tar")
    p("import", str(base / "rootfs.tar"), "hako-busybox")
    yield p
    left = p("ps", "-aq").stdout.split()
    for cid in left:
        p("rm", "-f", cid, check=False)
    subprocess.run(p.argv("system", "reset", "--force"), capture_output=True, timeout=60)
    # conmon's cgroup (podman makes <parent>/conmon with cgroupfs), then the parent.
    # Deepest first (podman may nest more below conmon), and a moment for exiting processes.
    for h in Path("/sys/fs/cgroup").iterdir():
        d = h / p.parent.lstrip("/")
        if not d.is_dir():
            continue
        for sub in sorted([x for x in d.rglob("*") if x.is_dir()] + [d],
                          key=lambda x: -len(x.parts)):
            for _ in range(100):
                try:
                    sub.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)
            assert not sub.exists(), f"cgroup {sub} left behind"
    mounts = [l for l in Path("/proc/self/mountinfo").read_text().splitlines() if str(base) in l]
    assert not mounts, mounts
    assert not left, f"containers left: {left}"
    assert not [p for p in Path("/run/hako").glob("*")], "hako state left"
    host_dirs.restore()


def test_podman_run_exec_top_stats_pause_logs_stop_rm(podman):
    r = podman("run", "--rm", *podman.run_flags(), "hako-busybox", "sh", "-c", "echo hi; id -u")
    assert r.stdout.split() == ["hi", "0"], r.stdout
    podman("run", "-d", "--name", "p1", *podman.run_flags(), "hako-busybox", "sh", "-c",
           "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done")
    try:
        e = podman("exec", "p1", "sh", "-c", "echo exec-ok; exit 4", check=False)
        assert e.returncode == 4 and e.stdout.strip() == "exec-ok", (e.stdout, e.stderr)
        top = podman("top", "p1").stdout
        assert "while true" in top, top
        podman("pause", "p1")
        assert "Paused" in podman("ps", "-a").stdout
        podman("unpause", "p1")
        assert "Up " in podman("ps").stdout
        stats = podman("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "p1").stdout
        assert stats.split()[0] == "p1" and int(stats.split()[1]) >= 1, stats
        info = json.loads(podman("inspect", "p1").stdout)[0]
        assert info["OCIRuntime"] == str(HAKO) and info["State"]["Status"] == "running"
        podman("stop", "-t", "10", "p1")
        assert podman("logs", "p1").stdout.split() == ["started", "bye"], "TERM reached it"
        state = json.loads(podman("inspect", "p1").stdout)[0]["State"]
        assert (state["Status"], state["ExitCode"]) == ("exited", 0), state
    finally:
        podman("rm", "-f", "p1", check=False)


def test_podman_kill_and_terminals(podman):
    podman("run", "-d", "--name", "p2", *podman.run_flags(), "hako-busybox", "sleep", "300")
    try:
        for argv, marker in [(podman.argv("exec", "-it", "p2", "sh", "-c", "tty; echo t-done"),
                              "t-done"),
                             (podman.argv("run", "-it", "--rm", *podman.run_flags(),
                                          "hako-busybox", "sh", "-c", "tty; echo r-done"),
                              "r-done")]:
            status, out = run_under_pty(argv, marker)
            assert status == 0 and "/dev/pts/" in out, out
        podman("kill", "p2")
        deadline = time.time() + 10
        while "Exited (137)" not in podman("ps", "-a", "--format", "{{.Status}}").stdout:
            assert time.time() < deadline, podman("ps", "-a").stdout
            time.sleep(0.1)
    finally:
        podman("rm", "-f", "p2", check=False)


# --- Docker ----------------------------------------------------------------------------------

class Docker(Client):
    def __init__(self, base):
        self.sock = base / "docker.sock"
        self.parent = f"/hako-docker-{os.getpid()}"

    def argv(self, *args):
        # Debian's client, the daemon's own version (a newer one may be first in PATH).
        return ["/usr/bin/docker", "-H", f"unix://{self.sock}", *args]

    def run_flags(self):
        return ["--runtime", "hako", "--network", "none", "--cgroup-parent", self.parent]


@pytest.fixture(scope="module")
def docker(public_base):
    need("dockerd")
    assert Path("/usr/bin/docker").exists(), "docker.io's client missing"
    base = public_base / "docker"
    base.mkdir()
    (base / "daemon.json").write_text("{}")
    host_dirs = HostDirs("/run/docker", "/run/docker/plugins", "/run/containerd",
                         "/run/containerd/s", "/run/containerd/fifo")
    log = open(base / "dockerd.log", "w")
    proc = subprocess.Popen(
        ["dockerd", "--config-file", str(base / "daemon.json"), "--data-root", str(base / "data"),
         "--exec-root", str(base / "exec"), "--host", f"unix://{base}/docker.sock", "--pidfile",
         str(base / "docker.pid"), "--iptables=false", "--ip6tables=false", "--ip-masq=false",
         "--bridge=none", "--exec-opt", "native.cgroupdriver=cgroupfs", "--add-runtime",
         f"hako={HAKO}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        d = Docker(base)
        wait_for(d.sock)
        deadline = time.time() + 30
        while d("version", check=False).returncode != 0:
            assert time.time() < deadline, (base / "dockerd.log").read_text()
            time.sleep(0.2)
        images.rootfs_tar(public_base / "bundle" / "rootfs", base / "rootfs.tar")
        d("import", str(base / "rootfs.tar"), "hako-busybox")
        yield d
        left = d("ps", "-aq").stdout.split()
        for cid in left:
            d("rm", "-f", cid, check=False)
        assert not left, f"containers left: {left}"
    finally:
        stop_daemon(proc, base)
        log.close()
        host_dirs.restore()


def test_docker_run_exec_stop_restart_rm(docker):
    r = docker("run", "--rm", *docker.run_flags(), "hako-busybox", "sh", "-c", "echo hi; id -u")
    assert r.stdout.split() == ["hi", "0"], (r.stdout, r.stderr)
    assert r.stderr == "", "nothing of hako's reaches the user of a healthy run"
    docker("run", "-d", "--name", "d1", *docker.run_flags(), "hako-busybox", "sh", "-c",
           "echo started; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done")
    try:
        e = docker("exec", "d1", "sh", "-c", "echo exec-ok; exit 5", check=False)
        assert e.returncode == 5 and e.stdout.strip() == "exec-ok", (e.stdout, e.stderr)
        docker("stop", "-t", "10", "d1")
        assert docker("logs", "d1").stdout.split() == ["started", "bye"]
        assert docker("inspect", "-f", "{{.State.ExitCode}}", "d1").stdout.strip() == "0"
        docker("restart", "d1")
        assert docker("inspect", "-f", "{{.State.Running}} {{.RestartCount}}",
                      "d1").stdout.split()[0] == "true"
        assert docker("logs", "d1").stdout.split() == ["started", "bye", "started"]
    finally:
        docker("rm", "-f", "d1", check=False)
    for h in Path("/sys/fs/cgroup").iterdir():
        assert not (h / docker.parent.lstrip("/")).exists(), f"cgroup left in {h}"


def test_docker_run_it_gets_a_terminal(docker):
    status, out = run_under_pty(docker.argv("run", "-it", "--rm", *docker.run_flags(),
                                            "hako-busybox", "sh", "-c", "tty; echo it-done"),
                                "it-done")
    assert status == 0 and "/dev/pts/" in out, out


def test_podman_rootless(user, public_base):
    """podman as an ordinary user: it runs hako as root of its own user namespace (subordinate
    ids through newuidmap), without cgroups on this v1/hybrid host; state in XDG_RUNTIME_DIR."""
    need("podman", "conmon")
    base = public_base / "podman-rootless"
    base.mkdir()
    shutil.copy(HAKO, base / "hako")
    images.rootfs_tar(public_base / "bundle" / "rootfs", base / "rootfs.tar")
    subprocess.run(["chown", "-R", f"{user['uid']}:{user['gid']}", str(base)], check=True)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(base / "home"),
           "XDG_RUNTIME_DIR": str(base / "run")}

    def podman(*args, check=True):
        r = subprocess.run(["setpriv", f"--reuid={user['uid']}", f"--regid={user['gid']}",
                            "--init-groups", "podman", "--runtime", str(base / "hako"),
                            "--cgroup-manager", "cgroupfs", "--events-backend", "file", *args],
                           capture_output=True, text=True, env=env, timeout=120)
        if check:
            assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    for d in ("home", "run"):
        (base / d).mkdir(mode=0o700)
        os.chown(base / d, user["uid"], user["gid"])
    try:
        podman("import", str(base / "rootfs.tar"), "hako-busybox")
        r = podman("run", "--rm", "--network", "none", "hako-busybox", "sh", "-c",
                   "id -u; cat /proc/self/uid_map")
        lines = [l.split() for l in r.stdout.splitlines()]
        assert lines[0] == ["0"]
        assert lines[1] == ["0", str(user["uid"]), "1"], lines
        assert lines[2] == ["1", str(user["subuid"][0]), str(user["subuid"][1])], lines
        podman("run", "-d", "--name", "r1", "--network", "none", "hako-busybox", "sleep", "300")
        assert podman("exec", "r1", "echo", "exec-ok").stdout.strip() == "exec-ok"
        podman("stop", "-t", "1", "r1")
        podman("rm", "r1")
        assert podman("ps", "-aq").stdout.strip() == ""
    finally:
        podman("rm", "-f", "-a", check=False)
        pause = base / "run" / "libpod" / "tmp" / "pause.pid"
        if pause.exists():  # podman's rootless pause process holds its user namespace
            os.kill(int(pause.read_text()), signal.SIGKILL)
        deadline = time.time() + 10
        while subprocess.run(["pgrep", "-u", str(user["uid"])], capture_output=True).stdout:
            assert time.time() < deadline, "processes of the rootless user left"
            time.sleep(0.1)
