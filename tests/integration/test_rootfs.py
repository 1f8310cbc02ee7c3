"""Root filesystem features: overlay, propagation, --no-pivot, domainname, recursive attributes
(mount targets that try to lead out of the rootfs: tests/security)."""
import os
import shutil
from pathlib import Path


def mountinfo_of(stdout):
    out = {}
    for line in stdout.splitlines():
        left, right = line.split(" - ")
        f = left.split()
        out[f[4]] = {"opts": f[5], "optional": f[6:], "fstype": right.split()[0],
                     "super": right.split()[2]}
    return out


def test_overlay_mount(hako, tmp_path):
    lower, upper, work = (tmp_path / n for n in ("lower", "upper", "work"))
    for d in (lower, upper, work):
        d.mkdir()
    (lower / "from-lower").write_text("lower\n")
    hako.config["mounts"].append({
        "destination": "/mnt/ov", "type": "overlay", "source": "overlay",
        "options": [f"lowerdir={lower}", f"upperdir={upper}", f"workdir={work}"]})
    hako.set_args("sh", "-c", "cat /mnt/ov/from-lower; echo new > /mnt/ov/written")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert r.stdout == "lower\n"
    assert (upper / "written").read_text() == "new\n", "writes land in the upper dir"
    assert not (lower / "written").exists()


def test_domainname_and_hostname(hako):
    hako.config["hostname"] = "box"
    hako.config["domainname"] = "example.org"
    hako.set_args("sh", "-c", "hostname; cat /proc/sys/kernel/domainname")
    r, _ = hako.run()
    assert r.stdout.split() == ["box", "example.org"], r.stderr
    assert Path("/proc/sys/kernel/hostname").read_text().strip() != "box"


def test_no_pivot(hako):
    hako.set_args("sh", "-c", "ls /; cat /proc/self/mountinfo | wc -l")
    r, _ = hako.run("--no-pivot")
    assert r.returncode == 0, r.stderr
    assert "bin" in r.stdout.split()


def test_rootfs_propagation_private_and_shared(hako):
    hako.set_args("cat", "/proc/self/mountinfo")
    hako.config["linux"]["rootfsPropagation"] = "rprivate"
    r, _ = hako.run()
    m = mountinfo_of(r.stdout)
    assert not any(o.startswith(("shared:", "master:")) for o in m["/"]["optional"]), m["/"]
    hako.config["linux"]["rootfsPropagation"] = "shared"
    r, _ = hako.run()
    m = mountinfo_of(r.stdout)
    assert any(o.startswith("shared:") for o in m["/"]["optional"]), m["/"]


def test_mount_propagation_and_recursive_readonly(hako, tmp_path):
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    hako.config["mounts"] += [
        {"destination": "/mnt/a", "type": "bind", "source": str(src), "options": ["rbind", "rro", "rprivate"]},
        {"destination": "/mnt/a/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
        {"destination": "/mnt/b", "type": "tmpfs", "source": "tmpfs", "options": ["rshared", "noexec"]},
    ]
    hako.set_args("cat", "/proc/self/mountinfo")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    m = mountinfo_of(r.stdout)
    assert m["/mnt/a"]["opts"].startswith("ro")
    assert m["/mnt/a/sub"]["opts"].startswith("rw"), "mounted after the rro: stays writable"
    assert any(o.startswith("shared:") for o in m["/mnt/b"]["optional"])
    assert "noexec" in m["/mnt/b"]["opts"]


def test_idmapped_mount_shows_mapped_owners(hako, tmp_path):
    src = tmp_path / "idm"
    src.mkdir()
    (src / "mine").write_text("x")      # owned by 0:0 on disk
    (src / "other").write_text("y")
    os.chown(src / "other", 5, 5)       # not covered by the maps
    hako.config["mounts"].append({
        "destination": "/mnt/idm", "type": "bind", "source": str(src), "options": ["rbind"],
        "uidMappings": [{"containerID": 0, "hostID": 1234, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 4321, "size": 1}]})
    hako.set_args("sh", "-c", "ls -ln /mnt/idm | sort -k9")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    rows = {l.split()[-1]: l.split()[2:4] for l in r.stdout.splitlines() if l.startswith("-")}
    assert rows["mine"] == ["1234", "4321"], r.stdout
    assert rows["other"] == ["65534", "65534"], r.stdout
    assert os.stat(src / "mine").st_uid == 0, "the files on disk are unchanged"


def test_read_only_dev_tmpfs(hako):
    """A ro tmpfs on /dev (runc's mounts.bats): devpts and the device nodes go below it first,
    then it turns read-only."""
    for m in hako.config["mounts"]:
        if m["destination"] == "/dev":
            m["options"] = m.get("options", []) + ["ro"]
    hako.set_args("sh", "-c", "ls /dev/pts/ptmx /dev/null >/dev/null && echo devices; "
                  "touch /dev/x 2>&1; grep ' /dev tmpfs' /proc/mounts")
    r, _ = hako.run()
    assert r.returncode == 0, r.stderr
    assert "devices" in r.stdout and "Read-only file system" in r.stdout, r.stdout
    assert " ro," in r.stdout.splitlines()[-1], r.stdout
