"""Checkpoint and restore with CRIU: these run in the cgroup v2 VM lane (`scripts/test-vm`),
whose kernel (Debian's 6.1) Debian's criu 3.17 can work with; on this machine's kernel criu
cannot start (tests/integration/test_criu_host.py checks what hako says then).

A counter container (it prints 0, 1, 2... to a file) is checkpointed and restored, and each test
checks what the restored container prints, what its state and cgroup are, and that failures
leave nothing behind.
"""
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_clients import podman, public_base  # noqa: E402,F401  (fixtures)

V2 = Path("/sys/fs/cgroup")
# The modules criu's checks and dumps need; the VM's init makes the kernel load the rest on
# demand (its modprobe helper).
MODULES = ["nf_conntrack_netlink", "crc32c_generic", "af_packet_diag", "nf_tables",
           "netlink_diag", "unix_diag", "inet_diag", "tcp_diag", "udp_diag", "tun", "veth"]

pytestmark = pytest.mark.skipif(not Path("/run/vm-out").is_dir() or
                                not (V2 / "cgroup.controllers").exists(),
                                reason="needs the cgroup v2 VM: scripts/test-vm")

COUNTER = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done"


@pytest.fixture(scope="module", autouse=True)
def criu_ready():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for m in MODULES:
        subprocess.run(["busybox", "modprobe", m], capture_output=True)
    r = subprocess.run(["criu", "check"], capture_output=True, text=True)
    assert r.returncode == 0 and "Looks good" in r.stdout + r.stderr, r.stdout + r.stderr
    from conftest import HAKO
    doctor = subprocess.run([str(HAKO), "doctor"], capture_output=True, text=True).stdout
    assert "criu: `criu check` passes" in doctor, doctor


class Output:
    """A pipe the container writes its stdout and stderr to (as a client's is), read by a
    thread of ours: what the container has printed so far."""

    def __init__(self):
        import os
        import threading
        self.r, self.w = os.pipe()
        self.data = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        import os
        while True:
            chunk = os.read(self.r, 4096)
            if not chunk:
                return
            self.data += chunk

    def given(self):
        """The write end has been handed to a child: close ours, so EOF means it is gone."""
        import os
        if self.w >= 0:
            os.close(self.w)
            self.w = -1

    def numbers(self):
        return [int(x) for x in self.data.decode(errors="replace").split() if x.isdigit()]

    def text(self):
        return self.data.decode(errors="replace")


def wait_count(out, above, timeout=20):
    """Wait until the container has printed a number greater than `above`; the numbers."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        n = out.numbers()
        if n and n[-1] > above:
            return n
        time.sleep(0.05)
    raise AssertionError(f"the count never went past {above}: {out.text()[-300:]}")


class Criu:
    """hako's checkpoint / restore around the conftest `hako` fixture."""

    def __init__(self, hako, tmp_path):
        self.h = hako
        self.tmp = tmp_path
        hako.config["process"]["args"] = ["sh", "-c", COUNTER]

    def run_detached(self, cid, out):
        self.h.write_config(cid)
        r = subprocess.run([str(self.h_path()), "--root", str(self.h.root), "run", "-d", "-b",
                            str(self.h.bundle), cid], stdin=subprocess.DEVNULL, stdout=out.w,
                           stderr=out.w, timeout=60)
        out.given()
        assert r.returncode == 0, out.text()

    def h_path(self):
        from conftest import HAKO
        return HAKO

    def run_and_dump(self, cid, out, images):
        """A counter run detached until it has counted past 2, then checkpointed (it must
        succeed); the last number it printed."""
        self.run_detached(cid, out)
        wait_count(out, 2)
        r = self.checkpoint(cid, images)
        assert r.returncode == 0, r.stderr
        out.thread.join(timeout=10)
        return out.numbers()[-1]

    def checkpoint(self, cid, images, *flags):
        return self.h.cmd("checkpoint", "--image-path", str(images), *flags, cid, timeout=120)

    def restore(self, cid, images, out, *flags):
        """`restore -d`; the restored init's stdout and stderr are the pipe of `out`."""
        self.h.write_config(cid)
        with open(self.tmp / f"{cid}.restore.err", "w+") as e:
            r = subprocess.run([str(self.h_path()), "--root", str(self.h.root), "restore", "-d",
                                "--image-path", str(images), "-b", str(self.h.bundle), *flags,
                                cid], stdin=subprocess.DEVNULL, stdout=out.w, stderr=e,
                               timeout=120)
            out.given()
            e.seek(0)
            return subprocess.CompletedProcess(r.args, r.returncode, "", e.read())


