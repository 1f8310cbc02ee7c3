"""Real clients on hako's systemd cgroup driver, in the systemd VM lane (`scripts/test-vm
--systemd`): podman with `--cgroup-manager systemd` (through conmon), containerd's runc.v2 shim
with SystemdCgroup (`ctr --runc-systemd-cgroup`), and a rootless user's hako talking to its own
systemd (user@.service) over the user's bus.

Each checks what systemd says of the container's unit (`systemctl show`), the cgroup files, what
the container sees, and that the unit, its cgroup and hako's state are gone after the client
removes the container.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import HAKO  # noqa: E402
from test_clients import IMAGE, HostDirs, Podman, running_containerd  # noqa: E402
from test_rootless import Rootless  # noqa: E402
from test_systemd import V2, show, unit_listed  # noqa: E402
import images  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/run/systemd/system").exists(),
                                reason="needs systemd as PID 1: scripts/test-vm --systemd")


def slice_dir(name):
    """The cgroup of a slice unit: a-b.slice is in a.slice."""
    parts = name[:-len(".slice")].split("-")
    return V2.joinpath(*["-".join(parts[:i + 1]) + ".slice" for i in range(len(parts))])


def assert_unit_gone(unit, cgroup, state):
    deadline = time.time() + 10  # a client's delete may return before systemd drops the scope
    while unit_listed(unit) and time.time() < deadline:
        time.sleep(0.1)
    assert not unit_listed(unit), f"unit {unit} left behind"
    assert not cgroup.exists(), f"cgroup {cgroup} left behind"
    assert not state.exists(), f"hako's state {state} left behind"


def stop_slice(name):
    subprocess.run(["systemctl", "stop", name], capture_output=True, check=False)
    assert not slice_dir(name).exists(), f"{name} left behind"


@pytest.fixture(scope="module")
def base():
    b = Path(tempfile.mkdtemp(prefix="hako-sd-clients-"))
    b.chmod(0o755)
    yield b
    shutil.rmtree(b, ignore_errors=True)


# --- podman --cgroup-manager systemd ---------------------------------------------------------

PODMAN_SLICE = f"hakotest-podman{os.getpid()}.slice"


class SystemdPodman(Podman):
    cgroup_manager = "systemd"

    def run_flags(self):
        return ["--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit",
                "nproc=1024:1024", "--cgroup-parent", PODMAN_SLICE]


@pytest.fixture(scope="module")
def podman(base, rootfs):
    (base / "podman").mkdir()
    host_dirs = HostDirs("/run/hako")
    p = SystemdPodman(base / "podman")
    images.rootfs_tar(rootfs, base / "podman" / "rootfs.tar")
    p("import", str(base / "podman" / "rootfs.tar"), "hako-busybox")
    yield p
    left = p("ps", "-aq").stdout.split()
    for cid in left:
        p("rm", "-f", "-t", "0", cid, check=False)
    subprocess.run(p.argv("system", "reset", "--force"), capture_output=True, timeout=60)
    assert not left, f"containers left: {left}"
    units = subprocess.run(["systemctl", "list-units", "--all", "--no-legend", "--plain",
                            "libpod-*"], capture_output=True, text=True).stdout
    assert units.strip() == "", f"podman's units left: {units}"
    stop_slice(PODMAN_SLICE)
    host_dirs.restore()


def test_podman_systemd_run_exec_update_pause_stats_rm(podman):
    r = podman("run", "--rm", *podman.run_flags(), "hako-busybox", "sh", "-c",
               "echo hi; cat /proc/self/cgroup")
    assert r.stdout.split() == ["hi", "0::/"], (r.stdout, r.stderr)

    podman("run", "-d", "--name", "p1", "--memory", "64m", *podman.run_flags(), "hako-busybox",
           "sleep", "300")
    try:
        cid = podman("inspect", "-f", "{{.Id}}", "p1").stdout.strip()
        unit = f"libpod-{cid}.scope"
        d = slice_dir(PODMAN_SLICE) / unit
        p = show(unit, "ActiveState", "Slice", "Delegate", "MemoryMax")
        assert p == {"ActiveState": "active", "Slice": PODMAN_SLICE, "Delegate": "yes",
                     "MemoryMax": str(64 << 20)}, p
        assert (d / "memory.max").read_text().strip() == str(64 << 20)
        st = json.loads((Path("/run/hako") / cid / "state.json").read_text())
        assert st["hako"]["systemdUnit"] == unit, st
        assert str(st["pid"]) in (d / "cgroup.procs").read_text().split()

        e = podman("exec", "p1", "cat", "/proc/self/cgroup")
        assert e.stdout.strip() == "0::/", "exec joins the container's cgroup namespace"
        podman("update", "--memory", "128m", "p1")
        assert show(unit, "MemoryMax")["MemoryMax"] == str(128 << 20), "systemd's view follows"
        assert (d / "memory.max").read_text().strip() == str(128 << 20)
        podman("pause", "p1")
        assert "frozen 1" in (d / "cgroup.events").read_text()
        assert "Paused" in podman("ps", "-a").stdout
        podman("unpause", "p1")
        assert "frozen 0" in (d / "cgroup.events").read_text()
        stats = podman("stats", "--no-stream", "--format", "{{.PIDs}}", "p1").stdout
        assert int(stats.split()[-1]) >= 1, stats
        podman("rm", "-f", "-t", "0", "p1")
        assert_unit_gone(unit, d, Path("/run/hako") / cid)
    finally:
        podman("rm", "-f", "-t", "0", "p1", check=False)


# --- containerd's runc.v2 shim, SystemdCgroup -------------------------------------------------

CTR_SLICE = f"hakotest-ctr{os.getpid()}.slice"


@pytest.fixture(scope="module")
def containerd(base, rootfs):
    with running_containerd(base / "containerd", rootfs) as c:
        yield c
    stop_slice(CTR_SLICE)


def ctr_flags(c, cid):
    """What a runc.v2 runtime with BinaryName = hako and SystemdCgroup = true gets; the cgroup
    is slice:prefix:name, as the kubelet's systemd driver gives it."""
    return c.io_flags() + ["--runc-binary", str(HAKO), "--runc-root", str(c.runc_root),
                           "--runc-systemd-cgroup", "--cgroup", f"{CTR_SLICE}:hako:{cid}"]


