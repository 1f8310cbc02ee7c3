"""Issue "Process security and hooks": what confines the container's process, seen from inside
and checked on the host."""
import subprocess
import time
from pathlib import Path

from conftest import HAKO, processes_with, unique_sleep


def test_sysctl_set_inside_and_host_unchanged(hako):
    host_fwd = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    host_shm = Path("/proc/sys/kernel/shmmni").read_text()
    hako.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1" if host_fwd.strip() == "0" else "0",
                                      "kernel.shmmni": "1234"}
    hako.set_args("sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    fwd, shm = r.stdout.split()
    assert fwd != host_fwd.strip() and shm == "1234"
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == host_fwd
    assert Path("/proc/sys/kernel/shmmni").read_text() == host_shm


def test_host_sysctl_is_refused_before_anything_runs(hako):
    hako.config["linux"]["sysctl"] = {"kernel.panic": "1"}
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert 'linux.sysctl."kernel.panic": not a namespaced sysctl' in r.stderr
    hako.assert_gone(cid)


def seccomp_profile(action, **extra):
    rule = {"names": ["mkdir", "mkdirat"], "action": action}
    rule.update(extra)
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [rule, {"names": ["not_a_syscall_anywhere"], "action": "SCMP_ACT_ERRNO"}]}


def test_seccomp_errno_rule(hako):
    hako.config["linux"]["seccomp"] = seccomp_profile("SCMP_ACT_ERRNO", errnoRet=95)
    hako.set_args("sh", "-c", "grep Seccomp: /proc/self/status; mkdir /tmp/x; echo rc=$?; "
                  "ls -d /tmp/x 2>/dev/null || echo absent")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert "Seccomp:\t2" in r.stdout
    assert "rc=1" in r.stdout and "absent" in r.stdout
    assert "Operation not supported" in r.stderr or "Not supported" in r.stderr, r.stderr


def test_seccomp_errno_ret_on_a_non_errno_action_is_refused(hako):
    hako.config["linux"]["seccomp"] = seccomp_profile("SCMP_ACT_KILL", errnoRet=1)
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return an errno" in r.stderr
    hako.assert_gone(cid)


