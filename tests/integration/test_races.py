"""Callers that race: create, start, kill, delete -f, state and exec of one id at once, many ids at
once, and delete -f while create runs. No crash, no hang (every call is bounded), no residue, and
no state that says running without a process. Then churn: many containers in a row and 8 at a
time leave the host's mounts, cgroups, state root and processes as they were, and one long
`run` with many execs does not grow hako's fds or memory."""
import json
import os
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import (CGROUP_PARENT, HAKO, cgroup_dirs, host_mounts, unique_sleep,
                      wait_no_processes)


def hako_call(hako, *args):
    """One bounded call; a crash (negative exit) or a hang (timeout) fails the test."""
    # Files, not pipes: a container that create or run -d leaves behind holds its stdio.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.run([str(HAKO), "--root", str(hako.root), *args],
                           stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=30)
        out.seek(0)
        err.seek(0)
        r = subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())
    assert r.returncode >= 0, f"hako {args[0]} died of signal {-r.returncode}: {r.stderr}"
    return r


def state_is_honest(hako, cid):
    r = hako_call(hako, "state", cid)
    if r.returncode != 0:
        return True
    st = json.loads(r.stdout)
    if st["status"] in ("running", "created", "paused"):
        stat = Path(f"/proc/{st['pid']}/stat")
        return stat.exists()
    return True


def test_every_command_at_once_on_one_id(hako):
    before = host_mounts()
    for _ in range(8):
        marker = unique_sleep()
        hako.set_args("sleep", marker)
        cid = hako.new_id()
        hako.write_config(cid)
        calls = [("create", "-b", str(hako.bundle), cid), ("start", cid), ("state", cid),
                 ("kill", cid, "KILL"), ("delete", "-f", cid), ("exec", cid, "true"),
                 ("state", cid), ("delete", "-f", cid), ("start", cid), ("list",)]
        with ThreadPoolExecutor(len(calls)) as pool:
            list(pool.map(lambda a: hako_call(hako, *a), calls))
        assert state_is_honest(hako, cid)
        assert hako_call(hako, "delete", "-f", cid).returncode == 0
        assert not (hako.root / cid).exists()
        for d in cgroup_dirs(hako.cgroup_path(cid)):
            assert not d.exists(), d
        assert wait_no_processes(marker) == []
    assert host_mounts() == before


def test_many_ids_at_once_with_deletes_racing(hako):
    before = host_mounts()
    marker = unique_sleep()
    hako.set_args("sleep", marker)
    ids = [hako.new_id() for _ in range(16)]
    for cid in ids:
        (hako.bundle.parent / cid).mkdir()
    hako.write_config()

    def lifecycle(cid):
        cfg = json.loads((hako.bundle / "config.json").read_text())
        cfg["linux"]["cgroupsPath"] = hako.cgroup_path(cid)
        b = hako.bundle.parent / cid
        (b / "config.json").write_text(json.dumps(cfg))
        hako_call(hako, "run", "-d", "-b", str(b), cid)
        hako_call(hako, "exec", cid, "true")
        hako_call(hako, "delete", "-f", cid)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lifecycle, ids))
        list(pool.map(lambda c: hako_call(hako, "delete", "-f", c), ids))
    for cid in ids:
        assert not (hako.root / cid).exists(), cid
        for d in cgroup_dirs(hako.cgroup_path(cid)):
            assert not d.exists(), d
    assert wait_no_processes(marker) == []
    assert host_mounts() == before


