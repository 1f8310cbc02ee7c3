"""The systemd cgroup driver (--systemd-cgroup): these run in the systemd VM lane
(`scripts/test-vm --systemd`), where systemd is PID 1 with unified cgroups and its system bus.

Each test checks what systemd says of the unit (`systemctl show`), what the cgroup files hold,
and what the container sees; the fixture checks that no unit and no cgroup is left after delete.
"""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Hako

V2 = Path("/sys/fs/cgroup")
pytestmark = pytest.mark.skipif(not Path("/run/systemd/system").exists(),
                                reason="needs systemd as PID 1: scripts/test-vm --systemd")
SLICE = f"hakotest-p{os.getpid()}.slice"


def show(unit, *props):
    """systemctl show's properties; one that is listed more than once has its values joined
    with newlines."""
    r = subprocess.run(["systemctl", "show", unit, *[f"-p{p}" for p in props]],
                       capture_output=True, text=True, check=True)
    out = {}
    for line in r.stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = out[k] + "\n" + v if k in out else v
    return out


def unit_listed(unit):
    r = subprocess.run(["systemctl", "list-units", "--all", "--no-legend", "--plain", unit],
                       capture_output=True, text=True, check=True)
    return unit in r.stdout


class SystemdHako(Hako):
    """hako with --systemd-cgroup; cgroupsPath is "slice:hako:<id>"."""

    def cmd(self, *args, **kw):
        return super().cmd("--systemd-cgroup", *args, **kw)

    def cgroup_path(self, cid):
        return f"{SLICE}:hako:{cid}"

    def unit(self, cid):
        return f"hako-{cid}.scope"

    def cgroup_dir(self, cid):
        return V2 / "hakotest.slice" / SLICE / self.unit(cid)  # a-b.slice is in a.slice

    def create_raw(self, cid, env=None):
        """`hako --systemd-cgroup create` of config.json as it is. Files, not pipes, for its
        output: the container holds them."""
        out, err = self.bundle / f"{cid}.out", self.bundle / f"{cid}.err"
        with open(out, "w") as o, open(err, "w") as e:
            p = subprocess.run([str(self.hako), "--root", str(self.root), "--systemd-cgroup",
                                "create", "-b", str(self.bundle), cid],
                               stdout=o, stderr=e, timeout=120, env=env)
        return subprocess.CompletedProcess(p.args, p.returncode, out.read_text(),
                                           err.read_text())

    def create(self, *args, cid=None, check=True):
        cid = cid or self.new_id()
        self.write_config(cid)
        r = self.create_raw(cid)
        if check:
            assert r.returncode == 0, r.stderr
        return r, cid

    def assert_gone(self, cid, pid=None):
        assert not (self.root / cid).exists(), f"state directory of {cid} left behind"
        assert not unit_listed(self.unit(cid)), f"unit {self.unit(cid)} left behind"
        assert not self.cgroup_dir(cid).exists(), f"cgroup {self.cgroup_dir(cid)} left behind"


@pytest.fixture
def sd(tmp_path, rootfs, default_config):
    from conftest import HAKO
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    h = SystemdHako(tmp_path / "state", bundle, rootfs, default_config)
    h.hako = HAKO
    h.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    yield h
    for cid in h.ids:
        h.cmd("delete", "--force", cid)
    for cid in h.ids:
        h.assert_gone(cid)


def test_create_makes_a_scope_with_the_limits_as_properties_and_files(sd):
    sd.config["linux"]["resources"] = {
        "memory": {"limit": 64 << 20, "swap": 96 << 20},
        "pids": {"limit": 50},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0"},
        "devices": [{"allow": False, "access": "rwm"}],
    }
    sd.config["annotations"] = {"org.systemd.property.TimeoutStopUSec": "uint64 123456789"}
    sd.set_args("sh", "-c", "cat /proc/self/cgroup; head -c 3 /dev/zero | wc -c")
    _, cid = sd.create()
    unit = sd.unit(cid)
    p = show(unit, "ActiveState", "Slice", "Delegate", "MemoryMax", "MemorySwapMax", "TasksMax",
             "CPUWeight", "CPUQuotaPerSecUSec", "CPUQuotaPeriodUSec", "AllowedCPUs",
             "DevicePolicy", "DeviceAllow", "ControlGroup", "TimeoutStopUSec",
             "MemoryAccounting", "TasksAccounting")
    assert p["ActiveState"] == "active", p
    assert p["Slice"] == SLICE and p["Delegate"] == "yes", p
    assert p["MemoryMax"] == str(64 << 20) and p["MemorySwapMax"] == str(32 << 20), p
    assert p["TasksMax"] == "50" and p["CPUWeight"] == "39", p
    assert p["CPUQuotaPerSecUSec"] == "500ms", p
    # Properties of systemd >= 242 and 244: hako read the manager's version.
    assert p["CPUQuotaPeriodUSec"] == "100ms" and p["AllowedCPUs"] == "0", p
    assert p["DevicePolicy"] == "strict" and "/dev/char/1:5 rwm" in p["DeviceAllow"], p
    assert p["TimeoutStopUSec"] == "2min 3.456789s", "the annotation's property"
    assert p["MemoryAccounting"] == "yes" and p["TasksAccounting"] == "yes"
    assert p["ControlGroup"] == f"/hakotest.slice/{SLICE}/{unit}"
    d = sd.cgroup_dir(cid)
    assert (d / "memory.max").read_text().strip() == str(64 << 20)
    assert (d / "pids.max").read_text().strip() == "50"
    assert (d / "cpu.max").read_text().strip() == "50000 100000"
    st = json.loads((sd.root / cid / "state.json").read_text())
    assert st["pid"] > 0 and str(st["pid"]) in (d / "cgroup.procs").read_text().split()
    assert sd.cmd("start", cid).returncode == 0
    sd.wait_status(cid, "stopped")
    out = (sd.bundle / f"{cid}.out").read_text().split()
    assert out == ["0::/", "3"], "its own cgroup is / (cgroup namespace); /dev/zero allowed"
    assert sd.cmd("delete", cid).returncode == 0
    sd.assert_gone(cid)


