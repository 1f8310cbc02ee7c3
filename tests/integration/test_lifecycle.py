"""create / start / state / kill / delete / list / spec / features, and failure discipline:
every failure reports op + path + errno (or the JSON path) and leaves nothing behind."""
import json
import os
import subprocess
import time
from pathlib import Path

from conftest import HAKO, cgroup_dirs


def test_two_step_lifecycle(hako, tmp_path):
    hako.set_args("sleep", "30")
    pid_file = tmp_path / "init.pid"
    _, cid = hako.create("--pid-file", str(pid_file))
    st = hako.state(cid)
    assert st["status"] == "created"
    assert st["ociVersion"] == "1.3.0"
    assert st["id"] == cid and st["bundle"] == str(hako.bundle)
    assert int(pid_file.read_text()) == st["pid"] > 0
    assert list(json.loads(hako.cmd("state", cid).stdout).keys())[:4] == \
        ["ociVersion", "id", "pid", "status"], "field order as runc prints it"
    # The init waits on exec.fifo and has not exec'd the program yet: it is hako's image, or
    # (an init that shared hako's memory) the sealed exec stub waiting in its place.
    exe = Path(f"/proc/{st['pid']}/exe").resolve().name
    assert exe.startswith("hako") or exe.startswith("memfd:hako-exec-stub"), exe

    r = hako.cmd("start", cid)
    assert r.returncode == 0, r.stderr
    assert hako.state(cid)["status"] == "running"
    r = hako.cmd("start", cid)
    assert r.returncode == 1 and r.stderr.strip() == "hako: cannot start an already running container"
    r = hako.cmd("delete", cid)
    assert r.returncode == 1
    assert r.stderr.startswith(f"hako: cannot delete container {cid} that is not stopped: running")

    lines = hako.cmd("list").stdout.splitlines()
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert lines[1].split()[:3] == [cid, str(st["pid"]), "running"]
    assert hako.cmd("list", "-q").stdout.split() == [cid]
    listed = json.loads(hako.cmd("list", "--format", "json").stdout)
    assert listed[0]["id"] == cid and listed[0]["status"] == "running"

    assert hako.cmd("kill", cid, "KILL").returncode == 0
    hako.wait_status(cid, "stopped")
    assert hako.state(cid)["pid"] == 0
    r = hako.cmd("start", cid)
    assert r.stderr.strip() == "hako: cannot start a container that has stopped"
    r = hako.cmd("kill", cid)
    assert r.returncode == 1 and "container not running" in r.stderr
    assert hako.cmd("delete", cid).returncode == 0
    hako.assert_gone(cid, st["pid"])
    r = hako.cmd("state", cid)
    assert r.returncode == 1 and r.stderr.strip() == f'hako: container "{cid}" does not exist'


def test_kill_default_is_term_and_numbers_work(hako):
    hako.set_args("sh", "-c", "trap 'exit 42' TERM; while true; do sleep 0.1; done")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    time.sleep(0.3)
    assert hako.cmd("kill", cid).returncode == 0
    hako.wait_status(cid, "stopped")
    r = hako.cmd("kill", cid, "NOTASIGNAL")
    assert r.returncode == 1


def test_kill_all_reaches_every_process(hako):
    hako.config["linux"]["namespaces"] = [n for n in hako.config["linux"]["namespaces"]
                                          if n["type"] != "pid"]
    hako.set_args("sh", "-c", "sleep 30 & sleep 30 & wait")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    cg = cgroup_dirs(hako.cgroup_path(cid))[0]
    deadline = time.time() + 5
    while len((cg / "cgroup.procs").read_text().split()) < 3 and time.time() < deadline:
        time.sleep(0.02)
    procs = (cg / "cgroup.procs").read_text().split()
    assert len(procs) == 3
    assert hako.cmd("kill", "--all", cid, "9").returncode == 0
    hako.wait_status(cid, "stopped")

    def gone(pid):
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in "ZX"
        except FileNotFoundError:
            return True

    # SIGKILL is delivered at once, but exiting takes a moment on a loaded machine.
    deadline = time.time() + 5
    while not all(gone(p) for p in procs) and time.time() < deadline:
        time.sleep(0.02)
    assert all(gone(p) for p in procs), [p for p in procs if not gone(p)]


