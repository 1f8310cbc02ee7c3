"""Mount targets the container's owner controls: symlinks planted in the rootfs (or swapped in
by a second container that shares a volume) must never lead a mount, a device node, a mask or a
sysctl write out of the container."""
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from conftest import HAKO, host_mounts, run_under_pty


def private_rootfs(hako, tmp_path, rootfs):
    """A copy of the busybox rootfs this test may plant things in."""
    private = tmp_path / "rootfs"
    shutil.copytree(rootfs, private, symlinks=True)
    hako.config["root"]["path"] = str(private)
    hako.config["root"]["readonly"] = False
    return private


def without_dev_mounts(hako):
    hako.config["mounts"] = [m for m in hako.config["mounts"]
                             if not m["destination"].startswith("/dev")]


def test_a_symlinked_mount_target_stays_in_the_rootfs(hako, tmp_path, rootfs):
    """CVE-2021-30465: a destination that is a symlink to a host path must be resolved
    inside the rootfs, never on the host."""
    private = tmp_path / "rootfs"
    shutil.copytree(rootfs, private, symlinks=True)
    host_target = tmp_path / "host-target"
    host_target.mkdir()
    os.symlink(str(host_target), private / "evil")  # absolute: points at the host directory
    hako.config["root"]["path"] = str(private)
    hako.config["root"]["readonly"] = False
    hako.config["mounts"].append({"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs"})
    hako.set_args("true")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert list(host_target.iterdir()) == [], "a directory was made on the host"
    assert (private / str(host_target).lstrip("/") / "x").is_dir(), "resolved inside the rootfs"


def test_dev_symlinked_to_the_host_is_contained(hako, tmp_path, rootfs):
    """/dev itself a symlink to a host directory: device nodes must not land on the host."""
    private = tmp_path / "rootfs"
    shutil.copytree(rootfs, private, symlinks=True)
    host_dev = tmp_path / "host-dev"
    host_dev.mkdir()
    shutil.rmtree(private / "dev")
    os.symlink(str(host_dev), private / "dev")
    hako.config["root"]["path"] = str(private)
    hako.config["root"]["readonly"] = False
    hako.config["mounts"] = [m for m in hako.config["mounts"] if not m["destination"].startswith("/dev")]
    hako.set_args("true")
    r, _ = hako.run()
    assert list(host_dev.iterdir()) == [], "device nodes were created on the host"


def test_masking_with_a_planted_dev_null_symlink_is_refused(hako, tmp_path, rootfs):
    """CVE-2025-31133: /dev/null replaced by a symlink to a procfs file, so that masking a path
    "with /dev/null" would bind a writable kernel file over it."""
    private = private_rootfs(hako, tmp_path, rootfs)
    without_dev_mounts(hako)
    (private / "dev" / "null").unlink(missing_ok=True)
    os.symlink("/proc/sys/kernel/core_pattern", private / "dev" / "null")
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    hako.config["linux"]["maskedPaths"] = ["/proc/loadavg"]
    hako.set_args("cat", "/proc/loadavg")
    r, _ = hako.run()
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before
    # hako puts its own /dev/null in place (the default devices), or refuses the planted one.
    refused = "linux.maskedPaths: /dev/null in the container is not the null" in r.stderr
    assert refused or (r.returncode == 0 and r.stdout == ""), (r.stdout, r.stderr)


def test_console_planted_as_a_symlink_gets_the_pty_inside(hako, tmp_path, rootfs):
    """CVE-2025-52565: /dev/console a symlink to a file; the console bind must go onto a file
    hako made inside /dev (or fail), never follow the link."""
    private = private_rootfs(hako, tmp_path, rootfs)
    without_dev_mounts(hako)
    victim = private / "victim"
    victim.write_text("untouched\n")
    (private / "dev" / "console").unlink(missing_ok=True)
    os.symlink("/victim", private / "dev" / "console")
    hako.config["process"]["terminal"] = True
    hako.set_args("sh", "-c", "cat /victim; echo done")
    cid = hako.new_id()
    hako.write_config(cid)
    status, out = run_under_pty([str(HAKO), "--root", str(hako.root), "run", "-b",
                                 str(hako.bundle), cid], "done")
    assert "untouched" in out or status != 0, out
    assert victim.read_text() == "untouched\n"
    assert not (private / "victim").is_char_device()


def test_sysctl_write_is_not_redirected_by_a_mount_over_proc_sys(hako, tmp_path):
    """CVE-2025-52881: a bind over /proc/sys placed by the config; hako writes sysctls through
    its own procfs handle, so the planted file stays as it was."""
    fake = tmp_path / "fake-sys"
    (fake / "kernel").mkdir(parents=True)
    (fake / "kernel" / "domainname").write_text("planted\n")
    hako.config["mounts"].append({"destination": "/proc/sys", "type": "bind",
                                  "source": str(fake), "options": ["rbind"]})
    hako.config["linux"]["sysctl"] = {"kernel.domainname": "written.example"}
    hako.set_args("sh", "-c", "cat /proc/sys/kernel/domainname; uname -a >/dev/null")
    r, _ = hako.run()
    assert (fake / "kernel" / "domainname").read_text() == "planted\n", "the write was redirected"
    assert r.returncode == 0, r.stderr


