"""cgroup v2 on a unified host: these run in the VM of scripts/test-vm (this machine is hybrid,
and its v2 hierarchy cannot hold the memory, cpu, io, pids or cpuset controllers).

Each test checks what the container and the host's cgroup files show; the fixture checks that
nothing is left in the cgroup tree after delete.
"""
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CGROUP_PARENT, HAKO, check_pause_stops_a_counter, check_pids_limit_stops_fork

V2 = Path("/sys/fs/cgroup")
pytestmark = pytest.mark.skipif(not (V2 / "cgroup.controllers").exists(),
                                reason="needs a unified (cgroup v2) host: scripts/test-vm")


def cg(hako, cid):
    return V2 / hako.cgroup_path(cid).lstrip("/")


def read(path):
    return Path(path).read_text().strip()


def test_cgroup_namespace_sees_root_and_a_cgroup2_mount(hako):
    hako.set_args("sh", "-c", "cat /proc/self/cgroup; grep ' /sys/fs/cgroup ' "
                  "/proc/self/mountinfo; cat /sys/fs/cgroup/cgroup.controllers")
    hako.config["linux"]["resources"] = {"pids": {"limit": 10}}
    r, cid = hako.run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0::/"
    mount = lines[1].split()
    assert mount[3] == "/" and mount[4] == "/sys/fs/cgroup", lines[1]
    assert lines[1].split(" - ")[1].startswith("cgroup2 "), lines[1]
    assert mount[5].startswith("ro"), "read-only unless the spec says otherwise"
    assert "memory" in lines[2] and "pids" in lines[2], "controllers enabled down to it"


def test_memory_max_swap_and_the_oom_event(hako, tmp_path):
    limit = 16 << 20
    hako.config["linux"]["resources"] = {"memory": {"limit": limit, "swap": limit,
                                                    "reservation": 8 << 20}}
    hako.bind_dir(tmp_path, "/go")
    hako.set_args("sh", "-c", "while [ ! -e /go/go ]; do sleep 0.05; done; "
                  "dd if=/dev/zero of=/dev/null bs=64M count=1; echo dd=$? > /go/dd; sleep 1")
    _, cid = hako.create()
    assert read(cg(hako, cid) / "memory.max") == str(limit)
    assert read(cg(hako, cid) / "memory.swap.max") == "0", "swap is memory+swap on v1: 0 more"
    assert read(cg(hako, cid) / "memory.low") == str(8 << 20)
    assert hako.cmd("start", cid).returncode == 0
    stats = json.loads(hako.cmd("events", "--stats", cid).stdout)["data"]
    assert stats["memory"]["usage"]["limit"] == limit
    stream = subprocess.Popen([str(HAKO), "--root", str(hako.root), "events", "--interval", "10s",
                               cid], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    (tmp_path / "go").write_text("")
    out, _ = stream.communicate(timeout=60)
    assert read(tmp_path / "dd") == "dd=137", "SIGKILLed by the OOM killer"
    assert [json.loads(l)["type"] for l in out.splitlines()] == ["oom"]


def test_pids_max_stops_fork(hako):
    check_pids_limit_stops_fork(hako, "/sys/fs/cgroup/pids.max")


def test_cpu_io_cpuset_and_hugetlb_files_hold_runcs_conversions(hako):
    hako.config["linux"]["resources"] = {
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
        "blockIO": {"weight": 500},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]}
    hako.set_args("sleep", "30")
    _, cid = hako.create()
    d = cg(hako, cid)
    assert read(d / "cpu.weight") == "39", "1 + (1024 - 2) * 9999 / 262142"
    assert read(d / "cpu.max") == "50000 100000"
    assert read(d / "cpuset.cpus") == "0"
    assert read(d / "cpuset.mems") == "0"
    assert read(d / "io.weight") == "default 4950", "1 + (500 - 10) * 9999 / 990"
    assert read(d / "hugetlb.2MB.max") == str(4 << 20)


def test_update_writes_the_v2_files(hako):
    hako.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 20}}
    hako.set_args("sleep", "30")
    _, cid = hako.create()
    r = hako.cmd("update", "--memory", str(32 << 20), "--pids-limit", "7", "--cpu-quota", "20000",
                 "--cpu-period", "100000", cid)
    assert r.returncode == 0, r.stderr
    d = cg(hako, cid)
    assert read(d / "memory.max") == str(32 << 20)
    assert read(d / "pids.max") == "7"
    assert read(d / "cpu.max") == "20000 100000"