def test_delete_force_running_and_delete_created(hako):
    hako.set_args("sleep", "30")
    _, a = hako.create()
    pid_a = hako.state(a)["pid"]
    assert hako.cmd("delete", a).returncode == 0, "a created container is deleted without --force"
    hako.assert_gone(a, pid_a)
    _, b = hako.create()
    hako.cmd("start", b)
    pid_b = hako.state(b)["pid"]
    assert hako.cmd("delete", "--force", b).returncode == 0
    hako.assert_gone(b, pid_b)
    assert hako.cmd("delete", "--force", b).returncode == 0, "force on a missing id is not an error"


def test_run_detach_and_keep(hako):
    hako.set_args("sleep", "30")
    cid = hako.new_id()
    hako.write_config(cid)
    out = hako.bundle / "out"
    with open(out, "w") as f:  # a file, not a pipe: the detached container keeps it open
        p = subprocess.run([str(HAKO), "--root", str(hako.root), "run", "-d", "-b",
                            str(hako.bundle), cid], stdout=f, stderr=f, timeout=20)
    assert p.returncode == 0, out.read_text()
    assert hako.state(cid)["status"] == "running"
    hako.cmd("delete", "--force", cid)
    hako.set_args("true")
    r, kept = hako.run("--keep")
    assert r.returncode == 0
    assert hako.state(kept)["status"] == "stopped"
    assert hako.cmd("delete", kept).returncode == 0
    hako.assert_gone(kept)


def test_duplicate_id_is_refused_and_the_first_survives(hako):
    hako.set_args("sleep", "30")
    _, cid = hako.create()
    r, _ = hako.create(cid=cid, check=False)
    assert r.returncode == 1
    assert r.stderr.strip().endswith(f"container with id exists: {cid}")
    assert hako.state(cid)["status"] == "created"


def test_invalid_ids_never_touch_a_path(hako):
    for bad in ["../escape", "a/b", ".."]:
        r = hako.cmd("create", "-b", str(hako.bundle), bad)
        assert r.returncode == 1
        assert f'invalid container id "{bad}"' in r.stderr
    assert not (hako.root.parent / "escape").exists()


def test_missing_executable_fails_at_create_and_leaves_nothing(hako):
    hako.set_args("no-such-program", "arg")
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert 'process.args[0]: exec: "no-such-program": executable file not found in $PATH' in r.stderr
    hako.assert_gone(cid)


def test_non_executable_arg0(hako):
    hako.set_args("/etc/passwd")
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert 'process.args[0]: exec "/etc/passwd": Permission denied' in r.stderr
    hako.assert_gone(cid)


def test_config_errors_name_the_json_path_and_leave_nothing(hako):
    hako.config["linux"]["namespaces"][2]["type"] = "netns"
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert 'linux.namespaces[2].type: unknown namespace type "netns"' in r.stderr
    assert not hako.root.exists() or not (hako.root / cid).exists()
    hako.assert_gone(cid)


def test_json_syntax_error_gives_line_and_column(hako):
    cid = hako.new_id()
    (hako.bundle / "config.json").write_text('{\n  "ociVersion": "1.0.0",\n  "root": {]\n}\n')
    r = hako.cmd("create", "-b", str(hako.bundle), cid)
    assert r.returncode == 1 and "config.json:3:" in r.stderr
    hako.assert_gone(cid)


def test_mount_failure_says_what_and_leaves_nothing(hako):
    hako.config["mounts"].append({"destination": "/mnt/x", "type": "nosuchfs", "source": "none"})
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "mount nosuchfs on /mnt/x: No such device" in r.stderr
    assert 'the kernel does not know the filesystem type "nosuchfs"' in r.stderr
    hako.assert_gone(cid)


def test_bad_mount_option_shows_what_the_kernel_said(hako):
    hako.config["mounts"].append({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
                                  "options": ["size=lots"]})
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "mount tmpfs on /mnt/t (size=lots)" in r.stderr
    assert "Invalid argument" in r.stderr and "the kernel said:" in r.stderr
    hako.assert_gone(cid)