@pytest.fixture
def criu(hako, tmp_path):
    return Criu(hako, tmp_path)


def cgroup_of(hako, cid):
    return V2 / hako.cgroup_path(cid).lstrip("/")


def test_a_counter_restored_counts_on_from_where_it_stopped(criu, hako, tmp_path):
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_detached(cid, out)
    wait_count(out, 5)
    t0 = time.time()
    r = criu.checkpoint(cid, images)
    dumped = time.time() - t0
    assert r.returncode == 0, r.stderr
    # As runc: the checkpointed container is gone, its cgroup too.
    assert not (hako.root / cid).exists() and not cgroup_of(hako, cid).exists()
    out.thread.join(timeout=10)
    assert not out.thread.is_alive(), "nothing of the container is left to write to its pipe"
    last = out.numbers()[-1]
    assert json.loads((images / "descriptors.json").read_text())[1].startswith("pipe:[")

    out = Output()
    t0 = time.time()
    r = criu.restore(cid, images, out)
    restored = time.time() - t0
    assert r.returncode == 0, r.stderr
    n = wait_count(out, last + 3)
    assert n[:3] == [last + 1, last + 2, last + 3], "it went on from its own count, in a new pipe"
    st = hako.state(cid)
    assert st["status"] == "running"
    pid = st["pid"]
    assert str(pid) in (cgroup_of(hako, cid) / "cgroup.procs").read_text().split()
    r = hako.cmd("exec", cid, "cat", "/proc/self/cgroup")
    assert r.returncode == 0 and r.stdout.strip() == "0::/", (r.stdout, r.stderr)
    print(f"checkpoint {dumped:.2f}s, restore {restored:.2f}s (TCG VM)")
    assert hako.cmd("delete", "--force", cid).returncode == 0


def test_leave_running_then_restore_into_a_new_id(criu, hako, tmp_path):
    out, images = Output(), tmp_path / "images"
    first = hako.new_id()
    criu.run_detached(first, out)
    wait_count(out, 3)
    r = criu.checkpoint(first, images, "--leave-running")
    assert r.returncode == 0, r.stderr
    assert hako.state(first)["status"] == "running"
    at_dump = out.numbers()[-1]
    wait_count(out, at_dump + 3)  # the first one goes on

    second, out2 = hako.new_id(), Output()
    r = criu.restore(second, images, out2)
    assert r.returncode == 0, r.stderr
    n = wait_count(out2, at_dump + 2)
    assert n[0] <= at_dump + 2, "the copy starts from the dump's count, not from 0"
    assert hako.state(second)["status"] == "running"
    assert cgroup_of(hako, second).is_dir()
    pid = hako.state(second)["pid"]
    assert str(pid) in (cgroup_of(hako, second) / "cgroup.procs").read_text().split(), \
        "restored into the new id's own cgroup"
    assert hako.state(first)["pid"] != pid


def test_pre_dump_then_dump(criu, hako, tmp_path):
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_detached(cid, out)
    wait_count(out, 3)
    r = criu.checkpoint(cid, images / "pre", "--pre-dump")
    assert r.returncode == 0, r.stderr
    assert hako.state(cid)["status"] == "running", "a pre-dump leaves it running"
    r = criu.checkpoint(cid, images / "full", "--parent-path", "../pre")
    assert r.returncode == 0, r.stderr
    out.thread.join(timeout=10)
    last, out = out.numbers()[-1], Output()
    r = criu.restore(cid, images / "full", out)
    assert r.returncode == 0, r.stderr
    assert wait_count(out, last + 2)[0] == last + 1