def test_device_filter_denies_and_allows(hako):
    """The eBPF program: /dev/kmsg (1:11) is denied to open and to create by the default rules;
    with an allow rule for reading, it opens for reading but not writing."""
    caps = hako.config["process"]["capabilities"]
    for s in ("bounding", "effective", "permitted"):
        caps[s] = caps[s] + ["CAP_MKNOD", "CAP_SYSLOG"]
    hako.config["linux"]["devices"] = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]
    hako.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    hako.set_args("sh", "-c", "head -c0 /dev/null && echo null-ok; head -c1 /dev/kmsg >/dev/null "
                  "2>&1 && echo kmsg-read || echo kmsg-denied; mknod /tmp/k c 1 11 2>/dev/null && "
                  "echo mknod-ok || echo mknod-denied")
    hako.config["root"]["readonly"] = False
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["null-ok", "kmsg-denied", "mknod-denied"], r.stdout
    hako.config["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"})
    hako.set_args("sh", "-c", "head -c1 /dev/kmsg >/dev/null && echo kmsg-read; "
                  "echo x 2>/dev/null > /dev/kmsg && echo kmsg-written || echo write-denied")
    r, _ = hako.run()
    assert r.stdout.split() == ["kmsg-read", "write-denied"], (r.stdout, r.stderr)


def test_a_long_device_list_loads(hako):
    """containerd's default spec lists a dozen device rules, and a client may add many: the
    program for 40 rules loads (its verifier log would overflow a small buffer, and a load with
    a log that does not fit fails with ENOSPC), and the last rule still counts."""
    rules = [{"allow": False, "access": "rwm"}]
    rules += [{"allow": True, "type": "c", "major": 240, "minor": m, "access": "rwm"}
              for m in range(39)]
    rules.append({"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"})
    caps = hako.config["process"]["capabilities"]
    for s in ("bounding", "effective", "permitted"):
        caps[s] = caps[s] + ["CAP_SYSLOG"]
    hako.config["linux"]["devices"] = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]
    hako.config["linux"]["resources"] = {"devices": rules}
    hako.set_args("sh", "-c", "head -c0 /dev/null && echo null-ok; head -c1 /dev/kmsg >/dev/null "
                  "&& echo kmsg-read")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["null-ok", "kmsg-read"], (r.stdout, r.stderr)


def test_pause_and_resume_through_cgroup_freeze(hako, tmp_path):
    def frozen_in_v2(cid):
        assert read(cg(hako, cid) / "cgroup.freeze") == "1"

    cid = check_pause_stops_a_counter(hako, tmp_path, frozen_in_v2)
    assert read(cg(hako, cid) / "cgroup.freeze") == "0"


def test_kill_all_uses_cgroup_kill(hako):
    """A container without a pid namespace whose processes keep forking: one write to
    cgroup.kill ends them all, including the ones born while it happens."""
    hako.config["linux"]["namespaces"] = [n for n in hako.config["linux"]["namespaces"]
                                          if n["type"] != "pid"]
    hako.config["linux"]["resources"] = {"pids": {"limit": 200}}
    hako.set_args("sh", "-c", "while true; do (sleep 1000 &); done")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    time.sleep(1)
    assert int(read(cg(hako, cid) / "pids.current")) > 5
    assert hako.cmd("kill", "--all", cid, "KILL").returncode == 0
    deadline = time.time() + 5
    while time.time() < deadline and read(cg(hako, cid) / "cgroup.procs"):
        time.sleep(0.05)
    assert read(cg(hako, cid) / "cgroup.procs") == ""
    assert read(cg(hako, cid) / "cgroup.events").find("populated 0") >= 0