def test_devpts_gid_not_mapped_is_explained(hako):
    c = hako.config
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 1}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 1}]
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    # Refused while parsing, before a state directory, a cgroup or a process exists.
    assert r.stderr.strip() == (
        "hako: mounts[2] (devpts on /dev/pts): gid=5: gid 5 is not mapped in the container's "
        "user namespace (linux.gidMappings maps gids 0-0), and mount(2) would refuse devpts with "
        "a bare \"Invalid argument\"; add gid 5 to linux.gidMappings or drop gid=5 from the "
        "options"), r.stderr
    hako.assert_gone(cid)


def test_rlimit_above_the_hosts_hard_limit_is_explained(hako):
    hako.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1 << 30, "soft": 1024}]
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "setrlimit RLIMIT_NOFILE" in r.stderr and "CAP_SYS_RESOURCE" in r.stderr
    hako.assert_gone(cid)


def test_missing_namespace_path(hako):
    hako.config["linux"]["namespaces"][1]["path"] = "/proc/999999999/ns/net"
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "linux.namespaces[1] (network): open /proc/999999999/ns/net: No such file" in r.stderr
    hako.assert_gone(cid)


def test_terminal_is_refused_clearly_for_now(hako):
    hako.config["process"]["terminal"] = True
    r, cid = hako.create(check=False)
    assert r.returncode == 1 and "process.terminal" in r.stderr
    hako.assert_gone(cid)


def test_json_log_lines_for_containerd(hako, tmp_path):
    log = tmp_path / "log.json"
    hako.set_args("no-such-program")
    cid = hako.new_id()
    hako.write_config(cid)
    r = hako.cmd("--log", str(log), "--log-format", "json", "create", "-b", str(hako.bundle), cid)
    assert r.returncode == 1
    lines = [json.loads(l) for l in log.read_text().splitlines()]
    errors = [l for l in lines if l["level"] == "error"]
    assert len(errors) == 1 and "executable file not found" in errors[0]["msg"]
    assert errors[0]["time"].endswith("Z")
    # The structure rides along (issue 16): a namespace path that does not exist.
    hako.set_args("true")
    hako.config["linux"]["namespaces"][1]["path"] = "/proc/999999999/ns/net"
    cid = hako.new_id()
    hako.write_config(cid)
    log.unlink()
    r = hako.cmd("--log", str(log), "--log-format", "json", "create", "-b", str(hako.bundle), cid)
    assert r.returncode == 1
    e = [json.loads(l) for l in log.read_text().splitlines() if '"error"' in l][0]
    assert e["errno"] == "ENOENT" and e["path"] == "/proc/999999999/ns/net", e
    assert e["field"] == "linux.namespaces[1] (network)", e
    assert e["msg"].startswith("linux.namespaces[1] (network): open"), e


def test_spec_and_features(hako, tmp_path):
    d = tmp_path / "newbundle"
    d.mkdir()
    assert hako.cmd("spec", "-b", str(d)).returncode == 0
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["process"]["args"] == ["sh"] and cfg["root"]["path"] == "rootfs"
    # runc's default: a terminal, and no cgroup namespace.
    assert cfg["process"]["terminal"] is True
    assert [n["type"] for n in cfg["linux"]["namespaces"]] == ["pid", "network", "ipc", "uts",
                                                                "mount"]
    r = hako.cmd("spec", "-b", str(d))
    assert r.returncode == 1 and "exists" in r.stderr
    f = json.loads(hako.cmd("features").stdout)
    assert f["ociVersionMax"] == "1.3.0"
    assert "time" in f["linux"]["namespaces"]
    assert hako.cmd("--version").stdout.startswith("hako version ")


def test_state_survives_pid_reuse_check(hako):
    hako.set_args("true")
    r, cid = hako.run("--keep")
    assert r.returncode == 0
    state_file = hako.root / cid / "state.json"
    raw = json.loads(state_file.read_text())
    raw["pid"] = os.getpid()  # a live process that is not the container
    state_file.write_text(json.dumps(raw))
    assert hako.state(cid)["status"] == "stopped", "a reused pid must not look like the container"
    assert hako.cmd("kill", cid, "KILL").returncode == 1, "must never signal a stranger"


