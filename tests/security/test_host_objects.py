"""What the config names on the host side: cgroup paths, container ids and hooks must not let
the container's owner create, change or leave anything outside what hako manages."""
import os
import time
import uuid
from pathlib import Path

from conftest import CGROUP_PARENT, cgroup_dirs, processes_with


def test_cgroups_path_with_dotdot_is_refused_before_anything_is_made(hako):
    name = f"hako-escape-{uuid.uuid4().hex[:8]}"
    for path in [f"{CGROUP_PARENT}/../../{name}", f"../../{name}", f"{CGROUP_PARENT}/a/../../{name}"]:
        hako.set_args("true")
        cid = hako.new_id()
        cfg = hako.write_config(cid)
        cfg["linux"]["cgroupsPath"] = path
        (hako.bundle / "config.json").write_text(__import__("json").dumps(cfg))
        r = hako.cmd("create", "-b", str(hako.bundle), cid)
        assert r.returncode == 1, r.stderr
        assert "linux.cgroupsPath: must not contain \"..\"" in r.stderr, r.stderr
        assert not (hako.root / cid).exists()
        for d in cgroup_dirs("/" + name) + cgroup_dirs(f"{CGROUP_PARENT}/{name}"):
            assert not d.exists(), f"{d} was created"


def test_container_ids_that_name_other_paths_are_refused(hako):
    hako.set_args("true")
    hako.write_config()
    for bad in ["..", ".", "a/b", "../x", "/abs", "x" * 1024]:
        r = hako.cmd("create", "-b", str(hako.bundle), bad)
        assert r.returncode == 1, bad
        assert "container id" in r.stderr, r.stderr
    assert not hako.root.exists() or list(hako.root.iterdir()) == []


def test_a_hook_that_times_out_leaves_no_children(hako):
    marker = f"{uuid.uuid4().int % 1000 + 1000}.{uuid.uuid4().int % 1000}"  # a unique sleep
    hako.config["hooks"] = {"prestart": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"sleep {marker} & sleep {marker}; :"],
         "timeout": 1}]}
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "timed out after 1s and was killed" in r.stderr, r.stderr
    time.sleep(0.2)
    assert processes_with(marker) == [], "the hook's children outlived it"
    hako.assert_gone(cid)


def test_a_failing_hook_leaves_no_children_and_does_not_hang(hako):
    marker = f"{uuid.uuid4().int % 1000 + 2000}.{uuid.uuid4().int % 1000}"
    hako.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"sleep {marker} & echo broken >&2; exit 2"]}]}
    start = time.time()
    r, cid = hako.create(check=False)
    assert time.time() - start < 20, "hako waited for the hook's child to close stderr"
    assert r.returncode == 1
    assert "exited with status 2" in r.stderr and "broken" in r.stderr, r.stderr
    time.sleep(0.2)
    assert processes_with(marker) == [], "the failed hook's child outlived it"
    hako.assert_gone(cid)
