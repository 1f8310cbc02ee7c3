"""`hako exec`: a process joins a running container's namespaces and cgroups."""
import json
import os
import subprocess
from pathlib import Path

from conftest import HAKO, cgroup_dirs


def running(hako, **changes):
    hako.set_args("sleep", "60")
    for k, v in changes.items():
        hako.config["linux"][k] = v
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    return cid, hako.state(cid)["pid"]


def test_exec_output_exit_status_and_namespaces(hako):
    cid, init = running(hako)
    kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user"]
    r = hako.cmd("exec", cid, "sh", "-c",
                 "echo $$; for n in " + " ".join(kinds) + "; do readlink /proc/self/ns/$n; done; exit 5")
    assert r.returncode == 5, r.stderr
    lines = r.stdout.split()
    assert lines[0] != "1" and int(lines[0]) < 100, "a pid of the container's pid namespace"
    for kind, seen in zip(kinds, lines[1:]):
        assert seen == os.readlink(f"/proc/{init}/ns/{kind}"), kind


def test_exec_process_sits_in_the_containers_cgroups(hako, tmp_path):
    cid, init = running(hako)
    pid_file = tmp_path / "exec.pid"
    # Not through pipes: the detached process keeps them open.
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "exec", "-d", "--pid-file",
                        str(pid_file), cid, "sleep", "30"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
    assert r.returncode == 0
    pid = int(pid_file.read_text())
    mine, theirs = Path(f"/proc/{pid}/cgroup").read_text(), Path(f"/proc/{init}/cgroup").read_text()
    assert mine.splitlines() == theirs.splitlines(), (mine, theirs)
    for d in cgroup_dirs(hako.cgroup_path(cid)):
        assert str(pid) in (d / "cgroup.procs").read_text().split(), d
    assert hako.cmd("delete", "--force", cid).returncode == 0
    hako.assert_gone(cid, pid)


def test_exec_cgroup_puts_the_process_in_a_sub_cgroup(hako):
    """runc's `exec --cgroup SUB`: the sub-cgroup must exist (made here in every hierarchy);
    the process sits there and, in the container's cgroup namespace, sees /SUB."""
    cid, _ = running(hako)
    subs = [d / "sub" for d in cgroup_dirs(hako.cgroup_path(cid))]
    for d in subs:
        d.mkdir()
        if d.parent.name != "unified" and (d.parent / "cpuset.cpus").exists():
            for f in ("cpuset.cpus", "cpuset.mems"):  # a new v1 cpuset starts empty
                (d / f).write_text((d.parent / f).read_text())
    try:
        r = hako.cmd("exec", "--cgroup", "sub", cid, "sh", "-c", "cat /proc/self/cgroup")
        assert r.returncode == 0, r.stderr
        paths = {line.split(":", 2)[2] for line in r.stdout.splitlines()}
        assert paths == {"/sub"}, r.stdout
        r = hako.cmd("exec", "--cgroup", "../x", cid, "true")
        assert r.returncode == 255 and "is not a sub cgroup path" in r.stderr
        assert hako.cmd("delete", "--force", cid).returncode == 0
        assert not any(d.exists() for d in subs), "delete removes sub-cgroups too"
    finally:
        hako.cmd("delete", "--force", cid)
        for d in subs:
            if d.exists():
                d.rmdir()


def test_exec_user_env_cwd_caps_and_signal_status(hako):
    cid, _ = running(hako)
    r = hako.cmd("exec", "-u", "1000:1000", "-g", "5", "-e", "FOO=bar", "--cwd", "/tmp",
                 "--no-new-privs", cid, "sh", "-c",
                 "id; echo $FOO; pwd; grep NoNewPrivs /proc/self/status")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("uid=1000 gid=1000") and "5(tty)" in lines[0]
    assert lines[1:3] == ["bar", "/tmp"]
    assert lines[3].split() == ["NoNewPrivs:", "1"]
    r = hako.cmd("exec", "--cap", "CAP_SYS_ADMIN", cid, "grep", "CapEff", "/proc/self/status")
    assert int(r.stdout.split()[1], 16) & (1 << 21), "CAP_SYS_ADMIN added"
    r = hako.cmd("exec", cid, "sh", "-c", "kill -9 $$")
    assert r.returncode == 137