def test_seccomp_notify_reaches_the_listener_which_answers(hako, tmp_path):
    import errno
    import fcntl
    import json
    import socket
    import struct
    import threading

    path = str(tmp_path / "agent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(30)
    seen = {}

    def agent():
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
        conn.close()
        seen["state"] = json.loads(msg)
        fd = fds[0]
        notif = bytearray(80)  # struct seccomp_notif, zeroed as the kernel demands
        fcntl.ioctl(fd, 0xC0502100, notif)  # SECCOMP_IOCTL_NOTIF_RECV
        nid, pid = struct.unpack_from("QI", notif, 0)
        seen["nr"] = struct.unpack_from("i", notif, 16)[0]
        resp = bytearray(struct.pack("QqiI", nid, 0, -errno.ENOSPC, 0))
        fcntl.ioctl(fd, 0xC0182101, resp)  # SECCOMP_IOCTL_NOTIF_SEND
        os.close(fd)

    import os
    t = threading.Thread(target=agent, daemon=True)
    t.start()
    prof = seccomp_profile("SCMP_ACT_NOTIFY")
    prof["listenerPath"] = path
    prof["listenerMetadata"] = "from-the-test"
    hako.config["linux"]["seccomp"] = prof
    hako.set_args("sh", "-c", "mkdir /tmp/y; echo rc=$?")
    r, cid = hako.run()
    t.join(timeout=30)
    srv.close()
    assert "No space left on device" in r.stderr, r.stderr
    assert "rc=1" in r.stdout
    st = seen["state"]
    assert st["fds"] == ["seccompFd"] and st["metadata"] == "from-the-test"
    assert st["state"]["id"] == cid and st["pid"] > 0
    assert seen["nr"] in (83, 258)  # mkdir, mkdirat on x86_64


def test_seccomp_notify_on_hakos_own_syscalls_without_an_agent_fails_and_does_not_hang(hako):
    """A profile that hands read/close/execve to an agent, whose listener path does not exist:
    hako's own last system calls in the container's process (after the filter) would wait for an
    agent that never gets the listener. `run` fails with the listener's error, in bounded time,
    where an init cloned in hako's stopped memory would hang it for good (hako uninterruptible in
    the vfork wait; docs/performance.md, item 13; exec decides the same way)."""
    prof = seccomp_profile("SCMP_ACT_NOTIFY")
    prof["syscalls"][0]["names"] = ["read", "close", "execve", "openat"]
    prof["listenerPath"] = "/nonexistent/agent.sock"
    hako.config["linux"]["seccomp"] = prof
    hako.set_args("true")
    r, cid = hako.run(timeout=30)
    assert r.returncode != 0 and "listenerPath" in r.stderr, r.stderr
    hako.cmd("delete", "-f", cid)


def test_a_profile_refusing_prctl_leaves_created_and_exec_d_processes_alive(hako):
    """A profile that refuses prctl: the process that shared hako's memory clears its
    parent-death signal before the filter, so `create` and `exec -d` exiting does not kill what
    they made. (When the exec stub cleared it, after the filter, the prctl failed quietly and
    the created container died with `create`, a detached exec with `exec`.)"""
    prof = seccomp_profile("SCMP_ACT_ERRNO")
    prof["syscalls"][0]["names"] = ["prctl"]
    hako.config["linux"]["seccomp"] = prof
    marker = unique_sleep()
    hako.set_args("sleep", marker)
    _, cid = hako.create()
    time.sleep(0.3)  # the parent-death signal, had it stayed armed, has been delivered by now
    assert hako.state(cid)["status"] == "created"
    assert hako.cmd("start", cid).returncode == 0
    hako.wait_status(cid, "running")
    second = unique_sleep()
    # Not into pipes: the detached process holds its stdio for as long as it lives.
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "exec", "-d", cid, "sleep", second],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0
    time.sleep(0.3)
    assert processes_with(second), "the detached exec's process died with hako exec"
    assert hako.cmd("delete", "-f", cid).returncode == 0


def test_scheduler_io_priority_affinity_personality(hako):
    p = hako.config["process"]
    p["scheduler"] = {"policy": "SCHED_BATCH", "nice": 7}
    p["ioPriority"] = {"class": "IOPRIO_CLASS_IDLE", "priority": 0}
    p["execCPUAffinity"] = {"initial": "0", "final": "0"}
    hako.config["linux"]["personality"] = {"domain": "LINUX32"}
    hako.set_args("sh", "-c", "cat /proc/self/stat; ionice -p $$; "
                  "grep Cpus_allowed_list /proc/self/status; uname -m")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    fields = lines[0].rsplit(")", 1)[1].split()
    assert fields[19 - 3] == "7", "nice (field 19)"
    assert fields[41 - 3] == "3", "policy (field 41) is SCHED_BATCH"
    assert lines[1].startswith("idle"), lines[1]
    assert lines[2].split() == ["Cpus_allowed_list:", "0"]
    assert lines[3] in ("i686", "i386"), lines[3]


def test_oom_score_adj_and_bad_scheduler(hako):
    hako.config["process"]["oomScoreAdj"] = 123
    hako.set_args("cat", "/proc/self/oom_score_adj")
    r, _ = hako.run()
    assert r.stdout.strip() == "123", r.stderr
    hako.config["process"]["scheduler"] = {"policy": "SCHED_FIFO", "priority": 0}
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "process.scheduler: sched_setattr SCHED_FIFO: Invalid argument" in r.stderr
    assert "priority of 1-99" in r.stderr
    hako.assert_gone(cid)