def test_a_second_container_swapping_symlinks_cannot_redirect_mounts(hako, tmp_path, rootfs):
    """CVE-2021-30465, raced: container B swaps a directory of a shared volume with a symlink to
    a host directory while container A mounts into it. Bounded: 15 creations of A, ~6 s."""
    private = private_rootfs(hako, tmp_path, rootfs)
    vol = tmp_path / "vol"
    vol.mkdir()
    vol.chmod(0o777)
    outside = Path(f"/tmp/hako-outside-{uuid.uuid4().hex[:8]}")
    outside.mkdir()
    try:
        before = host_mounts()
        hako.bind_dir(vol, "/vol")
        hako.set_args("sh", "-c", f"i=0; while [ $i -lt 4000 ]; do rm -rf /vol/d; mkdir /vol/d; "
                      f"rm -rf /vol/d; ln -s {outside} /vol/d; i=$((i+1)); done")
        _, swapper = hako.create()
        assert hako.cmd("start", swapper).returncode == 0
        hako.config["mounts"].append({"destination": "/vol/d/x", "type": "tmpfs",
                                      "source": "tmpfs"})
        hako.set_args("true")
        deadline = time.time() + 6
        for _ in range(15):
            if time.time() > deadline:
                break
            hako.run()  # may fail when the swap wins a race; must never act outside
        hako.cmd("kill", swapper, "KILL")
        assert list(outside.iterdir()) == [], "a directory was made on the host"
        assert host_mounts() == before, "the host's mount table changed"
    finally:
        shutil.rmtree(outside)


def test_no_pivot_does_not_expose_a_bare_proc(hako):
    """--no-pivot leaves the host's mounts outside the root in the container's mount namespace;
    a fully visible procfs among them would let the container mount an unmasked /proc of its
    own from a new user namespace (runc's no_pivot.bats). hako hides them first."""
    caps = hako.config["process"]["capabilities"]
    for k in ("bounding", "permitted"):
        caps[k] = caps[k] + ["CAP_SETFCAP"]
    hako.set_args("unshare", "-mrpf", "sh", "-c",
                  "mount -t proc none /proc && echo MOUNTED && cat /proc/sys/kernel/core_pattern")
    r, _ = hako.run("--no-pivot")
    assert "MOUNTED" not in r.stdout, "a bare /proc was mounted"
    assert "Operation not permitted" in r.stderr or "ermission denied" in r.stderr, r.stderr


def test_proc_and_sys_over_a_symlink_are_refused(hako, tmp_path, rootfs):
    """CVE-2019-19921: a rootfs whose /proc (or /sys) is a symlink would have procfs mounted
    wherever it points, and the masked paths and sysctl writes would miss it."""
    private = private_rootfs(hako, tmp_path, rootfs)
    hako.set_args("true")
    for d, fstype in (("proc", "proc"), ("sys", "sysfs")):
        target = private / d
        shutil.rmtree(target)
        target.symlink_to("/elsewhere")
        r, cid = hako.run()
        assert r.returncode == 1, r.stderr
        assert f"/{d} is a symlink in the rootfs: {fstype} must be mounted on ordinary " \
               "directory" in r.stderr, r.stderr
        hako.assert_gone(cid)
        assert not (private / "elsewhere").exists()
        target.unlink()
        target.mkdir()


def test_the_inits_procfs_handle_reaches_neither_host_nor_container(hako):
    """The init's own procfs (CVE-2025-52881) is parked in the old root before that is detached
    (so that closing it costs no grace period): once started the container's process holds no fd
    of it (only its stdio), and with a shared rootfs propagation nothing of it appears in the
    host's mount table (that half can only fail on a host whose / is shared, as systemd makes
    it; this machine's is private)."""
    hako.config["linux"]["rootfsPropagation"] = "shared"
    hako.set_args("sleep", "30")
    before = host_mounts()
    _, cid = hako.create()
    created = host_mounts()
    assert hako.cmd("start", cid).returncode == 0
    try:
        pid = hako.state(cid)["pid"]
        deadline = time.time() + 10
        while os.readlink(f"/proc/{pid}/exe").endswith("(deleted)") or \
                "hako" in os.readlink(f"/proc/{pid}/exe"):
            assert time.time() < deadline, "the program never ran"
            time.sleep(0.02)
        assert created == before, "a mount of the init's reached the host's table"
        assert host_mounts() == before
        held = sorted(os.listdir(f"/proc/{pid}/fd"))
        assert held == ["0", "1", "2"], held
    finally:
        hako.cmd("delete", "-f", cid)