def test_a_bind_mount_and_a_tmpfs_survive(criu, hako, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "from-host").write_text("hello\n")
    hako.bind_dir(shared, "/shared")
    hako.config["mounts"].append({"destination": "/scratch", "type": "tmpfs",
                                  "source": "tmpfs", "options": ["size=1m"]})
    hako.config["process"]["args"] = [
        "sh", "-c", "echo kept > /scratch/note; " + COUNTER.replace(
            "echo $i;", "echo $i; echo $(cat /scratch/note /shared/from-host) $i > /shared/seen;")]
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    last = criu.run_and_dump(cid, out, images)
    r = criu.restore(cid, images, Output())
    assert r.returncode == 0, r.stderr
    deadline = time.time() + 20
    while True:
        seen = (shared / "seen").read_text().split()
        if len(seen) == 3 and int(seen[2]) > last + 1:
            break
        assert time.time() < deadline, f"the restored container never wrote past {last}: {seen}"
        time.sleep(0.05)
    assert seen[:2] == ["kept", "hello"], \
        "the tmpfs's file came back, and the bind mount is the host's directory"


def private_rootfs(hako, base):
    """A copy of the busybox rootfs, in `base`, this test may plant things in."""
    private = base / "rootfs"
    shutil.copytree(hako.config["root"]["path"], private, symlinks=True)
    hako.config["root"]["path"] = str(private)
    hako.config["root"]["readonly"] = False
    return private


def host_mounts():
    return Path("/proc/self/mountinfo").read_text()


def test_a_bind_mount_whose_destination_is_a_symlink(criu, hako, tmp_path):
    """runc's checkpoint.bats case: /conf is a symlink to /real/conf in the rootfs; the bind
    mount is found where it is mounted and restored there."""
    private = private_rootfs(hako, tmp_path)
    (private / "real" / "conf").mkdir(parents=True)
    (private / "conf").symlink_to("/real/conf")
    shared = tmp_path / "shared"
    shared.mkdir()
    hako.bind_dir(shared, "/conf")
    hako.config["process"]["args"] = [
        "sh", "-c", COUNTER.replace("echo $i;", "echo $i; echo $i > /real/conf/seen;")]
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    last = criu.run_and_dump(cid, out, images)
    r = criu.restore(cid, images, Output())
    assert r.returncode == 0, r.stderr
    deadline = time.time() + 20
    while int((shared / "seen").read_text() or -1) <= last + 1:
        assert time.time() < deadline, "the restored container never wrote to the bind mount"
        time.sleep(0.05)


def test_a_destination_turned_into_a_symlink_out_of_the_root_changes_nothing_on_the_host(
        criu, hako, tmp_path):
    """The container's owner swaps the bind's mountpoint for a symlink to a host directory
    between checkpoint and restore: criu restores in a mount namespace of its own, so whatever
    it follows, nothing is mounted on the host and the host's directory is untouched."""
    private = private_rootfs(hako, tmp_path)
    (private / "real" / "conf").mkdir(parents=True)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "planted").write_text("from the bind\n")
    hako.bind_dir(shared, "/real/conf")
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_and_dump(cid, out, images)
    victim = tmp_path / "victim"
    (victim / "conf").mkdir(parents=True)
    (victim / "conf" / "mine").write_text("host\n")
    shutil.rmtree(private / "real")
    (private / "real").symlink_to(victim)
    r = criu.restore(cid, images, Output())
    assert str(victim) not in host_mounts(), "a restore mounted on the host"
    assert sorted(p.name for p in (victim / "conf").iterdir()) == ["mine"]
    assert "criu-root" not in host_mounts()
    if r.returncode == 0:
        assert hako.cmd("delete", "--force", cid).returncode == 0
    hako.assert_gone(cid)
    assert str(victim) not in host_mounts() and "criu-root" not in host_mounts()


def test_hako_killed_mid_restore_leaves_what_delete_force_removes(criu, hako, tmp_path):
    """A fault point: hako SIGKILLed while criu waits for its answer at setup-namespaces (a
    prestart hook kills its parent, hako). criu gives up on the closed socket; what is left is
    a state that `delete -f` removes with the cgroup, and nothing is mounted on the host."""
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_and_dump(cid, out, images)
    hako.config["hooks"] = {"prestart": [{"path": "/bin/sh",
                                          "args": ["sh", "-c", "kill -9 $PPID"]}]}
    r = criu.restore(cid, images, Output())
    assert r.returncode == -9, r.stderr
    assert "criu-root" not in host_mounts()
    deadline = time.time() + 30
    while True:  # criu ends once it sees hako's end of the socket closed
        procs = cgroup_of(hako, cid) / "cgroup.procs"
        left = procs.read_text().split() if procs.exists() else []
        if not any("criu" in Path(f"/proc/{p}/comm").read_text() for p in left
                   if Path(f"/proc/{p}/comm").exists()):
            break
        assert time.time() < deadline, f"criu still running in the cgroup: {left}"
        time.sleep(0.1)
    assert hako.cmd("delete", "--force", cid).returncode == 0
    hako.assert_gone(cid)
    assert not cgroup_of(hako, cid).exists()