def test_default_cgroups_path_is_system_slice_hako_id(sd):
    sd.set_args("sleep", "30")
    cid = sd.new_id()
    cfg = sd.write_config()
    cfg["linux"].pop("cgroupsPath", None)
    (sd.bundle / "config.json").write_text(json.dumps(cfg))
    r = sd.create_raw(cid)
    assert r.returncode == 0, r.stderr
    unit = f"hako-{cid}.scope"
    assert show(unit, "ControlGroup")["ControlGroup"] == f"/system.slice/{unit}"
    assert sd.cmd("delete", "--force", cid).returncode == 0
    assert not unit_listed(unit)
    assert not (V2 / "system.slice" / unit).exists()


def test_exec_update_pause_events_and_kill_all_go_through_the_unit(sd):
    sd.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}
    sd.set_args("sleep", "300")
    _, cid = sd.create()
    assert sd.cmd("start", cid).returncode == 0
    unit, d = sd.unit(cid), sd.cgroup_dir(cid)
    r = sd.cmd("exec", cid, "cat", "/proc/self/cgroup")
    assert r.returncode == 0 and r.stdout.strip() == "0::/", r.stderr

    r = sd.cmd("update", "--memory", str(128 << 20), "--pids-limit", "20", cid)
    assert r.returncode == 0, r.stderr
    p = show(unit, "MemoryMax", "TasksMax")
    assert p == {"MemoryMax": str(128 << 20), "TasksMax": "20"}, "systemd's view follows"
    assert (d / "memory.max").read_text().strip() == str(128 << 20)
    assert (d / "pids.max").read_text().strip() == "20"

    assert sd.cmd("pause", cid).returncode == 0
    assert sd.state(cid)["status"] == "paused"
    assert "frozen 1" in (d / "cgroup.events").read_text()
    assert sd.cmd("resume", cid).returncode == 0
    assert sd.state(cid)["status"] == "running"

    stats = json.loads(sd.cmd("events", "--stats", cid).stdout)["data"]
    assert stats["pids"]["current"] >= 1 and stats["memory"]["usage"]["limit"] == 128 << 20

    assert sd.cmd("kill", "--all", cid, "KILL").returncode == 0
    sd.wait_status(cid, "stopped")
    assert show(unit, "ActiveState")["ActiveState"] in ("inactive", "active", "deactivating")
    assert sd.cmd("delete", cid).returncode == 0
    sd.assert_gone(cid)


def test_a_failed_create_leaves_no_unit_and_no_cgroup(sd, tmp_path):
    sd.config["mounts"].append({"destination": "/missing", "type": "bind",
                                "source": str(tmp_path / "does-not-exist"),
                                "options": ["rbind"]})
    r, cid = sd.create(check=False)
    assert r.returncode != 0
    assert "does-not-exist" in r.stderr, r.stderr
    sd.assert_gone(cid)


def test_a_unit_that_exists_is_refused_and_left_alone(sd):
    sd.set_args("sleep", "300")
    _, first = sd.create()
    cid = sd.new_id()
    cfg = sd.write_config(first)  # the first one's cgroupsPath, so the same unit
    (sd.bundle / "config.json").write_text(json.dumps(cfg))
    r = sd.create_raw(cid)
    assert r.returncode != 0
    # Refused before systemd is asked: a cgroup already there is someone else's, and an
    # interrupted create must not record it as its own (delete -f would stop and empty it).
    assert sd.unit(first) in r.stderr and "already exists" in r.stderr, r.stderr
    assert not (sd.root / cid).exists()
    assert show(sd.unit(first), "ActiveState")["ActiveState"] == "active", "the first untouched"


def test_delete_force_after_hako_is_killed_mid_create_stops_the_unit(sd):
    sd.set_args("sleep", "300")
    cid = sd.new_id()
    sd.write_config(cid)
    r = sd.create_raw(cid, env=dict(os.environ, HAKO_TEST_FAULT="create-unit"))
    assert r.returncode != 0
    # The init dies with hako before "go", and systemd drops the empty scope by itself; what
    # delete -f finds (the state, maybe the unit) it removes.
    r = sd.cmd("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    sd.assert_gone(cid)


def test_without_the_flag_nothing_of_libsystemd_is_loaded(tmp_path, rootfs, default_config):
    from conftest import HAKO
    p = subprocess.Popen([str(HAKO), "--root", str(tmp_path), "state", "nothing"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.wait()
    r = subprocess.run(["ldd", str(HAKO)], capture_output=True, text=True)
    assert "libsystemd" not in r.stdout, "loaded with dlopen only under --systemd-cgroup"
