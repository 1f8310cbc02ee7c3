"""Issue "Process security and hooks": what confines the container's process, seen from inside
and checked on the host."""
from pathlib import Path


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