def lazy_checkpoint(criu, hako, cid, images, port):
    """`checkpoint --lazy-pages` in the background, serving the pages on `port`; returns it
    once criu says (a \\0 on --status-fd) that it serves them."""
    import os
    r, w = os.pipe()
    p = subprocess.Popen([str(criu.h_path()), "--root", str(hako.root), "checkpoint",
                          "--lazy-pages", "--page-server", f"127.0.0.1:{port}", "--status-fd",
                          str(w), "--image-path", str(images), cid], pass_fds=(w,),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(criu.tmp / f"{cid}.lazy.err", "w"))
    os.close(w)
    import select
    ready, _, _ = select.select([r], [], [], 60)
    got = os.read(r, 1) if ready else b"?"
    assert got == b"\0", (got, (criu.tmp / f"{cid}.lazy.err").read_text())
    assert os.read(r, 1) == b"", "hako closed its copy of the status fd"
    os.close(r)
    return p


def test_lazy_pages_migration(criu, hako, tmp_path):
    """runc's lazy migration: the dump serves its pages on a port; `criu lazy-pages` fetches
    them for `restore --lazy-pages`; the restored container counts on and the dumped one is
    gone once the last page has moved."""
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_detached(cid, out)
    wait_count(out, 2)
    images.mkdir()
    ckpt = lazy_checkpoint(criu, hako, cid, images, 27277)
    lazy = subprocess.Popen(["criu", "lazy-pages", "--page-server", "--address", "127.0.0.1",
                             "--port", "27277", "-D", str(images)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        other, out2 = hako.new_id(), Output()
        r = criu.restore(other, images, out2, "--lazy-pages", "--work-path", str(images))
        assert r.returncode == 0, r.stderr
        assert ckpt.wait(timeout=120) == 0, (tmp_path / f"{cid}.lazy.err").read_text()
        assert lazy.wait(timeout=60) == 0
        last = out.numbers()[-1]
        assert wait_count(out2, last + 3)[0] > last - 5, "it counts on from the dumped count"
        assert not (hako.root / cid).exists(), "the dumped container is gone"
        assert hako.state(other)["status"] == "running"
    finally:
        for p in (ckpt, lazy):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_a_lazy_checkpoint_killed_leaves_what_delete_force_removes(criu, hako, tmp_path):
    """A lazy dump lasts until its pages are fetched, its tasks held by criu's page server.
    `delete -f` meanwhile is not blocked by the checkpoint (which lets go of the state's lock
    while criu works; the held init may not die yet: criu still traces it). Killing hako's
    checkpoint ends criu too (its parent-death signal), and delete -f then removes all."""
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_detached(cid, out)
    wait_count(out, 2)
    images.mkdir()
    ckpt = lazy_checkpoint(criu, hako, cid, images, 27278)
    try:
        children = Path(f"/proc/{ckpt.pid}/task/{ckpt.pid}/children").read_text().split()
        assert children, "criu is hako's child"
        hako.cmd("delete", "--force", cid, timeout=30)  # returns: no wait for the lock
    finally:
        ckpt.kill()
        ckpt.wait()
    deadline = time.time() + 20
    while any(Path(f"/proc/{c}").exists() and
              Path(f"/proc/{c}/stat").read_text().split(")")[-1].split()[0] not in "ZX"
              for c in children):
        assert time.time() < deadline, f"criu {children} outlived hako"
        time.sleep(0.1)
    r = hako.cmd("delete", "--force", cid, timeout=30)
    assert r.returncode == 0 or "does not exist" in r.stderr, r.stderr
    hako.assert_gone(cid)


@pytest.fixture
def request_cleanup():
    """Callables run after the test (after the hako fixture's own teardown is not promised)."""
    done = []
    yield done
    for f in done:
        f()


def test_a_container_in_a_user_namespace_is_checkpointed(criu, hako, tmp_path, request_cleanup):
    """In a user namespace hako binds the host's device nodes (no mknod there) and masks files
    with that /dev/null: criu must be told they are external (it refused the dump before:
    "./proc/timer_list doesn't have a proper root mount"). The restore then fails in criu 3.17
    (its restored tasks, uid 100000 on the host, cannot read the root-owned images); either
    way it leaves nothing behind."""
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="hako-criu-userns-"))  # pytest's tmp is 0700
    base.chmod(0o755)
    request_cleanup.append(lambda: shutil.rmtree(base, ignore_errors=True))
    private = private_rootfs(hako, base)
    subprocess.run(["chown", "-R", "100000:100000", str(private)], check=True)
    hako.config["linux"]["namespaces"].append({"type": "user"})
    hako.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    hako.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_detached(cid, out)
    wait_count(out, 2)
    r = criu.checkpoint(cid, images)
    assert r.returncode == 0, r.stderr
    assert "Dumping finished successfully" in (images / "dump.log").read_text()
    hako.assert_gone(cid)
    other, out2 = hako.new_id(), Output()
    r = criu.restore(other, images, out2)
    if r.returncode == 0:
        wait_count(out2, out.numbers()[-1] + 2)
        assert hako.cmd("delete", "--force", other).returncode == 0
    else:
        assert "criu's log says" in r.stderr, r.stderr
    hako.assert_gone(other)


