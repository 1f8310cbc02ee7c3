"""`hako run`: what a container sees from inside, and what the host sees after."""
import os
import signal
import subprocess
import time
from pathlib import Path

from conftest import HAKO, cgroup_dirs


def host_ns(kind):
    return os.readlink(f"/proc/self/ns/{kind}")


def test_container_is_isolated(hako):
    hako.set_args("sh", "-c", "hostname; id -u; echo $$; "
                  "for n in pid net ipc uts mnt cgroup user; do readlink /proc/self/ns/$n; done")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0] == "hako"
    assert lines[1] == "0"
    assert lines[2] == "1", "the process must be pid 1 of its pid namespace"
    inside = dict(zip(["pid", "net", "ipc", "uts", "mnt", "cgroup", "user"], lines[3:]))
    for kind in ["pid", "net", "ipc", "uts", "mnt", "cgroup"]:
        assert inside[kind] != host_ns(kind), f"{kind} namespace is the host's"
    assert inside["user"] == host_ns("user"), "no user namespace was asked for"


def test_exit_status_is_the_containers(hako):
    hako.set_args("sh", "-c", "exit 7")
    r, cid = hako.run()
    assert r.returncode == 7, r.stderr
    hako.assert_gone(cid)


def test_signals_are_forwarded_and_exit_is_128_plus_signal(hako):
    # Without a pid namespace `sleep` is not an init, so SIGTERM kills it.
    hako.config["linux"]["namespaces"] = [n for n in hako.config["linux"]["namespaces"]
                                          if n["type"] != "pid"]
    hako.set_args("sleep", "30")
    cid = hako.new_id()
    hako.write_config(cid)
    p = subprocess.Popen([str(HAKO), "--root", str(hako.root), "run", "-b", str(hako.bundle), cid],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if (hako.root / cid / "state.json").exists() and hako.state(cid)["status"] == "running":
            break
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 128 + signal.SIGTERM, err
    hako.assert_gone(cid)


def test_mounts_as_the_spec_asks(hako):
    hako.set_args("cat", "/proc/self/mountinfo")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    mounts = {}
    for line in r.stdout.splitlines():
        left, right = line.split(" - ")
        f = left.split()
        fstype, source, sopts = right.split()
        mounts[f[4]] = (f[5], fstype, sopts, f[3])
    assert mounts["/"][0].startswith("ro"), "root.readonly"
    assert mounts["/proc"][1] == "proc"
    assert mounts["/dev"][1] == "tmpfs" and "mode=755" in mounts["/dev"][2]
    assert mounts["/dev/pts"][1] == "devpts"
    assert "gid=5" in mounts["/dev/pts"][2] and "mode=620" in mounts["/dev/pts"][2]
    assert "ptmxmode=666" in mounts["/dev/pts"][2]
    assert "nodev" in mounts["/dev/shm"][0] and "size=65536k" in mounts["/dev/shm"][2]
    assert mounts["/sys"][0].startswith("ro")
    assert mounts["/proc/sys"][0].startswith("ro"), "readonlyPaths"
    assert mounts["/proc/keys"][1] == "tmpfs", "maskedPaths: a file is masked with /dev/null"
    assert mounts["/proc/acpi"][1] == "tmpfs" and mounts["/proc/acpi"][0].startswith("ro")


def test_masked_and_readonly_paths_hold(hako):
    hako.set_args("sh", "-c", "wc -c < /proc/keys; ls /proc/acpi | wc -l; "
                  "echo 1 > /proc/sys/kernel/ns_last_pid && echo WROTE; touch /x && echo TOUCHED; "
                  "echo done")
    r, _ = hako.run()
    out = r.stdout.split()
    assert out[0] == "0" and out[1] == "0"
    assert "WROTE" not in out and "TOUCHED" not in out
    assert out[-1] == "done"


def test_default_devices_and_links(hako):
    hako.set_args("sh", "-c", "for d in null zero full random urandom tty; do ls -ln /dev/$d; done; "
                  "for l in fd stdin ptmx; do readlink /dev/$l; done; echo x > /dev/null && echo ok")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for line, (major, minor) in zip(lines, [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0)]):
        assert line.startswith("crw-rw-rw-"), line
        assert f"{major}, {minor:>3}" in line or f"{major},   {minor}" in line or \
            f"{major}, {minor}" in line, line
    assert lines[6:9] == ["/proc/self/fd", "/proc/self/fd/0", "pts/ptmx"]
    assert lines[9] == "ok"


def test_cgroup_namespace_sees_its_own_cgroup_as_root(hako):
    hako.set_args("sh", "-c", "cat /proc/self/cgroup; echo ---; grep cgroup /proc/self/mountinfo")
    r, cid = hako.run()
    assert r.returncode == 0, r.stderr
    cg, mi = r.stdout.split("---\n")
    for line in cg.split():
        assert line.endswith(":/"), f"/proc/self/cgroup shows {line}, not /"
    cgroup_mounts = [l for l in mi.splitlines() if " - cgroup" in l]
    assert cgroup_mounts, "no fresh cgroup mounts in the container"
    for line in cgroup_mounts:
        assert line.split()[3] == "/", f"cgroup mount root is not /: {line}"
        assert line.split()[5].startswith("ro"), line


