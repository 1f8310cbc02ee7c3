"""checkpoint on this machine: Debian's criu 3.17 cannot start on its kernel (6.18; `criu check`
fails in its kernel-feature detection), so checkpoint must fail at once, quoting criu's own
reason and the log's path, and leave the container running and untouched. The round trips run
in the VM lane (tests/vm/test_criu.py)."""
import shutil
import subprocess

import pytest

from conftest import HAKO


def criu_works():
    if shutil.which("criu") is None:
        pytest.fail("criu missing: scripts/install-deps installs it")
    return subprocess.run(["criu", "check"], capture_output=True).returncode == 0


def test_checkpoint_fails_in_criu_words_and_leaves_the_container_running(hako, tmp_path):
    if criu_works():
        pytest.skip("criu works on this kernel: the VM lane's tests apply")
    hako.set_args("sleep", "300")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    pid = hako.state(cid)["pid"]
    images = tmp_path / "images"
    r = hako.cmd("checkpoint", "--image-path", str(images), cid, timeout=60)
    assert r.returncode == 1
    assert "checkpoint: criu failed; criu's log says:" in r.stderr, r.stderr
    assert "Error (" in r.stderr, "criu's own lines are quoted"
    assert f"the whole log: {images}/dump.log" in r.stderr, r.stderr
    st = hako.state(cid)
    assert st["status"] == "running" and st["pid"] == pid


def test_restore_without_a_checkpoint_is_refused_and_leaves_nothing(hako, tmp_path):
    cid = hako.new_id()
    hako.write_config(cid)
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "restore", "-d", "--image-path",
                        str(tmp_path / "none"), "-b", str(hako.bundle), cid],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 1 and "no checkpoint in" in r.stderr, r.stderr
    hako.assert_gone(cid)


def test_a_created_container_is_refused_and_a_missing_criu_is_named(hako, tmp_path):
    hako.set_args("sleep", "300")
    _, cid = hako.create()
    r = hako.cmd("checkpoint", "--image-path", str(tmp_path / "i"), cid)
    assert r.returncode == 1 and "cannot checkpoint a created container" in r.stderr, r.stderr


def test_a_missing_criu_is_named_with_the_fix(hako, tmp_path):
    hako.set_args("sleep", "300")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "--criu", "/nonexistent/criu",
                        "checkpoint", "--image-path", str(tmp_path / "i"), cid],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "cannot run /nonexistent/criu" in r.stderr, r.stderr
    assert "apt-get install criu" in r.stderr
    assert hako.state(cid)["status"] == "running"


def test_doctor_and_features_say_what_checkpoint_needs():
    r = subprocess.run([str(HAKO), "doctor"], capture_output=True, text=True, timeout=60)
    line = next(l for l in r.stdout.splitlines() if "criu:" in l)
    if criu_works():
        assert "`criu check` passes" in line, line
    else:
        assert "`criu check` fails: Error (" in line, "criu's first error, in its words"
    import json
    f = json.loads(subprocess.run([str(HAKO), "features"], capture_output=True,
                                  text=True).stdout)
    assert f["annotations"]["org.opencontainers.runc.checkpoint.enabled"] == "true"


def test_a_parent_path_must_be_relative_and_there(hako, tmp_path):
    hako.set_args("sleep", "300")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    for parent, words in [(str(tmp_path / "pre"), "must be relative to --image-path"),
                          ("../nowhere", "--parent-path: no pre-dump at")]:
        r = hako.cmd("checkpoint", "--image-path", str(tmp_path / "img"), "--parent-path",
                     parent, cid)
        assert r.returncode == 1 and words in r.stderr, r.stderr
    assert hako.state(cid)["status"] == "running"
