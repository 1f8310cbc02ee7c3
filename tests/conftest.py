"""Fixtures for hako's integration tests: real containers from a busybox-static bundle.

Every test gets its own state root and unique container ids, puts its containers' cgroups under a
parent the test session owns, and is checked for residue (state directories, cgroups, processes)
when it ends.
"""
import json
import os
import pwd
import select
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HAKO = Path(os.environ.get("HAKO", REPO / "build" / "hako"))
CGROUP_PARENT = f"/hako-test-{os.getpid()}"
HYBRID_V1 = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd"]


def read_until(fd, marker, timeout=15):
    out = b""
    deadline = time.time() + timeout
    while marker.encode() not in out and time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the last slave user went away
                break
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace").replace("\r\n", "\n")


def run_under_pty(argv, marker, env=None, timeout=60):
    """Run argv with a new pty as its terminal (stdin, stdout, stderr), read until `marker`,
    wait; returns (exit status, what the terminal showed)."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                         env=env)
    os.close(slave)
    try:
        out = read_until(master, marker)
        return p.wait(timeout=timeout), out
    finally:
        os.close(master)


def check_pause_stops_a_counter(hako, tmp_path, while_paused=None):
    """A counter in the container (renamed into place, so never read half-written) stops while
    the container is paused and goes on after resume. Returns the container id."""
    out = tmp_path / "count"
    out.mkdir()
    out.chmod(0o777)
    hako.bind_dir(out, "/mnt/c")
    hako.set_args("sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /mnt/c/t; "
                  "mv /mnt/c/t /mnt/c/n; sleep 0.02; done")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    time.sleep(0.3)
    assert hako.cmd("pause", cid).returncode == 0
    assert hako.state(cid)["status"] == "paused"
    frozen_at = (out / "n").read_text()
    if while_paused:
        while_paused(cid)
    time.sleep(0.4)
    assert (out / "n").read_text() == frozen_at, "the counter moved while paused"
    assert hako.cmd("resume", cid).returncode == 0
    assert hako.state(cid)["status"] == "running"
    time.sleep(0.4)
    assert int((out / "n").read_text()) > int(frozen_at), "the counter did not go on after resume"
    return cid


def cgroup_dirs(path):
    """The container's cgroup directory in every hierarchy this host has."""
    out = []
    for h in HYBRID_V1 + ["unified"]:
        mount = Path("/sys/fs/cgroup") / h
        if mount.is_dir():
            out.append(mount / path.lstrip("/"))
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        out = [Path("/sys/fs/cgroup") / path.lstrip("/")]
    return out


def check_pids_limit_stops_fork(hako, pids_max_file):
    """A pids limit of 6 makes the 7th fork fail, and the container reads 6 in its cgroup.

    No pipeline: its two sides fork concurrently, and under load the loop's sleeps took the pids
    before `head` was forked. Here the shell, a subshell and four sleeps hold the six pids; when
    the subshell has gone, `cat` takes its place."""
    hako.config["linux"]["resources"] = {"pids": {"limit": 6}}
    hako.set_args("sh", "-c", "exec 2>&1; (for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done); "
                  f"cat {pids_max_file}")
    r, _ = hako.run()
    assert "can't fork" in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert r.stdout.split()[-1] == "6"


# --- what tests look for on the host afterwards ---

def host_mounts():
    return sorted(l.split()[4] for l in Path("/proc/self/mountinfo").read_text().splitlines())


def processes_with(marker):
    found = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if marker in (p / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(p.name))
            except OSError:
                pass
    return found