def test_exec_process_file(hako, tmp_path):
    cid, _ = running(hako)
    proc = dict(hako.config["process"])
    proc.update({"args": ["sh", "-c", "echo from-json $X"], "env": ["X=1", "PATH=/bin"], "cwd": "/"})
    (tmp_path / "p.json").write_text(json.dumps(proc))
    r = hako.cmd("exec", "--process", str(tmp_path / "p.json"), cid)
    assert r.stdout.strip() == "from-json 1", r.stderr


def test_exec_preserve_fds(hako):
    cid, _ = running(hako)
    r_fd, w_fd = os.pipe()
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "exec", "--preserve-fds", "1", cid,
                        "sh", "-c", "echo via-fd3 >&3"], pass_fds=(3,),
                       preexec_fn=lambda: (os.dup2(w_fd, 3), os.close(w_fd)),
                       capture_output=True, text=True, timeout=30)
    os.close(w_fd)
    assert r.returncode == 0, r.stderr
    assert os.read(r_fd, 64) == b"via-fd3\n"


def test_exec_in_a_user_namespace_container(hako):
    cid, init = running(hako, namespaces=hako.config["linux"]["namespaces"] + [{"type": "user"}],
                        uidMappings=[{"containerID": 0, "hostID": 210000, "size": 65536}],
                        gidMappings=[{"containerID": 0, "hostID": 210000, "size": 65536}])
    r = hako.cmd("exec", cid, "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0", "0", "210000", "65536"]


def test_exec_in_created_works_and_in_stopped_is_refused(hako):
    hako.set_args("sleep", "60")
    _, cid = hako.create()
    # As runc: a created container may be joined; it stays created.
    r = hako.cmd("exec", cid, "sh", "-c", "echo joined; cat /proc/1/comm")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "joined"
    assert hako.state(cid)["status"] == "created"
    hako.cmd("kill", cid, "KILL")
    hako.wait_status(cid, "stopped")
    r = hako.cmd("exec", cid, "true")
    assert r.returncode == 255 and "cannot exec in a stopped container" in r.stderr
    r = hako.cmd("exec", "no-such-container", "true")
    assert r.returncode == 255 and 'container "no-such-container" does not exist' in r.stderr


def test_exec_missing_program_says_so(hako):
    cid, _ = running(hako)
    r = hako.cmd("exec", cid, "nope")
    assert r.returncode == 255  # as runc: exec itself failed
    assert 'exec: "nope": executable file not found in $PATH' in r.stderr


def test_exec_as_root_starts_one_process_no_middle_one(hako, tmp_path):
    """As root the container's pid namespace is joined for hako's children (setns CLONE_NEWPID in
    hako itself), so the process is cloned straight into it: one clone, where a middle process
    that joins and forks again would make two; and the clone shares hako's memory until it has
    exec'd the stub (CLONE_VM|CLONE_VFORK: no page tables copied; docs/performance.md, items 11
    and 12)."""
    cid, _ = running(hako)
    trace = tmp_path / "clones"
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=clone,clone3,fork,vfork", "-o",
                        str(trace), str(HAKO), "--root", str(hako.root), "exec", cid, "true"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    made = [line for line in trace.read_text().splitlines()
            if "clone" in line and "resumed>" not in line and "= -1" not in line]
    assert len(made) == 1, trace.read_text()
    assert "CLONE_VM" in made[0] and "CLONE_VFORK" in made[0], made[0]


def test_exec_process_holds_no_socket_to_hako(hako):
    """The exec stub holds hako's sync socket while it waits for the release, and closes it
    before it execs the program: the program has stdio and nothing of hako's."""
    cid, _ = running(hako)
    r = hako.cmd("exec", cid, "sh", "-c", 'for f in /proc/$$/fd/*; do echo "$f $(readlink $f)"; done')
    assert r.returncode == 0, r.stderr
    assert "socket:" not in r.stdout, r.stdout