def test_container_is_in_its_cgroups_on_the_host(hako):
    hako.set_args("sleep", "30")
    _, cid = hako.create()
    pid = hako.state(cid)["pid"]
    dirs = cgroup_dirs(hako.cgroup_path(cid))
    assert dirs
    for d in dirs:
        procs = (d / "cgroup.procs").read_text().split()
        assert str(pid) in procs, f"init not in {d}"
    r = hako.cmd("delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    hako.assert_gone(cid, pid)


def test_process_user_env_cwd(hako):
    p = hako.config["process"]
    p["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5, 7], "umask": 0o077}
    p["env"].append("GREETING=hello there")
    p["cwd"] = "/tmp"
    p["args"] = ["sh", "-c", "id; echo \"$GREETING\"; pwd; umask; echo $HOME"]
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("uid=1000 gid=1000 groups=")
    assert "5(tty)" in lines[0] and "7" in lines[0]
    assert lines[1:4] == ["hello there", "/tmp", "0077"]
    assert lines[4] == "/"


def test_capabilities_and_no_new_privs(hako):
    hako.set_args("grep", "-E", "^(CapEff|CapBnd|NoNewPrivs)", "/proc/self/status")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    fields = dict(l.split(":\t") for l in r.stdout.splitlines())
    # CAP_KILL(5), CAP_NET_BIND_SERVICE(10), CAP_AUDIT_WRITE(29)
    want = (1 << 5) | (1 << 10) | (1 << 29)
    assert int(fields["CapBnd"], 16) == want
    assert int(fields["CapEff"], 16) == want
    assert fields["NoNewPrivs"] == "1"


def test_rlimits_apply(hako):
    hako.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 512, "soft": 256}]
    hako.set_args("sh", "-c", "ulimit -n; ulimit -Hn")
    r, _ = hako.run()
    assert r.stdout.split() == ["256", "512"], r.stderr


def test_bind_mount_readonly(hako, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "file").write_text("from the host\n")
    hako.config["mounts"].append({"destination": "/mnt/data", "type": "bind", "source": str(data),
                                  "options": ["rbind", "ro"]})
    hako.set_args("sh", "-c", "cat /mnt/data/file; touch /mnt/data/new 2>/dev/null || echo denied")
    r, _ = hako.run()
    assert r.stdout.splitlines() == ["from the host", "denied"], r.stderr
    assert not (data / "new").exists()


def test_tmpfs_bind_and_devices_from_config(hako):
    hako.config["linux"]["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                        "fileMode": 0o600, "uid": 1000, "gid": 1000}]
    hako.set_args("sh", "-c", "ls -ln /dev/mynull")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("crw-------") and " 1000 " in r.stdout


def test_no_network_but_loopback(hako):
    hako.set_args("sh", "-c", "ls /sys/class/net")
    r, _ = hako.run()
    assert r.stdout.split() == ["lo"], r.stdout


def test_time_namespace_offsets(hako):
    hako.config["linux"]["namespaces"].append({"type": "time"})
    hako.config["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0},
                                           "monotonic": {"secs": 86400 * 365}}
    hako.set_args("cat", "/proc/uptime")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert float(r.stdout.split()[0]) > 86400 * 365
    assert float(Path("/proc/uptime").read_text().split()[0]) < 86400 * 365


def test_user_namespace_maps_and_host_view(hako):
    c = hako.config
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    hako.set_args("sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; sleep 30")
    before = os.stat("/dev/null")
    r, cid = hako.create(check=True)
    pid = hako.state(cid)["pid"]
    status = Path(f"/proc/{pid}/status").read_text()
    uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0]
    assert uid_line.split()[1:] == ["200000"] * 4, uid_line
    hako.cmd("delete", "--force", cid)
    after = os.stat("/dev/null")
    assert (before.st_uid, before.st_gid, before.st_mode) == (after.st_uid, after.st_gid,
                                                              after.st_mode), \
        "the host's /dev/null changed"


def test_user_namespace_output(hako):
    c = hako.config
    c["linux"]["namespaces"].append({"type": "user"})
    c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    hako.set_args("sh", "-c", "cat /proc/self/uid_map; id -u; ls -ln /dev/null")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["0", "200000", "65536"]
    assert lines[1] == "0"
    assert lines[2].startswith("crw-rw-rw-")


def test_joining_another_containers_namespaces(hako):
    hako.set_args("sleep", "30")
    _, first = hako.create()
    pid = hako.state(first)["pid"]
    ns = hako.config["linux"]["namespaces"]
    for n in ns:
        if n["type"] in ("network", "ipc", "pid"):
            n["path"] = f"/proc/{pid}/ns/" + {"network": "net"}.get(n["type"], n["type"])
    hako.set_args("sh", "-c", "for n in net ipc pid; do readlink /proc/self/ns/$n; done")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    want = [os.readlink(f"/proc/{pid}/ns/{k}") for k in ("net", "ipc", "pid")]
    assert r.stdout.split() == want