def wait_no_processes(marker, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline and processes_with(marker):
        time.sleep(0.02)
    return processes_with(marker)


def unique_sleep():
    """A `sleep` whose command line no other process has: how the test finds the container's."""
    return f"{1000 + uuid.uuid4().int % 9000}.{uuid.uuid4().int % 1000}"



@pytest.fixture(scope="session")
def rootfs():
    # Not under pytest's 0700 temp dir: a container's root in a user namespace is another host
    # uid and must be able to reach its rootfs.
    base = Path(tempfile.mkdtemp(prefix="hako-rootfs-"))
    base.chmod(0o755)
    subprocess.run([str(REPO / "scripts" / "make-bundle"), str(base / "bundle"), str(HAKO)],
                   check=True, capture_output=True)
    yield base / "bundle" / "rootfs"
    shutil.rmtree(base)
    for d in cgroup_dirs(CGROUP_PARENT):
        if d.exists():
            d.rmdir()


@pytest.fixture(scope="session")
def default_config(tmp_path_factory):
    d = tmp_path_factory.mktemp("spec")
    subprocess.run([str(HAKO), "spec", "-b", str(d)], check=True)
    cfg = json.loads((d / "config.json").read_text())
    # `hako spec` is runc's (a terminal, no cgroup namespace); the tests run without a terminal
    # and in a cgroup namespace unless they say otherwise, as scripts/make-bundle's bundles do.
    cfg["process"]["terminal"] = False
    cfg["linux"]["namespaces"].append({"type": "cgroup"})
    return cfg


class Hako:
    def __init__(self, root, bundle_dir, rootfs, config):
        self.root = root
        self.bundle = bundle_dir
        self.rootfs = rootfs
        self.ids = []
        self.config = json.loads(json.dumps(config))
        self.config["root"]["path"] = str(rootfs)

    def new_id(self):
        cid = "t-" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        return cid

    def cgroup_path(self, cid):
        return f"{CGROUP_PARENT}/{cid}"

    def write_config(self, cid=None, **changes):
        cfg = json.loads(json.dumps(self.config))
        if cid is not None:
            cfg["linux"]["cgroupsPath"] = self.cgroup_path(cid)
        for key, value in changes.items():
            cfg[key] = value
        (self.bundle / "config.json").write_text(json.dumps(cfg, indent=1))
        return cfg

    def bind_dir(self, source, destination):
        """Bind a host directory into the container (for files the test reads or writes)."""
        self.config["mounts"].append({"destination": destination, "type": "bind",
                                      "source": str(source), "options": ["rbind"]})

    def join_namespace(self, kind, path):
        """Point the config's `kind` namespace (network, mount...) at `path`."""
        for n in self.config["linux"]["namespaces"]:
            if n["type"] == kind:
                n["path"] = str(path)

    def set_args(self, *args):
        self.config["process"]["args"] = list(args)

    def cmd(self, *args, check=False, timeout=60, **kw):
        return subprocess.run([str(HAKO), "--root", str(self.root), *args], capture_output=True,
                              text=True, check=check, timeout=timeout, **kw)

    def run(self, *args, cid=None, **kw):
        """`hako run` of the current config; returns (CompletedProcess, id)."""
        cid = cid or self.new_id()
        self.write_config(cid)
        return self.cmd("run", "-b", str(self.bundle), *args, cid, **kw), cid

    def create(self, *args, cid=None, check=True):
        """`hako create`. The init inherits stdio and outlives hako: give it files, not pipes
        (a pipe would stay open until the container exits)."""
        cid = cid or self.new_id()
        self.write_config(cid)
        out, err = self.bundle / f"{cid}.out", self.bundle / f"{cid}.err"
        with open(out, "w") as o, open(err, "w") as e:
            p = subprocess.run([str(HAKO), "--root", str(self.root), "create", "-b",
                                str(self.bundle), *args, cid], stdout=o, stderr=e, timeout=60)
        r = subprocess.CompletedProcess(p.args, p.returncode, out.read_text(), err.read_text())
        if check:
            assert r.returncode == 0, r.stderr
        return r, cid

    def state(self, cid):
        r = self.cmd("state", cid)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def wait_status(self, cid, want, timeout=10):
        """Wait until the container's derived status is `want`; fail with the last state."""
        import time
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.cmd("state", cid)  # not there yet: a create that has not begun
            if r.returncode == 0 and json.loads(r.stdout)["status"] == want:
                return
            time.sleep(0.02)
        raise AssertionError(f"{cid} never became {want}: {self.state(cid)}")

    def assert_gone(self, cid, pid=None):
        assert not (self.root / cid).exists(), f"state directory of {cid} left behind"
        for d in cgroup_dirs(self.cgroup_path(cid)):
            assert not d.exists(), f"cgroup {d} left behind"
        if pid:
            stat = Path(f"/proc/{pid}/stat")
            assert not stat.exists() or stat.read_text().split(")")[-1].split()[0] in "ZX", \
                f"process {pid} left behind"


@pytest.fixture
def hako(tmp_path, rootfs, default_config):
    root = tmp_path / "state"
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    h = Hako(root, bundle, rootfs, default_config)
    h.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    yield h
    for cid in h.ids:
        h.cmd("delete", "--force", cid)
    for cid in h.ids:
        h.assert_gone(cid)


# --- an unprivileged user for rootless tests (test_rootless.py, test_clients.py) ---

USER = f"hakorl{os.getpid() % 100000}"


def subids(path, name):
    for line in Path(path).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return int(fields[1]), int(fields[2])
    raise AssertionError(f"{name} has no range in {path}")


@pytest.fixture(scope="session")
def user():
    """A throw-away user with a home of its own and subordinate ids (useradd grants them)."""
    if shutil.which("newuidmap") is None:
        pytest.fail("newuidmap missing: scripts/install-deps installs uidmap")
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True)
    try:
        pw = pwd.getpwnam(USER)
        yield {"name": USER, "uid": pw.pw_uid, "gid": pw.pw_gid, "home": Path(pw.pw_dir),
               "subuid": subids("/etc/subuid", USER), "subgid": subids("/etc/subgid", USER)}
    finally:
        subprocess.run(["userdel", "--remove", USER], check=False, capture_output=True)