def test_containerd_systemd_cgroup_task_lifecycle(containerd):
    c = containerd
    r = c.ctr("run", "--rm", *ctr_flags(c, "r1"), IMAGE, "r1", "sh", "-c", "echo hello")
    assert r.stdout.strip() == "hello", (r.stdout, r.stderr)
    assert not unit_listed("hako-r1.scope")

    c.ctr("run", "-d", "--memory-limit", str(64 << 20), *ctr_flags(c, "d1"), IMAGE, "d1",
          "sleep", "300")
    unit, d = "hako-d1.scope", slice_dir(CTR_SLICE) / "hako-d1.scope"
    try:
        p = show(unit, "ActiveState", "Slice", "MemoryMax", "ControlGroup")
        assert p["ActiveState"] == "active" and p["Slice"] == CTR_SLICE, p
        assert p["MemoryMax"] == str(64 << 20), p
        assert p["ControlGroup"] == "/" + str(d.relative_to(V2)), p
        st = json.loads((c.runc_root / "hako" / "d1" / "state.json").read_text())
        assert st["hako"]["systemdUnit"] == unit
        assert str(st["pid"]) in (d / "cgroup.procs").read_text().split()
        r = c.ctr("task", "exec", *c.io_flags(), "--exec-id", "e1", "d1", "sh", "-c",
                  "echo exec-ok; exit 3", check=False)
        assert r.returncode == 3 and r.stdout.strip() == "exec-ok", (r.stdout, r.stderr)
        c.ctr("task", "pause", "d1")
        assert "frozen 1" in (d / "cgroup.events").read_text()
        assert "PAUSED" in c.ctr("task", "ls").stdout
        c.ctr("task", "resume", "d1")
        metrics = c.ctr("task", "metrics", "d1").stdout
        assert "pids.current" in metrics, metrics
        c.kill_until_stopped("d1")
    finally:
        c.remove("d1")
    assert_unit_gone(unit, d, c.runc_root / "hako" / "d1")


