"""`hako check` (every problem `create` would find, nothing made), `hako doctor` (what the host
can do), and the manual pages and completion made from the command table."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import HAKO, host_mounts
from test_rootless import Rootless, rootless, podman_maps  # noqa: F401 (fixtures)


def state_entries(hako):
    return sorted(os.listdir(hako.root)) if hako.root.exists() else []


def test_a_good_bundle_is_ok(hako):
    hako.write_config()
    r = hako.cmd("check", "-b", str(hako.bundle))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith(": ok"), r.stdout


def test_every_problem_is_listed_and_nothing_is_made(hako, tmp_path):
    plain = tmp_path / "not-a-namespace"
    plain.write_text("")
    hako.join_namespace("network", plain)
    hako.config["linux"]["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "5"}
    hako.config["process"]["apparmorProfile"] = "docker-default"
    hako.set_args("/opt/app/server")
    hako.write_config()
    before = host_mounts()
    r = hako.cmd("check", "-b", str(hako.bundle))
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "problem: process.apparmorProfile: AppArmor is not enabled on this host" in out, out
    assert 'problem: linux.memoryPolicy.nodes: "5" names memory nodes that are not online' in out
    assert f"(network): {plain} is not a namespace" in out, out
    assert 'problem: process.args[0]: exec "/opt/app/server": No such file or directory' in out
    assert out.strip().endswith("4 problems"), out
    assert state_entries(hako) == [] and host_mounts() == before
    r = hako.cmd("check", "-b", str(hako.bundle), "--format", "json")
    report = json.loads(r.stdout)
    assert r.returncode == 1 and report["ok"] is False and len(report["problems"]) == 4
    ns = [p for p in report["problems"] if "not a namespace" in p["msg"]][0]
    assert ns["hint"].startswith("name a /proc/PID/ns/net file"), ns


def test_a_config_that_does_not_parse_is_one_problem(hako):
    (hako.bundle / "config.json").write_text('{"ociVersion": "1.0.2", "process": [}')
    r = hako.cmd("check", "-b", str(hako.bundle))
    assert r.returncode == 1 and "problem: config.json" in r.stdout, r.stdout


def test_check_as_an_unprivileged_user(rootless, user):
    rootless.config["process"]["args"] = ["sh", "-c", "true"]
    uid_maps, gid_maps = podman_maps(user)
    uid_maps[1]["hostID"] = 300000  # a range the user was not granted
    rootless.config["linux"]["uidMappings"] = uid_maps
    rootless.config["linux"]["gidMappings"] = gid_maps
    rootless.write_config()
    r = rootless.cmd("check", "-b", str(rootless.bundle))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "problem: linux.uidMappings[1]" in r.stdout and "may not map host uids" in r.stdout
    assert "process.args[0]: not checked" in r.stdout


def test_doctor_reports_this_hosts_facts(hako):
    r = hako.cmd("doctor")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "ok       mode: hybrid (v1 controllers, v2 beside)" in out, out
    assert "ok       user notification (SCMP_ACT_NOTIFY): available" in out
    assert "missing  AppArmor: not enabled" in out and "without it: process.apparmorProfile" in out
    assert "ok       openat2 (RESOLVE_IN_ROOT): present" in out
    assert "missing  systemd as init: not running" in out  # PID 1 is not systemd here
    findings = json.loads(hako.cmd("doctor", "--format", "json").stdout)
    by_name = {f["name"]: f for f in findings}
    assert by_name["clone3 (CLONE_INTO_CGROUP, CLONE_PIDFD)"]["ok"] is True
    assert by_name["SELinux"]["ok"] is False and "disables" in by_name["SELinux"]


def test_doctor_as_an_unprivileged_user(rootless, user):
    r = rootless.cmd("doctor")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    # The session's user was granted subordinate ids by useradd; newuidmap is setuid root.
    assert f"ok       /etc/subuid for {user['name']}: " in out, out
    assert "ok       /usr/bin/newuidmap: setuid root" in out, out
    assert "ok       unshare(CLONE_NEWUSER) as this user: works" in out, out
    # Its own v1 cgroups are the machine's, not writable by it: what that disables is said.
    assert "is not writable" in out and "without it: cgroups for this user's containers" in out


def test_manual_pages_render_and_completion_completes():
    docs = HAKO.parent / "docs"
    pages = sorted((docs / "man8").glob("*.8"))
    names = subprocess.run([str(HAKO), "man", "--list"], capture_output=True, text=True).stdout
    assert len(pages) == len(names.split()) + 1, pages  # hako.8 and one per command
    for page in pages:
        r = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True,
                           text=True, env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin"})
        assert r.returncode == 0 and r.stderr == "", (page, r.stderr)
        assert "NAME" in r.stdout
    script = (f"source {docs / 'hako.bash'}; COMP_WORDS=(hako --root /x cr); COMP_CWORD=3; "
              "_hako; echo ${COMPREPLY[@]}; COMP_WORDS=(hako update --cpu-sh); COMP_CWORD=2; "
              "_hako; echo ${COMPREPLY[@]}")
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert r.stdout.split("\n")[:2] == ["create", "--cpu-share --cpu-shares"], r.stdout


def test_systemd_cgroup_says_there_is_no_systemd_and_leaves_nothing(hako):
    """This host runs no systemd: --systemd-cgroup fails at once, saying so, before any state."""
    if Path("/run/systemd/system").exists():
        pytest.skip("systemd runs here: the refusal names the missing driver instead")
    hako.set_args("true")
    cid = hako.new_id()
    hako.write_config(cid)
    r = hako.cmd("--systemd-cgroup", "create", "-b", str(hako.bundle), cid)
    assert r.returncode == 1
    assert "--systemd-cgroup: there is no systemd to talk to: PID 1 is" in r.stderr, r.stderr
    assert "no system bus at /run/dbus/system_bus_socket" in r.stderr, r.stderr
    assert not (hako.root / cid).exists()
    hako.assert_gone(cid)