def test_clone_into_cgroup_charges_the_child_to_its_cgroup_only(hako, tmp_path):
    """hako runs in a cgroup of the test's with pids.max 1: only hako itself fits. The init is
    cloned straight into the container's cgroup (CLONE_INTO_CGROUP), so the run succeeds; a
    fork-then-move would fail with EAGAIN."""
    parent = V2 / CGROUP_PARENT.lstrip("/")
    made_parent = not parent.exists()
    parent.mkdir(exist_ok=True)
    if made_parent:  # as hako would: its children get the controllers
        enable = " ".join("+" + c for c in read(parent / "cgroup.controllers").split())
        (parent / "cgroup.subtree_control").write_text(enable)
    cap = parent / "hako-cap"
    cap.mkdir()
    try:
        (cap / "pids.max").write_text("1")
        hako.set_args("sh", "-c", "cat /proc/self/cgroup")
        cid = hako.new_id()
        hako.write_config(cid)
        r = subprocess.run(["sh", "-c", f'echo $$ > {cap}/cgroup.procs && exec "$@"', "sh",
                            str(HAKO), "--root", str(hako.root), "run", "-b", str(hako.bundle),
                            cid], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "0::/"
        assert read(cap / "pids.events") == "max 0", "nothing was ever refused in hako's cgroup"
        # exec too: its child is cloned into the running container's cgroup.
        hako.set_args("sleep", "30")
        _, long_id = hako.create()
        assert hako.cmd("start", long_id).returncode == 0
        r = subprocess.run(["sh", "-c", f'echo $$ > {cap}/cgroup.procs && exec "$@"', "sh",
                            str(HAKO), "--root", str(hako.root), "exec", long_id, "cat",
                            "/proc/self/cgroup"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "0::/"
        assert read(cap / "pids.events") == "max 0"
    finally:
        cap.rmdir()
        for i in hako.ids:
            hako.cmd("delete", "--force", i)
        if made_parent and not [p for p in parent.iterdir() if p.is_dir()]:
            parent.rmdir()


def test_delete_leaves_nothing_in_the_cgroup_tree(hako):
    hako.config["linux"]["resources"] = {"memory": {"limit": 64 << 20}}
    hako.set_args("sleep", "30")
    _, cid = hako.create()
    assert cg(hako, cid).is_dir()
    assert hako.cmd("delete", "--force", cid).returncode == 0
    assert not cg(hako, cid).exists()
    leftovers = [p for p in (V2 / CGROUP_PARENT.lstrip("/")).glob("*") if p.is_dir()] \
        if (V2 / CGROUP_PARENT.lstrip("/")).exists() else []
    assert leftovers == [], leftovers


def test_rootless_uses_a_delegated_cgroup(hako, tmp_path):
    """An ordinary user (uid 1000 here, maps of its own id only) to whom root delegated a v2
    subtree (cgroup-v2.rst, "Delegation"): hako creates the container's cgroup in it and applies
    the limits, instead of skipping cgroups as on v1."""
    import shutil
    import tempfile
    uid = 1000
    deleg = V2 / f"hako-deleg-{os.getpid()}"
    base = Path(tempfile.mkdtemp(prefix="hako-deleg-"))
    base.chmod(0o755)
    (deleg / "init").mkdir(parents=True)
    try:
        (deleg / "cgroup.subtree_control").write_text("+memory +pids")
        subprocess.run(["chown", "-R", str(uid), str(deleg)], check=True)
        shutil.copy(HAKO, base / "hako")
        (base / "bundle").mkdir()
        (base / "bundle" / "rootfs").symlink_to(hako.rootfs)  # the session's, root's, readable
        (base / "run").mkdir()
        subprocess.run(["chown", "-R", "-h", f"{uid}:{uid}", str(base)], check=True)
        as_user = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(base / "run")}
        subprocess.run(as_user + [str(base / "hako"), "spec", "--rootless", "-b",
                                  str(base / "bundle")], check=True, env=env)
        cfg = json.loads((base / "bundle" / "config.json").read_text())
        cfg["process"]["terminal"] = False  # `spec` is runc's: a terminal, no cgroupns
        cfg["linux"]["namespaces"].append({"type": "cgroup"})
        cfg["linux"]["cgroupsPath"] = f"/{deleg.name}/c1"
        cfg["linux"]["resources"] = {"memory": {"limit": 32 << 20}, "pids": {"limit": 20}}
        cfg["process"]["args"] = ["sh", "-c", "cat /proc/self/cgroup /sys/fs/cgroup/memory.max "
                                  "/sys/fs/cgroup/pids.max /proc/self/uid_map"]
        cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
        (base / "bundle" / "config.json").write_text(json.dumps(cfg))
        # root puts the user's shell in the delegated leaf, then drops to the user for hako
        r = subprocess.run(["sh", "-c", f'echo $$ > {deleg}/init/cgroup.procs && exec "$@"', "sh",
                            *as_user, str(base / "hako"), "run", "-b", str(base / "bundle"),
                            "c1"], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "cgroups: skipped" not in r.stderr, r.stderr
        out = r.stdout.split()
        assert out[:3] == ["0::/", str(32 << 20), "20"], r.stdout
        assert out[3:6] == ["0", str(uid), "1"], "a user namespace of the user's own id"
        assert not (deleg / "c1").exists(), "removed on delete"
    finally:
        for d in (deleg / "c1", deleg / "init", deleg):
            if d.is_dir():
                d.rmdir()
        shutil.rmtree(base)


def test_doctor_and_check_on_a_unified_host(hako):
    r = subprocess.run([str(HAKO), "doctor", "--format", "json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    findings = {f["name"]: f for f in json.loads(r.stdout)}
    assert findings["mode"]["detail"] == "unified (cgroup v2 only)", findings["mode"]
    v2 = findings["/sys/fs/cgroup"]
    for controller in ("memory", "pids", "cpu"):
        assert controller in v2["detail"], v2
    # A CFS quota below the kernel's minimum, found by check without creating anything.
    hako.config["linux"]["resources"] = {"cpu": {"quota": 500, "period": 100000}}
    hako.write_config()
    r = hako.cmd("check", "-b", str(hako.bundle))
    assert r.returncode == 0, r.stdout  # check does not write cgroup files: create will say
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "a CFS quota must be at least 1000 µs (1 ms) per period" in r.stderr, r.stderr
    hako.assert_gone(cid)