# --- rootless: the user's own systemd -------------------------------------------------------

class UserManagerHako(Rootless):
    """hako --systemd-cgroup as the user, with the environment a login session gives it: the
    user's runtime directory and its bus (user@.service's dbus)."""

    def env(self, xdg=True):
        env = super().env(xdg)
        run = f"/run/user/{self.user['uid']}"
        env.update(XDG_RUNTIME_DIR=run, DBUS_SESSION_BUS_ADDRESS=f"unix:path={run}/bus")
        return env

    def argv(self, *args):
        return super().argv("--systemd-cgroup", *args)

    def systemctl(self, *args):
        return subprocess.run(["setpriv", f"--reuid={self.user['uid']}",
                               f"--regid={self.user['gid']}", "--clear-groups", "systemctl",
                               "--user", *args], capture_output=True, text=True,
                              env=self.env(), timeout=60)


@pytest.fixture
def user_manager(user):
    manager = f"user@{user['uid']}.service"
    subprocess.run(["systemctl", "start", manager], check=True, timeout=120)
    bus = Path(f"/run/user/{user['uid']}/bus")
    deadline = time.time() + 60
    while not bus.exists():
        assert time.time() < deadline, f"{manager} made no {bus}"
        time.sleep(0.1)
    b = Path(tempfile.mkdtemp(prefix="hako-sd-rootless-"))
    b.chmod(0o755)
    h = UserManagerHako(user, b)
    h.runtime_dir = Path(f"/run/user/{user['uid']}")
    yield h
    for cid in h.ids:
        h.cmd("delete", "--force", cid)
    subprocess.run(["systemctl", "stop", manager, f"user-runtime-dir@{user['uid']}.service"],
                   check=False, timeout=120)
    shutil.rmtree(b)


def test_rootless_hako_makes_its_scope_in_the_users_manager(user_manager, user):
    h = user_manager
    h.config["linux"]["resources"] = {"pids": {"limit": 20}, "memory": {"limit": 64 << 20}}
    h.config["process"]["args"] = ["sleep", "300"]
    h.write_config()
    cid = h.new_id()
    with open(h.base / "out", "w") as o, open(h.base / "err", "w+") as e:
        r = subprocess.run(h.argv("run", "-d", "-b", str(h.bundle), cid), stdout=o, stderr=e,
                           env=h.env(), timeout=120)
        e.seek(0)
        assert r.returncode == 0, e.read()
    unit = f"hako-{cid}.scope"
    # runc's default for a rootless user on v2: user.slice of the user's own manager.
    p = {k: v for k, v in (line.split("=", 1) for line in h.systemctl(
        "show", unit, "-pActiveState", "-pControlGroup", "-pTasksMax").stdout.splitlines())}
    manager_cg = f"/user.slice/user-{user['uid']}.slice/user@{user['uid']}.service"
    assert p == {"ActiveState": "active", "TasksMax": "20",
                 "ControlGroup": f"{manager_cg}/user.slice/{unit}"}, p
    d = V2 / p["ControlGroup"].lstrip("/")
    assert (d / "pids.max").read_text().strip() == "20", "the delegated files are written too"
    e = h.cmd("exec", cid, "cat", "/proc/self/cgroup")
    assert e.returncode == 0 and e.stdout.strip() == "0::/", e.stderr
    r = h.cmd("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert "not-found" in h.systemctl("show", unit, "-pLoadState").stdout or \
        h.systemctl("show", unit, "-pActiveState").stdout.strip() == "ActiveState=inactive"
    assert not d.exists(), f"cgroup {d} left behind"
    assert not h.state_dir(cid).exists()