def test_concurrent_creates_of_one_id_one_wins(hako):
    hako.set_args("sleep", "30")
    cid = hako.new_id()
    hako.write_config(cid)
    outs = [open(hako.bundle / f"race{i}.log", "w") for i in range(4)]
    procs = [subprocess.Popen([str(HAKO), "--root", str(hako.root), "create", "-b", str(hako.bundle),
                               cid], stdout=o, stderr=o) for o in outs]
    codes = [p.wait(timeout=60) for p in procs]
    for o in outs:
        o.close()
    assert sorted(codes) == [0, 1, 1, 1], codes
    losers = [(hako.bundle / f"race{i}.log").read_text() for i, c in enumerate(codes) if c]
    assert all(f"container with id exists: {cid}" in l for l in losers), losers
    assert hako.state(cid)["status"] == "created"
    r = hako.cmd("start", cid)
    assert r.returncode == 0, r.stderr


def test_debug_traces_each_step_with_its_time(hako, tmp_path):
    hako.set_args("true")
    cid = hako.new_id()
    hako.write_config(cid)
    r = hako.cmd("--debug", "run", "-b", str(hako.bundle), cid)
    assert r.returncode == 0, r.stderr
    for step in ("config loaded and checked, state directory claimed", "cgroups made",
                 "init cloned", "rootfs made, init ready", "state saved"):
        assert f"hako: debug: create {cid}: {step} in " in r.stderr, r.stderr
    assert f"hako: debug: start {cid}: init released, program running in " in r.stderr
    assert " ms in all" in r.stderr
    # With --log the trace goes to the file only, as runc's.
    log = tmp_path / "log.json"
    cid = hako.new_id()
    hako.write_config(cid)
    r = hako.cmd("--debug", "--log", str(log), "--log-format", "json", "run", "-b",
                 str(hako.bundle), cid)
    assert r.returncode == 0, r.stderr
    assert "debug" not in r.stderr
    lines = [json.loads(l) for l in log.read_text().splitlines()]
    assert any(l["level"] == "debug" and "init cloned" in l["msg"] for l in lines), lines
    # Without --debug nothing is traced.
    r, _ = hako.run()
    assert "debug" not in r.stderr


def test_created_init_is_the_sealed_stub_cloned_in_hakos_memory(hako, tmp_path):
    """As root, with nothing of hako's needed before "ready" (no user namespace, no create-phase
    hooks, no systemd unit), the init is cloned in hako's memory (CLONE_VM|CLONE_VFORK: no copy of
    hako's page tables, no image to unmap at start) and, once ready, waits for `start` as the
    sealed exec stub holding stdio and exec.fifo only (docs/performance.md, item 13)."""
    hako.set_args("sleep", "30")
    cid = hako.new_id()
    hako.write_config(cid)
    trace = tmp_path / "clone"
    # Not -f: the init outlives create, and strace would wait for it.
    r = subprocess.run(["strace", "-qq", "-e", "trace=clone3", "-o", str(trace), str(HAKO),
                        "--root", str(hako.root), "create", "-b", str(hako.bundle), cid],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0
    clones = [line for line in trace.read_text().splitlines() if "clone3(" in line]
    assert len(clones) == 1 and "CLONE_VM" in clones[0] and "CLONE_VFORK" in clones[0], clones
    pid = hako.state(cid)["pid"]
    assert Path(f"/proc/{pid}/exe").resolve().name.startswith("memfd:hako-exec-stub")
    fds = sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd"))
    assert fds[:3] == [0, 1, 2] and len(fds) == 4, fds
    assert os.readlink(f"/proc/{pid}/fd/{fds[3]}").endswith("/exec.fifo")
    assert hako.cmd("start", cid).returncode == 0
    assert hako.state(cid)["status"] == "running"
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "sleep"
    assert hako.cmd("delete", "-f", cid).returncode == 0
