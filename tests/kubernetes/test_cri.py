"""Pods on hako through containerd's CRI plugin, driven as the kubelet drives it (tests/kubernetes/
cri.py), and the same tests with runc as the handler: the two must give the same results.

The test starts containerd with its own root, state, socket and a config whose CRI plugin has the
runtime handlers `hako` (runc.v2 shim, BinaryName = build/hako) and `runc`; imports a busybox
image and a pause image built here; and puts every pod's cgroups under a parent of its own. Pods
with their own network namespace get one from Debian's CNI loopback plugin. containerd is
stopped by its pid and everything it made is removed; a test fails on anything left behind.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import grpc
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import HAKO, REPO  # noqa: E402
import images  # noqa: E402
from cri import Cri, pb, stream  # noqa: E402

BUSYBOX = "docker.io/library/hako-busybox:cri"
PAUSE = "registry.local/hako-pause:1"
HANDLERS = ["hako", "runc"]
PARENT = f"/hako-cri-{os.getpid()}"
ROUND = {"hako": 0, "runc": 0}


def wait_for(pred, what, timeout=30, step=0.1):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(step)


class Node:
    """A containerd with the CRI plugin, as on a Kubernetes node."""

    def __init__(self, base):
        self.base = base
        self.sock = base / "containerd.sock"
        cni = base / "cni"
        cni.mkdir()
        # A bridge and veths for pods with their own network: made in containerd's network
        # namespace (below), never the host's; addresses from a directory of ours.
        (cni / "10-pods.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0", "name": "hako-pods", "plugins": [
                {"type": "bridge", "bridge": "hako-cni0", "isGateway": True, "ipMasq": False,
                 "ipam": {"type": "host-local", "dataDir": str(base / "ipam"),
                          "ranges": [[{"subnet": "10.88.77.0/24"}]]}},
                {"type": "loopback"}]}))
        runtimes = ""
        for name, binary in (("hako", HAKO), ("runc", shutil.which("runc"))):
            runtimes += f"""
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}]
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{name}.options]
            BinaryName = "{binary}"
            Root = "{base}/state-{name}"
"""
        (base / "config.toml").write_text(f"""version = 2
root = "{base}/root"
state = "{base}/state"
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  # This machine grants no CAP_SYS_RESOURCE: the pause container's -998 cannot be set (runc and
  # hako both refuse to start it); containerd then keeps every score at or above its own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]{runtimes}