def test_ambient_capabilities_for_a_non_root_user(hako):
    p = hako.config["process"]
    p["user"] = {"uid": 1000, "gid": 1000}
    caps = ["CAP_NET_BIND_SERVICE", "CAP_KILL"]
    p["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    p["capabilities"]["bounding"] = caps + ["CAP_SYS_ADMN"]
    hako.set_args("grep", "-E", "^Cap(Eff|Amb|Inh|Bnd)", "/proc/self/status")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    f = dict(l.split(":\t") for l in r.stdout.splitlines())
    want = (1 << 10) | (1 << 5)
    for k in ("CapEff", "CapAmb", "CapInh", "CapBnd"):
        assert int(f[k], 16) == want, (k, f[k])
    assert 'unknown capability "CAP_SYS_ADMN" ignored (did you mean CAP_SYS_ADMIN?)' in r.stderr


def test_lsm_labels_on_a_host_without_the_lsm_are_refused_clearly(hako):
    # This host has neither AppArmor nor SELinux (see README); on one that has, they apply.
    cases = [({"apparmorProfile": "docker-default"}, None,
              "process.apparmorProfile: AppArmor is not enabled on this host"),
             ({"selinuxLabel": "system_u:system_r:container_t:s0"}, None,
              "process.selinuxLabel: SELinux is not enabled on this host")]
    for proc, mount_label, message in cases:
        hako.config["process"].pop("apparmorProfile", None)
        hako.config["process"].pop("selinuxLabel", None)
        hako.config["linux"].pop("mountLabel", None)
        hako.config["process"].update(proc)
        if mount_label:
            hako.config["linux"]["mountLabel"] = mount_label
        r, cid = hako.create(check=False)
        assert r.returncode == 1 and message in r.stderr, r.stderr
        hako.assert_gone(cid)
    # A mount label alone confines nothing without SELinux: ignored with a warning (as crun;
    # the OCI validation suite's linux_mount_label expects the container to run).
    hako.config["process"].pop("selinuxLabel", None)
    hako.config["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    hako.set_args("true")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert "linux.mountLabel: ignored, SELinux is not enabled on this host" in r.stderr
    hako.config["linux"].pop("mountLabel", None)
    hako.config["linux"]["intelRdt"] = {"closID": "c1"}
    r, cid = hako.create(check=False)
    assert r.returncode == 1 and "linux.intelRdt: resctrl is not mounted on this host" in r.stderr
    hako.assert_gone(cid)


def test_seccomp_argument_filters(hako):
    # kill(2) refused only when the signal (argument 1) is SIGTERM, or when its low bits say 3.
    hako.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 1,
        "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 15, "op": "SCMP_CMP_EQ"}]},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 1, "value": 0xff, "valueTwo": 3, "op": "SCMP_CMP_MASKED_EQ"}]}]}
    hako.set_args("sh", "-c", "sleep 10 & p=$!; kill -TERM $p; echo term=$?; kill -QUIT $p; "
                  "echo quit=$?; kill -KILL $p; echo kill=$?")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["term=1", "quit=1", "kill=0"], (r.stdout, r.stderr)
    assert "Permission denied" in r.stderr


def _ignore_sigint_and_sighup():
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def test_signals_ignored_by_the_caller_are_default_in_the_container(hako):
    # execve keeps ignored signals: hako resets the ones it inherited (it reads which from
    # /proc once, rather than asking for each of 64), in the init and in an exec'd process.
    hako.set_args("sleep", "30")
    r, cid = hako.create()
    try:
        start = hako.cmd("start", cid)
        assert start.returncode == 0, start.stderr
        ex = hako.cmd("exec", cid, "grep", "^SigIgn:", "/proc/self/status",
                      preexec_fn=_ignore_sigint_and_sighup)
        assert ex.returncode == 0, ex.stderr
        assert ex.stdout.split() == ["SigIgn:", "0000000000000000"], ex.stdout
    finally:
        hako.cmd("delete", "-f", cid)
    # run: the same, through the init.
    hako.set_args("grep", "-E", "^Sig(Ign|Cgt):", "/proc/self/status")
    r, _ = hako.run(preexec_fn=_ignore_sigint_and_sighup)
    assert r.returncode == 0, r.stderr
    assert "SigIgn:\t0000000000000000" in r.stdout, r.stdout