def test_failures_leave_nothing_behind(criu, hako, tmp_path):
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    # No checkpoint there: refused before anything is made.
    r = criu.restore(cid, tmp_path / "no-such-images", Output())
    assert r.returncode != 0 and "no checkpoint in" in r.stderr, r.stderr
    hako.assert_gone(cid)
    # An id that exists: refused, and the container there untouched.
    criu.run_detached(cid, out)
    wait_count(out, 2)
    r = criu.checkpoint(cid, images, "--leave-running")
    assert r.returncode == 0, r.stderr
    r = criu.restore(cid, images, Output())
    assert r.returncode != 0 and "exists" in r.stderr, r.stderr
    assert hako.state(cid)["status"] == "running"
    # Images criu cannot use (an inventory that is garbage): criu's own words, nothing left.
    bad, other = tmp_path / "bad", hako.new_id()
    shutil.copytree(images, bad)
    (bad / "pstree.img").write_bytes(b"\0garbage")
    r = criu.restore(other, bad, Output())
    assert r.returncode != 0 and "criu's log says" in r.stderr and "restore.log" in r.stderr, \
        r.stderr
    hako.assert_gone(other)


def test_a_terminal_container_gets_a_new_terminal_through_the_console_socket(criu, hako,
                                                                           tmp_path):
    """As runc: the init's terminal is dumped without its master (the client's), and restore
    hands the new terminal's master to --console-socket (criu's orphan-pts-master): what is
    typed there reaches the restored shell, which still has it as its controlling terminal."""
    import os
    from conftest import read_until
    from test_terminal import ConsoleReceiver
    hako.config["process"]["terminal"] = True
    hako.config["process"]["args"] = [
        "sh", "-c", "echo ready; while read line; do echo \"got $line\"; done"]
    cid, images = hako.new_id(), tmp_path / "images"
    hako.write_config(cid)
    rx = ConsoleReceiver(tmp_path / "console.sock")
    with open(tmp_path / "out", "w") as o:
        r = subprocess.run([str(criu.h_path()), "--root", str(hako.root), "run", "-d",
                            "--console-socket", rx.path, "-b", str(hako.bundle), cid],
                           stdin=subprocess.DEVNULL, stdout=o, stderr=o, timeout=60)
    assert r.returncode == 0, (tmp_path / "out").read_text()
    _, master = rx.receive()
    assert "ready" in read_until(master, "ready")
    os.write(master, b"one\n")
    assert "got one" in read_until(master, "got one")
    r = criu.checkpoint(cid, images)
    assert r.returncode == 0, r.stderr
    hako.assert_gone(cid)
    os.close(master)

    hako.write_config(cid)
    with open(tmp_path / "restore.err", "w+") as e:
        r = subprocess.run([str(criu.h_path()), "--root", str(hako.root), "restore", "-d",
                            "--image-path", str(images), "--console-socket", rx.path, "-b",
                            str(hako.bundle), cid], stdin=subprocess.DEVNULL, stdout=e,
                           stderr=e, timeout=120)
        e.seek(0)
        assert r.returncode == 0, e.read()
    name, master = rx.receive()
    assert name.startswith("/dev/pts/"), name
    os.write(master, b"two\n")
    assert "got two" in read_until(master, "got two"), "the restored shell reads the new tty"
    pid = hako.state(cid)["pid"]
    stat = Path(f"/proc/{pid}/stat").read_text()
    tty_nr = int(stat[stat.rindex(")") + 2:].split()[4])
    assert tty_nr != 0, "the restored init has a controlling terminal"
    assert os.readlink(f"/proc/{pid}/fd/0").startswith("/dev/pts/")
    assert hako.cmd("delete", "--force", cid).returncode == 0
    os.close(master)
    hako.assert_gone(cid)

    r = criu.restore(hako.new_id(), images, Output())
    assert r.returncode != 0 and "--console-socket" in r.stderr, r.stderr


