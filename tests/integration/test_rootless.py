"""Rootless containers: an ordinary user (made by this session, with subordinate ids) runs hako.

Each test runs hako as that user through setpriv, with its own XDG_RUNTIME_DIR, and checks what
the container shows (maps, `id`, devpts options, a terminal) and that failures leave nothing in
the user's state directory and no process behind. The last test is root with a user namespace, as
podman's --userns=auto makes.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import HAKO, REPO, USER, run_under_pty

class Rootless:
    """hako as `user`: a bundle it owns (rootfs made by make-bundle, config by its own
    `hako spec --rootless`), its own XDG_RUNTIME_DIR, and hako copied where it can run it."""

    def __init__(self, user, base):
        self.user = user
        self.base = base
        self.runtime_dir = base / "run"
        self.bundle = base / "bundle"
        self.hako = base / "hako"
        self.ids = []
        shutil.copy(HAKO, self.hako)
        subprocess.run([str(REPO / "scripts" / "make-bundle"), str(self.bundle), str(HAKO)],
                       check=True, capture_output=True)
        (self.bundle / "config.json").unlink()
        self.runtime_dir.mkdir(mode=0o700)
        subprocess.run(["chown", "-R", f"{user['uid']}:{user['gid']}", str(base)], check=True)
        r = self.cmd("spec", "--rootless", "-b", str(self.bundle))
        assert r.returncode == 0, r.stderr
        self.config = json.loads((self.bundle / "config.json").read_text())
        self.config["process"]["terminal"] = False  # `spec` is runc's: a terminal, no cgroupns
        self.config["linux"]["namespaces"].append({"type": "cgroup"})
        self.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024,
                                              "soft": 1024}]

    def env(self, xdg=True):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.user["home"])}
        if xdg:
            env["XDG_RUNTIME_DIR"] = str(self.runtime_dir)
        return env

    def argv(self, *args):
        return ["setpriv", f"--reuid={self.user['uid']}", f"--regid={self.user['gid']}",
                "--clear-groups", str(self.hako), *args]

    def cmd(self, *args, xdg=True, **kw):
        kw.setdefault("capture_output", True)
        return subprocess.run(self.argv(*args), text=True, timeout=60, env=self.env(xdg), **kw)

    def new_id(self):
        cid = "rl-" + uuid.uuid4().hex[:10]
        self.ids.append(cid)
        return cid

    def write_config(self, cfg=None):
        path = self.bundle / "config.json"
        path.write_text(json.dumps(cfg or self.config, indent=1))
        os.chown(path, self.user["uid"], self.user["gid"])

    def run(self, *args, cfg=None):
        self.write_config(cfg)
        cid = self.new_id()
        return self.cmd("run", "-b", str(self.bundle), *args, cid), cid

    def state_dir(self, cid):
        return self.runtime_dir / "hako" / cid

    def assert_gone(self, cid):
        assert not self.state_dir(cid).exists(), f"state of {cid} left behind"
        ps = subprocess.run(["ps", "-u", str(self.user["uid"]), "-o", "pid=,stat=,args="],
                            capture_output=True, text=True)
        alive = [l for l in ps.stdout.splitlines() if l.split()[1][0] not in "ZX"]
        assert alive == [], f"processes of {USER} left behind: {alive}"


@pytest.fixture
def rootless(user):
    base = Path(tempfile.mkdtemp(prefix="hako-rootless-"))
    base.chmod(0o755)
    r = Rootless(user, base)
    yield r
    for cid in r.ids:
        r.cmd("delete", "--force", cid)
    for cid in r.ids:
        r.assert_gone(cid)
    shutil.rmtree(base)


def podman_maps(user):
    """Container root is the user; 1..65536 are its subordinate ids (podman's default)."""
    (su, sn), (sg, gn) = user["subuid"], user["subgid"]
    return ([{"containerID": 0, "hostID": user["uid"], "size": 1},
             {"containerID": 1, "hostID": su, "size": sn}],
            [{"containerID": 0, "hostID": user["gid"], "size": 1},
             {"containerID": 1, "hostID": sg, "size": gn}])


def devpts_options(mountinfo):
    line = next(l for l in mountinfo.splitlines() if " /dev/pts " in l)
    return line.split(" - ")[1].split()[2].split(",")


def test_rootless_spec_runs_as_is(rootless, user):
    rootless.config["process"]["args"] = [
        "sh", "-c", "id; cat /proc/self/uid_map /proc/self/gid_map /proc/self/mountinfo"]
    r, cid = rootless.run()
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    assert out[0].startswith("uid=0(root) gid=0(root)"), out[0]
    assert out[1].split() == ["0", str(user["uid"]), "1"]
    assert out[2].split() == ["0", str(user["gid"]), "1"]
    opts = devpts_options(r.stdout)
    assert "mode=620" in opts and not any(o.startswith("gid=") for o in opts), opts
    # State lived under XDG_RUNTIME_DIR, not in root's /run/hako; cgroups were skipped in words.
    assert (rootless.runtime_dir / "hako").is_dir()
    assert not Path("/run/hako", cid).exists()
    assert "cgroups: skipped" in r.stderr and f"uid {user['uid']}" in r.stderr, r.stderr
    rootless.assert_gone(cid)


def test_subordinate_ids_through_newuidmap_and_devpts_gid5(rootless, user):
    """Maps beyond the user's own id go through newuidmap/newgidmap; with gid 5 mapped, devpts
    takes gid=5, and a terminal in the container is a writable /dev/pts node of group tty."""
    uids, gids = podman_maps(user)
    cfg = json.loads(json.dumps(rootless.config))
    cfg["linux"]["uidMappings"], cfg["linux"]["gidMappings"] = uids, gids
    pts = next(m for m in cfg["mounts"] if m["destination"] == "/dev/pts")
    pts["options"].append("gid=5")
    cfg["process"]["terminal"] = True
    cfg["process"]["args"] = [
        "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; grep ' /dev/pts ' "
        "/proc/self/mountinfo; T=$(tty); ls -ln $T; echo written > $T && echo done"]
    rootless.write_config(cfg)
    cid = rootless.new_id()
    status, out = run_under_pty(rootless.argv("run", "-b", str(rootless.bundle), cid), "done",
                                env=rootless.env())
    assert status == 0, out
    su, sg = user["subuid"][0], user["subgid"][0]
    assert f"1 {su} {user['subuid'][1]}" in " ".join(out.split()), out
    assert f"1 {sg} {user['subgid'][1]}" in " ".join(out.split()), out
    # The host sees gid 5 of the container as subgid start + 4.
    assert f"gid={sg + 4}" in out and "mode=620" in out, out
    node = next(l for l in out.splitlines() if l.startswith("crw"))
    assert node.split()[2:4] == ["0", "5"], node  # owner root, group tty (gid 5), in the container
    assert "written" in out
    rootless.assert_gone(cid)


def test_unmapped_gid5_is_refused_in_words_before_anything_changes(rootless, user):
    cfg = json.loads(json.dumps(rootless.config))
    pts_index = next(i for i, m in enumerate(cfg["mounts"]) if m["destination"] == "/dev/pts")
    cfg["mounts"][pts_index]["options"].append("gid=5")
    r, cid = rootless.run(cfg=cfg)
    assert r.returncode == 1
    msg = r.stderr.strip()
    assert msg.startswith(f"hako: mounts[{pts_index}] (devpts on /dev/pts): gid=5: gid 5 is not "
                          "mapped in the container's user namespace"), msg
    assert "linux.gidMappings maps gids 0-0" in msg
    assert "add gid 5 to linux.gidMappings or drop gid=5 from the options" in msg
    assert "cgroups: skipped" not in msg, "refused before the cgroup step"
    rootless.assert_gone(cid)
    assert list((rootless.runtime_dir / "hako").glob("*")) == [] if (
        rootless.runtime_dir / "hako").exists() else True


def test_maps_beyond_the_users_subordinate_ids_are_refused(rootless, user):
    uids, gids = podman_maps(user)
    uids[1]["size"] += 1
    cfg = json.loads(json.dumps(rootless.config))
    cfg["linux"]["uidMappings"], cfg["linux"]["gidMappings"] = uids, gids
    r, cid = rootless.run(cfg=cfg)
    assert r.returncode == 1
    su, sn = user["subuid"]
    assert (f"linux.uidMappings[1]: uid {user['uid']} ({USER}) may not map host uids "
            f"{su}-{su + sn}") in r.stderr, r.stderr
    assert f"{su}-{su + sn - 1} (/etc/subuid)" in r.stderr, r.stderr
    rootless.assert_gone(cid)
    # A gid of someone else's.
    cfg["linux"]["uidMappings"] = podman_maps(user)[0]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    r, cid = rootless.run(cfg=cfg)
    assert r.returncode == 1
    assert (f"linux.gidMappings[0]: uid {user['uid']} ({USER}) may not map host gids 0-0"
            in r.stderr), r.stderr
    rootless.assert_gone(cid)


def test_rootless_create_exec_ps_kill_delete(rootless, user):
    rootless.config["process"]["args"] = ["sleep", "300"]
    rootless.write_config()
    cid = rootless.new_id()
    log = rootless.base / "create.err"
    with open(log, "w") as err:
        r = subprocess.run(rootless.argv("create", "-b", str(rootless.bundle), cid),
                           stdout=subprocess.DEVNULL, stderr=err, env=rootless.env(), timeout=60)
    assert r.returncode == 0, log.read_text()
    assert (rootless.state_dir(cid) / "state.json").exists()
    assert rootless.cmd("start", cid).returncode == 0
    e = rootless.cmd("exec", cid, "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert e.returncode == 0, e.stderr
    assert e.stdout.split() == ["0", "0", str(user["uid"]), "1"]
    state = json.loads(rootless.cmd("state", cid).stdout)
    assert state["status"] == "running"
    # No cgroup of its own: ps finds the processes through the pid namespace.
    ps = rootless.cmd("ps", "--format", "json", cid)
    assert ps.returncode == 0, ps.stderr
    assert json.loads(ps.stdout) == [state["pid"]]
    pause = rootless.cmd("pause", cid)
    assert pause.returncode == 1 and f"pause: container {cid} has no cgroup" in pause.stderr
    assert rootless.cmd("kill", "--all", cid, "KILL").returncode == 0
    for _ in range(200):
        if json.loads(rootless.cmd("state", cid).stdout)["status"] == "stopped":
            break
        time.sleep(0.02)
    assert json.loads(rootless.cmd("state", cid).stdout)["status"] == "stopped"
    assert rootless.cmd("delete", cid).returncode == 0
    rootless.assert_gone(cid)


def test_sysfs_in_a_user_namespace_without_a_network_namespace_is_bound(rootless):
    cfg = json.loads(json.dumps(rootless.config))
    sys_index = next(i for i, m in enumerate(cfg["mounts"]) if m["destination"] == "/sys")
    cfg["mounts"][sys_index] = {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                                "options": ["nosuid", "noexec", "nodev", "ro"]}
    cfg["process"]["args"] = ["sh", "-c", "ls /sys/kernel >/dev/null && grep ' /sys ' "
                              "/proc/self/mountinfo"]
    r, cid = rootless.run(cfg=cfg)
    assert r.returncode == 0, r.stderr
    assert (f"warning: mounts[{sys_index}] (sysfs on /sys): sysfs can be mounted in a user "
            "namespace only with a network namespace of its own") in r.stderr, r.stderr
    assert "bound the host's /sys instead" in r.stderr
    assert " ro," in r.stdout.split(" - ")[0] + ",", r.stdout


def test_without_xdg_runtime_dir_the_error_says_what_to_do(rootless, user):
    r = rootless.cmd("list", xdg=False)
    assert r.returncode == 1
    assert "XDG_RUNTIME_DIR is not set" in r.stderr and "--root" in r.stderr, r.stderr


@pytest.fixture
def public_tmp():
    """A directory every uid can traverse (pytest's own tmp_path is 0700)."""
    d = Path(tempfile.mkdtemp(prefix="hako-userns-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


def test_root_with_a_user_namespace_like_userns_auto(hako, public_tmp):
    """Root maps the container to 300000-365535 (podman --userns=auto): /dev and what hako makes
    in it belong to the mapped root, the rootfs to the mapped ids, and the host's device nodes,
    bound in, are never chowned."""
    base = 300000
    rootfs = public_tmp / "rootfs-mapped"
    shutil.copytree(hako.rootfs, rootfs, symlinks=True)
    subprocess.run(["chown", "-R", "-h", f"{base}:{base}", str(rootfs)], check=True)
    hako.config["root"] = {"path": str(rootfs), "readonly": False}
    hako.config["linux"]["namespaces"].append({"type": "user"})
    hako.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": base, "size": 65536}]
    hako.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": base, "size": 65536}]
    hako.set_args("sh", "-c", "id -u; stat -c '%n %u %g' / /dev /dev/pts /dev/shm /dev/ptmx "
                  "/dev/null; touch /made-here && stat -c '%n %u' /made-here; "
                  "grep ' /dev/pts ' /proc/self/mountinfo")
    before = os.stat("/dev/null")
    r, cid = hako.run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    owners = dict((l.split()[0], l.split()[1:]) for l in lines[1:8])
    for path in ["/", "/dev", "/dev/pts", "/dev/shm", "/dev/ptmx"]:
        assert owners[path][0] == "0", (path, owners[path])
    assert owners["/made-here"] == ["0"]
    assert os.stat(rootfs / "made-here").st_uid == base, "written as the mapped root"
    # /dev/null is the host's node bound in: its owner (host root) is unmapped, hence 65534.
    assert owners["/dev/null"] == ["65534", "65534"]
    after = os.stat("/dev/null")
    assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid,
                                                            before.st_mode)
    assert f"gid={base + 5}" in r.stdout, "gid 5 is mapped: devpts keeps gid=5"
    hako.assert_gone(cid)