""")
        self.log = open(base / "containerd.log", "w")
        # In a network namespace of its own: "the node's network" is containerd's, so CNI's
        # bridge and the streaming server's port stay off the host (stream() joins it).
        self.proc = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up && exec "
                                      f"containerd --config {base / 'config.toml'}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.netns = f"/proc/{self.proc.pid}/ns/net"
        wait_for(self.sock.exists, "containerd's socket")
        self.cri = Cri(self.sock)
        wait_for(lambda: self._ready(), "the CRI plugin", timeout=60)

    def _ready(self):
        try:
            status = self.cri.runtime("Status", deadline=5)
        except Exception:  # noqa: BLE001 (not serving yet)
            return False
        return any(c.type == "RuntimeReady" and c.status for c in status.status.conditions)

    def ctr(self, *args):
        return subprocess.run(["ctr", "--address", str(self.sock), "-n", "k8s.io", *args],
                              capture_output=True, text=True, check=True, timeout=120)

    def stop(self):
        self.cri.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def mounts_under(base):
    return [l.split()[4] for l in Path("/proc/self/mountinfo").read_text().splitlines()
            if l.split()[4].startswith(str(base))]


@pytest.fixture(scope="module")
def node():
    for p in ("containerd", "ctr", "containerd-shim-runc-v2", "runc", "protoc"):
        assert shutil.which(p), f"{p} missing: scripts/install-deps installs it"
    base = Path(tempfile.mkdtemp(prefix="hako-cri-"))
    base.chmod(0o755)
    made = [d for d in ("/run/containerd", "/run/containerd/s", "/run/containerd/fifo")
            if not Path(d).exists()]
    subprocess.run([str(REPO / "scripts" / "make-bundle"), str(base / "bundle"), str(HAKO)],
                   check=True, capture_output=True)
    pause_root = base / "pause-rootfs"
    pause_root.mkdir()
    subprocess.run(["gcc", "-O2", "-static", "-o", str(pause_root / "pause"),
                    str(Path(__file__).with_name("pause.c"))], check=True)
    n = Node(base)
    try:
        images.oci_archive(base / "bundle" / "rootfs", base / "busybox.tar", BUSYBOX)
        images.oci_archive(pause_root, base / "pause.tar", PAUSE, cmd=("/pause",))
        n.ctr("images", "import", str(base / "busybox.tar"))
        n.ctr("images", "import", str(base / "pause.tar"))
        yield n
        left = n.cri.runtime("ListPodSandbox").items
        for p in left:  # what a failed test left: removed as the kubelet would, then reported
            n.cri.runtime("StopPodSandbox", pod_sandbox_id=p.id)
            n.cri.runtime("RemovePodSandbox", pod_sandbox_id=p.id)
        assert not left, f"pods left: {[p.metadata.name for p in left]}"
    finally:
        n.stop()
        kill_what_is_left(PARENT, str(n.sock))
        mounts = mounts_under(base)
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(base, ignore_errors=True)
        for d in sorted(made, key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass
        for h in Path("/sys/fs/cgroup").iterdir():
            d = h / PARENT.lstrip("/")
            if d.is_dir():
                for sub in sorted([x for x in d.rglob("*") if x.is_dir()] + [d],
                                  key=lambda x: -len(x.parts)):
                    wait_for(lambda: _rmdir(sub), f"rmdir {sub}", timeout=10)
        assert not mounts, f"mounts left under {base}: {mounts}"


def kill_what_is_left(parent, sock):
    """SIGKILL, by pid, what a failed teardown left (all ours): the shims of this containerd
    (their command line names its socket) and every process in a cgroup below the test's
    parent, so that the cgroups can go."""
    pids = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and sock in (proc / "cmdline").read_text():
                pids.add(int(proc.name))
        except OSError:
            pass
    for procs in Path("/sys/fs/cgroup/pids").joinpath(parent.lstrip("/")).rglob("cgroup.procs"):
        pids.update(int(p) for p in procs.read_text().split())
    for pid in pids - {os.getpid()}:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _rmdir(d):
    try:
        d.rmdir()
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True


class Pod:
    """One pod sandbox, as the kubelet makes it."""

    def __init__(self, node, handler, host_network=True, share_pid=False, **linux):
        self.node, self.cri, self.handler = node, node.cri, handler
        ROUND[handler] += 1
        self.name = f"p{ROUND[handler]}-{handler}"
        self.logs = node.base / "logs" / self.name
        self.logs.mkdir(parents=True)
        ns = pb.NamespaceOption(
            network=pb.NODE if host_network else pb.POD,
            pid=pb.POD if share_pid else pb.CONTAINER)
        sec = pb.LinuxSandboxSecurityContext(namespace_options=ns, **linux.pop("security", {}))
        self.config = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=self.name, namespace="default",
                                           uid=uuid.uuid4().hex, attempt=0),
            # The kubelet names a pod's host only when it has a UTS namespace of its own (not
            # with the host's network); runc and hako both refuse a hostname without one.
            hostname="" if host_network else self.name, log_directory=str(self.logs),
            linux=pb.LinuxPodSandboxConfig(cgroup_parent=f"{PARENT}/{self.name}",
                                           security_context=sec, **linux))
        self.id = self.cri.runtime("RunPodSandbox", config=self.config,
                                   runtime_handler=handler).pod_sandbox_id
        self.containers = []

    def status(self):
        return self.cri.runtime("PodSandboxStatus", pod_sandbox_id=self.id).status

    def container(self, name, args, security=None, resources=None, start=True, **kw):
        sec = security or pb.LinuxContainerSecurityContext()
        # As the kubelet: the pod's network and ipc, and the pod's pids only when shared
        # (POD is the enum's zero: an unset pid would put every container in the pause's).
        pod_ns = self.config.linux.security_context.namespace_options
        sec.namespace_options.CopyFrom(pb.NamespaceOption(
            network=pod_ns.network, ipc=pb.POD, pid=pod_ns.pid))
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=0),
            image=pb.ImageSpec(image=BUSYBOX), command=args[:1], args=args[1:],
            log_path=f"{name}.log",
            linux=pb.LinuxContainerConfig(security_context=sec, resources=resources), **kw)
        cid = self.cri.runtime("CreateContainer", pod_sandbox_id=self.id, config=cfg,
                               sandbox_config=self.config).container_id
        self.containers.append(cid)
        if start:
            self.cri.runtime("StartContainer", container_id=cid)
        return cid

    def state(self, cid):
        return self.cri.runtime("ContainerStatus", container_id=cid).status

    def wait_exited(self, cid, timeout=30):
        return wait_for(lambda: (s := self.state(cid)).state == pb.CONTAINER_EXITED and s,
                        f"{cid} to exit", timeout=timeout)

    def exec(self, cid, *cmd, timeout=10):
        return self.cri.runtime("ExecSync", deadline=timeout + 30, container_id=cid,
                                cmd=list(cmd), timeout=timeout)

    def log(self, name):
        p = self.logs / f"{name}.log"
        return p.read_text() if p.exists() else ""

    def remove(self):
        """As the kubelet tears a pod down; then nothing of it may be left."""
        for cid in self.containers:
            self.cri.runtime("StopContainer", container_id=cid, timeout=5)
            self.cri.runtime("RemoveContainer", container_id=cid)
        self.cri.runtime("StopPodSandbox", pod_sandbox_id=self.id)
        self.cri.runtime("RemovePodSandbox", pod_sandbox_id=self.id)
        self.check_gone()

    def check_gone(self):
        root = self.node.base / f"state-{self.handler}" / "k8s.io"
        ours = {self.id, *self.containers}
        left = [p.name for p in root.iterdir() if p.name in ours] if root.exists() else []
        assert not left, f"{self.handler} state left: {left}"
        for h in ("pids", "memory"):
            d = Path("/sys/fs/cgroup") / h / PARENT.lstrip("/") / self.name
            if d.exists():
                assert not [x for x in d.iterdir() if x.is_dir()], f"cgroups left in {d}"


@pytest.fixture
def pods(node):
    made = []

    def make(handler, **kw):
        p = Pod(node, handler, **kw)
        made.append(p)
        return p

    yield make
    errors = []
    for p in made:  # every pod, even when one of them fails its checks
        try:
            p.remove()
        except Exception as e:  # noqa: BLE001 (reported below, after the others are gone)
            errors.append(f"{p.name}: {e}")
    assert not errors, errors


def lines(log):
    """The CRI log format: `<RFC 3339 time> <stream> <P|F> <text>` per line."""
    out = []
    for line in log.splitlines():
        ts, stream_, tag, text = (line.split(" ", 3) + [""])[:4]
        assert ts.endswith("Z") and "T" in ts and stream_ in ("stdout", "stderr") and \
            tag in ("P", "F"), line
        out.append((stream_, text))
    return out


@pytest.mark.parametrize("handler", HANDLERS)
def test_pod_lifecycle_exec_logs_stats_update(pods, handler):
    pod = pods(handler)
    assert pod.status().state == pb.SANDBOX_READY
    cid = pod.container("main", ["sh", "-c", "echo out; echo err >&2; exec sleep 300"])
    assert pod.state(cid).state == pb.CONTAINER_RUNNING
    wait_for(lambda: len(lines(pod.log("main"))) >= 2, "two log lines")
    assert sorted(lines(pod.log("main"))) == [("stderr", "err"), ("stdout", "out")]
    r = pod.exec(cid, "sh", "-c", "echo to-out; echo to-err >&2; exit 7")
    assert (r.stdout, r.stderr, r.exit_code) == (b"to-out\n", b"to-err\n", 7)
    with pytest.raises(grpc.RpcError) as timed_out:
        pod.exec(cid, "sleep", "30", timeout=1)
    assert timed_out.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # Streaming exec through containerd's streaming server (websocket, as kubectl exec; v4 of
    # the protocol cannot close stdin, so the command reads one line).
    url = pod.cri.runtime("Exec", container_id=cid, cmd=["sh", "-c", "read x; echo $x; echo e >&2; exit 3"],
                          stdin=True, stdout=True, stderr=True).url
    out, err, code = stream(url, stdin=b"piped\n", netns=pod.node.netns)
    assert (out, err, code) in ((b"piped\n", b"e\n", 3),), (out, err, code)
    stats = pod.cri.runtime("ContainerStats", container_id=cid).stats
    assert stats.memory.working_set_bytes.value > 0 and stats.cpu.usage_core_nano_seconds.value > 0
    listed = pod.cri.runtime("ListContainerStats").stats
    assert cid in [s.attributes.id for s in listed]
    pod.cri.runtime("UpdateContainerResources", container_id=cid,
                    linux=pb.LinuxContainerResources(memory_limit_in_bytes=64 << 20,
                                                     cpu_shares=512))
    r = pod.exec(cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                 "/sys/fs/cgroup/cpu/cpu.shares")
    assert r.stdout.split() == [str(64 << 20).encode(), b"512"], r
    # ReopenContainerLog: the kubelet's log rotation; the new file gets what follows.
    (pod.logs / "main.log").rename(pod.logs / "main.log.1")
    pod.cri.runtime("ReopenContainerLog", container_id=cid)
    pod.exec(cid, "sh", "-c", "echo after-rotation > /proc/1/fd/1")
    wait_for(lambda: ("stdout", "after-rotation") in lines(pod.log("main")), "the reopened log")
    # Graceful stop: TERM reaches the process (sh traps it); then the timeout's kill.
    t0 = time.time()
    pod.cri.runtime("StopContainer", container_id=cid, timeout=2)
    st = pod.state(cid)
    assert st.state == pb.CONTAINER_EXITED and time.time() - t0 < 20
    assert st.exit_code == 137, "sleep ignores nothing: TERM as PID 1 needs a handler, so KILL"


@pytest.mark.parametrize("handler", HANDLERS)
def test_pod_shares_network_ipc_and_pids(pods, handler):
    pod = pods(handler, host_network=False, share_pid=True)
    assert pod.status().state == pb.SANDBOX_READY
    a = pod.container("a", ["sh", "-c", "echo marker-a > /dev/shm/a; exec sleep 300"])
    b = pod.container("b", ["sleep", "301"])
    wait_for(lambda: pod.exec(b, "cat", "/dev/shm/a").stdout == b"marker-a\n",
             "b to see a's /dev/shm (the pod's ipc)")
    ps = pod.exec(b, "ps", "-o", "pid,args").stdout.decode()
    assert "/pause" in ps and "sleep 300" in ps and "sleep 301" in ps, ps
    net_a = pod.exec(a, "readlink", "/proc/self/ns/net").stdout
    net_b = pod.exec(b, "readlink", "/proc/self/ns/net").stdout
    assert net_a == net_b != Path("/proc/self/ns/net").resolve().name.encode()
    host_net = os.readlink("/proc/self/ns/net").encode()
    assert net_a.strip() != host_net, "the pod has a network namespace of its own"
    assert b"lo" in pod.exec(a, "ip", "link").stdout
    assert pod.exec(a, "hostname").stdout.strip() == pod.name.encode()


@pytest.mark.parametrize("handler", HANDLERS)
def test_security_context_as_the_kubelet_sends_it(pods, handler):
    pod = pods(handler, sysctls={"kernel.shm_rmid_forced": "1"})
    sec = pb.LinuxContainerSecurityContext(
        run_as_user=pb.Int64Value(value=1000), run_as_group=pb.Int64Value(value=1000),
        readonly_rootfs=True, capabilities=pb.Capability(drop_capabilities=["ALL"]),
        seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault),
        no_new_privs=True, masked_paths=["/proc/timer_list"], readonly_paths=["/proc/sys"])
    cid = pod.container("restricted", ["sleep", "300"], security=sec)
    r = pod.exec(cid, "sh", "-c", "id -u; id -g; grep CapEff /proc/self/status; "
                 "grep NoNewPrivs /proc/self/status; grep Seccomp: /proc/self/status; "
                 "touch /x 2>&1; cat /proc/sys/kernel/shm_rmid_forced; wc -c < /proc/timer_list")
    out = r.stdout.decode().splitlines()
    assert out[0:2] == ["1000", "1000"], out
    assert out[2].split()[1] == "0000000000000000", out
    assert out[3].split()[1] == "1" and out[4].split()[1] == "2", out
    assert "Read-only file system" in out[5], out
    assert out[6:8] == ["1", "0"], (out, r.stderr)
    # A privileged container needs a privileged pod (the kubelet marks the sandbox so).
    priv_pod = pods(handler, security={"privileged": True})
    priv = priv_pod.container("privileged", ["sleep", "300"],
                         security=pb.LinuxContainerSecurityContext(privileged=True))
    r = priv_pod.exec(priv, "sh", "-c", "grep CapEff /proc/self/status; ls /dev | wc -l")
    cap, ndev = r.stdout.decode().split("\n")[:2]
    assert cap.split()[1] != "0000000000000000" and int(ndev) > 10, r.stdout


@pytest.mark.parametrize("handler", HANDLERS)
def test_exit_codes_and_oom_are_reported(pods, handler):
    pod = pods(handler)
    bad = pod.container("fails", ["sh", "-c", "exit 42"])
    st = pod.wait_exited(bad)
    assert (st.exit_code, st.reason) == (42, "Error"), st
    oom = pod.container("oom", ["sh", "-c", "tail /dev/zero"],
                        resources=pb.LinuxContainerResources(memory_limit_in_bytes=16 << 20))
    st = pod.wait_exited(oom, timeout=60)
    assert (st.exit_code, st.reason) == (137, "OOMKilled"), st


@pytest.mark.parametrize("handler", HANDLERS)
def test_attach_and_the_runtime_as_listed(pods, handler):
    pod = pods(handler)
    cid = pod.container("talker", ["sh", "-c", "read x; echo got-$x; echo bye >&2"], stdin=True,
                        stdin_once=True)
    url = pod.cri.runtime("Attach", container_id=cid, stdin=True, stdout=True,
                          stderr=True).url
    out, err, code = stream(url, stdin=b"hi\n", netns=pod.node.netns)
    assert (out, err, code) == (b"got-hi\n", b"bye\n", 0), (out, err, code)
    st = pod.wait_exited(cid)
    assert (st.exit_code, st.reason) == (0, "Completed"), st
    listed = pod.cri.runtime("ListContainers", filter=pb.ContainerFilter(
        pod_sandbox_id=pod.id)).containers
    assert [c.id for c in listed] == [cid] and listed[0].state == pb.CONTAINER_EXITED
    v = pod.cri.runtime("Version", version="v1")
    assert v.runtime_name == "containerd" and v.runtime_api_version == "v1"


@pytest.mark.parametrize("handler", HANDLERS)
def test_graceful_stop_reaches_the_process(pods, handler):
    pod = pods(handler)
    cid = pod.container("graceful", ["sh", "-c", "trap 'echo term; exit 0' TERM; "
                                     "while true; do sleep 0.1; done"])
    t0 = time.time()
    pod.cri.runtime("StopContainer", container_id=cid, timeout=30)
    st = pod.state(cid)
    assert (st.state, st.exit_code) == (pb.CONTAINER_EXITED, 0), st
    assert time.time() - t0 < 10, "TERM ended it, not the timeout's KILL"
    wait_for(lambda: ("stdout", "term") in lines(pod.log("graceful")), "the trap's output")