def test_delete_force_while_create_runs(hako, tmp_path):
    before = host_mounts()
    for _ in range(5):
        marker = unique_sleep()
        hako.set_args("sleep", marker)
        # A slow createRuntime hook holds create in the middle of its work.
        hako.config["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "0.3"]}]}
        cid = hako.new_id()
        hako.write_config(cid)
        with ThreadPoolExecutor(2) as pool:
            created = pool.submit(hako_call, hako, "create", "-b", str(hako.bundle), cid)
            time.sleep(0.1)
            deleted = pool.submit(hako_call, hako, "delete", "-f", cid)
            created.result(), deleted.result()
        assert state_is_honest(hako, cid)
        assert hako_call(hako, "delete", "-f", cid).returncode == 0
        assert not (hako.root / cid).exists()
        assert wait_no_processes(marker) == []
    assert host_mounts() == before


def host_counts():
    # Directories below the tests' parent cgroup (not its files: the parent itself comes and
    # goes, since the create that made it removes it again at delete).
    cgroups = sum(len([e for e in d.parent.rglob("*") if e.is_dir()]) if d.parent.exists()
                  else 0 for d in cgroup_dirs(CGROUP_PARENT + "/x"))
    return {"mounts": len(host_mounts()), "cgroup entries": cgroups,
            "hako processes": len(hako_processes())}


def hako_processes():
    """Processes that are hako (an init stub, a shim, a monitor) or this test's unreaped
    children: what a leak leaves. Not every process on the host: the machine's own come and go."""
    found = []
    me = str(os.getpid())
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            exe = ""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        ppid = stat.rsplit(")", 1)[1].split()[1]
        # A created container's init waits in hako's exec stub, a sealed memfd.
        if (exe.removesuffix(" (deleted)") == str(HAKO.resolve()) or exe.startswith("/memfd:hako")
                or ppid == me):
            found.append(pid)
    return found


def test_churn_leaves_the_host_as_it_was(hako):
    """600 runs in a row, then 400 eight at a time: the host's counts come back."""
    hako.set_args("true")
    hako.write_config()
    cfg = (hako.bundle / "config.json").read_text()
    before = host_counts()
    t0 = time.time()
    for _ in range(600):
        cid = f"churn-{uuid.uuid4().hex[:8]}"
        c = json.loads(cfg)
        c["linux"]["cgroupsPath"] = hako.cgroup_path(cid)
        (hako.bundle / "config.json").write_text(json.dumps(c))
        r = hako_call(hako, "run", "-b", str(hako.bundle), cid)
        assert r.returncode == 0, r.stderr
    sequential = time.time() - t0

    def one(_):
        cid = f"churn-{uuid.uuid4().hex[:8]}"
        b = hako.bundle.parent / cid
        b.mkdir()
        c = json.loads(cfg)
        c["linux"]["cgroupsPath"] = hako.cgroup_path(cid)
        (b / "config.json").write_text(json.dumps(c))
        return hako_call(hako, "run", "-b", str(b), cid).returncode

    t0 = time.time()
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(400))) == {0}
    parallel = time.time() - t0
    time.sleep(0.2)
    after = host_counts()
    print(f"churn: 600 sequential in {sequential:.1f}s, 400 (8 at a time) in {parallel:.1f}s; "
          f"before {before}, after {after}")
    assert after["mounts"] == before["mounts"]
    assert after["cgroup entries"] <= before["cgroup entries"]
    assert after["hako processes"] <= before["hako processes"], (before, after, hako_processes())
    assert not hako.root.exists() or list(hako.root.iterdir()) == []


def fd_count_and_rss(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    rss = int(next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if l.startswith("VmRSS:")).split()[1])
    return fds, rss


def test_a_long_run_with_many_execs_does_not_grow(hako):
    hako.set_args("sleep", "120")
    cid = hako.new_id()
    hako.write_config(cid)
    run = subprocess.Popen([str(HAKO), "--root", str(hako.root), "run", "-b", str(hako.bundle),
                            cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        hako.wait_status(cid, "running")
        for _ in range(20):
            hako_call(hako, "exec", cid, "true")
        start = fd_count_and_rss(run.pid)
        for _ in range(300):
            assert hako_call(hako, "exec", cid, "true").returncode == 0
        end = fd_count_and_rss(run.pid)
        print(f"hako run: fds {start[0]} -> {end[0]}, VmRSS {start[1]} -> {end[1]} KiB over 300 execs")
        assert end[0] == start[0], (start, end)
        assert end[1] <= start[1] + 64, (start, end)
    finally:
        hako.cmd("kill", cid, "KILL")
        run.wait(timeout=30)