def test_restore_in_the_foreground_waits_for_the_init_and_deletes_it(criu, hako, tmp_path):
    """Without -d, as run: restore waits for the restored init, exits with its status and
    removes the container."""
    hako.config["process"]["args"] = [
        "sh", "-c", "i=0; while [ $i -lt 40 ]; do echo $i; i=$((i+1)); sleep 0.1; done; exit 7"]
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_detached(cid, out)
    wait_count(out, 3)
    assert criu.checkpoint(cid, images).returncode == 0
    hako.write_config(cid)
    out = Output()
    r = subprocess.run([str(criu.h_path()), "--root", str(hako.root), "restore", "--image-path",
                        str(images), "-b", str(hako.bundle), cid], stdin=subprocess.DEVNULL,
                       stdout=out.w, stderr=out.w, timeout=120)
    out.given()
    assert r.returncode == 7, out.text()
    assert out.numbers()[-1] == 39, "it ran to its end"
    hako.assert_gone(cid)


def test_restore_runs_the_creation_hooks_with_the_restored_init(criu, hako, tmp_path):
    """As runc: prestart and createRuntime run once criu has made the namespaces, with the
    restored init's pid; poststart after. A failing hook fails the restore, leaving nothing."""
    out, images = Output(), tmp_path / "images"
    cid = hako.new_id()
    criu.run_and_dump(cid, out, images)

    def hook(name):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {tmp_path}/{name}.json"]}
    hako.config["hooks"] = {"createRuntime": [hook("createRuntime")],
                            "poststart": [hook("poststart")]}
    r = criu.restore(cid, images, Output())
    assert r.returncode == 0, r.stderr
    pid = hako.state(cid)["pid"]
    st = json.loads((tmp_path / "createRuntime.json").read_text())
    assert st["pid"] == pid and st["id"] == cid, st
    assert json.loads((tmp_path / "poststart.json").read_text())["status"] == "running"
    assert hako.cmd("delete", "--force", cid).returncode == 0

    other = hako.new_id()
    hako.config["hooks"] = {"prestart": [{"path": "/bin/false"}]}
    r = criu.restore(other, images, Output())
    assert r.returncode != 0 and "hooks.prestart[0]" in r.stderr, r.stderr
    hako.assert_gone(other)


def test_podman_checkpoint_and_restore(podman):
    """podman's `container checkpoint` / `restore` with hako as its runtime (conmon's pipes
    for stdio): the count in the container's log goes on from where it stopped."""
    def numbers():
        return [int(x) for x in podman("logs", "c1").stdout.split() if x.isdigit()]

    def wait_past(n, timeout=30):
        deadline = time.time() + timeout
        while not (numbers() and numbers()[-1] > n):
            assert time.time() < deadline, podman("logs", "c1").stdout[-300:]
            time.sleep(0.2)

    podman("run", "-d", "--name", "c1", *podman.run_flags(), "hako-busybox", "sh", "-c", COUNTER)
    try:
        wait_past(5)
        podman("container", "checkpoint", "c1", timeout=180)
        assert "Exited" in podman("ps", "-a", "--format", "{{.Status}}").stdout
        before = numbers()
        podman("container", "restore", "c1", timeout=180)
        assert "Up" in podman("ps", "--format", "{{.Status}}").stdout
        wait_past(before[-1] + 3)
        n = numbers()
        assert n == list(range(n[0], n[0] + len(n))), "one count, resumed, never restarted"
    finally:
        podman("rm", "-f", "-t", "0", "c1", check=False)
