"""hako killed at every step (a shim or a user giving up), and its container's init killed at
every step of create: afterwards `delete -f` (or the next create of the same id) leaves no state
directory, cgroup, process or host mount behind. The steps are hako's test-only fault points
(HAKO_TEST_FAULT, src/sys/fault.h); a sweep of SIGKILLs at delays covers what lies between."""
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import HAKO, cgroup_dirs, host_mounts, processes_with, unique_sleep, wait_no_processes

CREATE_POINTS = ["create-claimed", "create-intent", "create-cgroups", "create-cloned",
                 "create-go", "create-ready", "create-saved"]
INIT_POINTS = ["init-entered", "init-rootfs", "init-prepared"]


def assert_no_residue(hako, cid, marker, mounts_before):
    assert not (hako.root / cid).exists(), f"state directory of {cid} left behind"
    for d in cgroup_dirs(hako.cgroup_path(cid)):
        assert not d.exists(), f"cgroup {d} left behind"
    assert wait_no_processes(marker) == [], "processes of the container left behind"
    assert host_mounts() == mounts_before, "the host's mount table changed"


def create_with(hako, cid, env_extra, *args):
    env = dict(os.environ, **env_extra)
    with open(hako.bundle / "out", "w") as out:
        return subprocess.run([str(HAKO), "--root", str(hako.root), "create", "-b",
                               str(hako.bundle), *args, cid], stdout=out, stderr=out, env=env,
                              timeout=60).returncode


def prepare(hako):
    """A config whose process is a unique sleep; returns (that marker, the host's mounts, id)."""
    marker = unique_sleep()
    hako.set_args("sleep", marker)
    before = host_mounts()
    cid = hako.new_id()
    hako.write_config(cid)
    return marker, before, cid


@pytest.mark.parametrize("point", CREATE_POINTS)
def test_create_killed_at_each_step_is_removed_by_delete_force(hako, point):
    marker, before, cid = prepare(hako)
    rc = create_with(hako, cid, {"HAKO_TEST_FAULT": point})
    assert rc == -signal.SIGKILL, f"the fault point {point} was not reached (exit {rc})"
    if (hako.root / cid).exists():
        st = hako.cmd("state", cid)
        # Shown honestly: a creation whose hako is gone is stopped (or, with its state not yet
        # written, not there at all); after the last save it is a created container.
        want = '"status": "created"' if point == "create-saved" else '"status": "stopped"'
        assert st.returncode != 0 or want in st.stdout, st.stdout
    r = hako.cmd("delete", "-f", cid)
    assert r.returncode == 0, r.stderr
    assert_no_residue(hako, cid, marker, before)


@pytest.mark.parametrize("point", ["create-intent", "create-go", "create-ready"])
def test_a_second_create_of_the_same_id_cleans_up_after_a_killed_one(hako, point):
    marker, before, cid = prepare(hako)
    assert create_with(hako, cid, {"HAKO_TEST_FAULT": point}) == -signal.SIGKILL
    assert create_with(hako, cid, {}) == 0, (hako.bundle / "out").read_text()
    assert hako.state(cid)["status"] == "created"
    procs = [d / "cgroup.procs" for d in cgroup_dirs(hako.cgroup_path(cid))]
    pids = [p for p in procs[0].read_text().split()]
    assert pids == [str(hako.state(cid)["pid"])], f"the killed create's init is still there: {pids}"
    assert hako.cmd("delete", "-f", cid).returncode == 0
    assert_no_residue(hako, cid, marker, before)


@pytest.mark.parametrize("point", INIT_POINTS)
def test_init_killed_at_each_step_fails_create_and_leaves_nothing(hako, point):
    marker, before, cid = prepare(hako)
    rc = create_with(hako, cid, {"HAKO_TEST_FAULT": point})
    out = (hako.bundle / "out").read_text()
    assert rc == 1, out
    assert "killed by signal" in out or "SIGKILL" in out or "before it was ready" in out, out
    assert_no_residue(hako, cid, marker, before)


@pytest.mark.parametrize("point", ["delete-killed", "delete-cgroups"])
def test_delete_killed_half_way_is_finished_by_a_second_one(hako, point):
    marker = unique_sleep()
    hako.set_args("sleep", marker)
    before = host_mounts()
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    env = dict(os.environ, HAKO_TEST_FAULT=point)
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "delete", "-f", cid], env=env,
                       capture_output=True, timeout=60)
    assert r.returncode == -signal.SIGKILL
    assert hako.cmd("delete", "-f", cid).returncode == 0
    assert_no_residue(hako, cid, marker, before)


@pytest.mark.parametrize("point", ["exec-go", "exec-ready"])
def test_exec_killed_before_release_leaves_no_process(hako, point):
    hako.set_args("sleep", "30")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    marker = unique_sleep()
    env = dict(os.environ, HAKO_TEST_FAULT=point)
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "exec", "-d", cid, "sleep", marker],
                       env=env, capture_output=True, timeout=60)
    assert r.returncode == -signal.SIGKILL
    assert wait_no_processes(marker) == [], "the half-made exec's process is running"
    # The container itself is untouched.
    assert hako.state(cid)["status"] == "running"


def test_sigkill_sweep_of_run_detach(hako):
    """SIGKILL `run -d` after 0..14 ms (bounded: 15 runs): each time delete -f cleans up."""
    before = host_mounts()
    for delay_ms in range(15):
        marker = unique_sleep()
        hako.set_args("sleep", marker)
        cid = hako.new_id()
        hako.write_config(cid)
        p = subprocess.Popen([str(HAKO), "--root", str(hako.root), "run", "-d", "-b",
                              str(hako.bundle), cid], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(delay_ms / 1000)
        p.send_signal(signal.SIGKILL)
        p.wait()
        r = hako.cmd("delete", "-f", cid)
        assert r.returncode == 0, (delay_ms, r.stderr)
        assert_no_residue(hako, cid, marker, before)
