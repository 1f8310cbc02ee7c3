"""The six OCI hooks: where each runs (namespace), when (order), with what state on stdin, and
what a failure does."""
import json
import os
import subprocess

from conftest import HAKO


def recorder(out, name, host=True):
    """A hook that appends its name to `order`, saves its stdin and its mount namespace."""
    d = str(out) if host else "/mnt/out"
    script = (f"echo {name} >> {d}/order; cat > {d}/{name}.json; "
              f"readlink /proc/self/ns/mnt > {d}/{name}.ns; echo \"$FOO|$HOME\" > {d}/{name}.env")
    return {"path": "/bin/sh", "args": ["sh", "-c", script], "env": ["FOO=bar", "PATH=/bin:/usr/bin"]}


def test_all_six_hooks_run_where_and_when_the_spec_says(hako, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    hako.bind_dir(out, "/mnt/out")
    hako.config["hooks"] = {
        "prestart": [recorder(out, "prestart")],
        "createRuntime": [recorder(out, "createRuntime")],
        "createContainer": [recorder(out, "createContainer")],
        "startContainer": [recorder(out, "startContainer", host=False)],
        "poststart": [recorder(out, "poststart")],
        "poststop": [recorder(out, "poststop")],
    }
    hako.config["annotations"] = {"org.example/k": "v"}
    hako.set_args("sh", "-c", "readlink /proc/self/ns/mnt > /mnt/out/process.ns")
    r, cid = hako.run()
    assert r.returncode == 0, r.stderr
    order = (out / "order").read_text().split()
    assert order[:4] == ["prestart", "createRuntime", "createContainer", "startContainer"], order
    assert order[-1] == "poststop" and "poststart" in order
    host_ns = os.readlink("/proc/self/ns/mnt")
    container_ns = (out / "process.ns").read_text().strip()
    ns = {n: (out / f"{n}.ns").read_text().strip() for n in order}
    assert ns["prestart"] == ns["createRuntime"] == ns["poststart"] == ns["poststop"] == host_ns
    assert ns["createContainer"] == ns["startContainer"] == container_ns != host_ns
    states = {n: json.loads((out / f"{n}.json").read_text()) for n in order}
    for n, st in states.items():
        assert st["id"] == cid and st["bundle"] == str(hako.bundle), n
        assert st["annotations"] == {"org.example/k": "v"}, n
    assert states["createRuntime"]["status"] == "created" and states["createRuntime"]["pid"] > 0
    assert states["poststart"]["status"] == "running"
    assert states["poststop"]["status"] == "stopped"
    # env is exactly the hook's own: FOO set, HOME not inherited from hako
    assert (out / "createRuntime.env").read_text().strip() == "bar|"


def test_failing_create_runtime_hook_destroys_the_container(hako):
    hako.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo no network for you >&2; exit 3"]}]}
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "hooks.createRuntime[0]: error running hook /bin/sh: exited with status 3" in r.stderr
    assert "no network for you" in r.stderr
    hako.assert_gone(cid)


def test_hook_timeout_kills_it_and_fails_create(hako):
    hako.config["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    r, cid = hako.create(check=False)
    assert r.returncode == 1
    assert "hooks.prestart[0]: error running hook /bin/sleep: timed out after 1s and was killed" in r.stderr
    hako.assert_gone(cid)


def test_failing_poststart_and_poststop_only_warn(hako):
    hako.config["hooks"] = {"poststart": [{"path": "/bin/false"}], "poststop": [{"path": "/bin/false"}]}
    # A state larger than a pipe's buffer: /bin/false never reads it, so hako's write of it to
    # the hook's stdin meets EPIPE every time, which must not end hako (SIGPIPE).
    hako.config["annotations"] = {"big": "x" * 200000}
    hako.set_args("true")
    r, cid = hako.run()
    assert r.returncode == 0, r.stderr
    assert "warning: hooks.poststart[0]: error running hook /bin/false: exited with status 1" in r.stderr
    assert "warning: hooks.poststop[0]: error running hook /bin/false: exited with status 1" in r.stderr
    hako.assert_gone(cid)


def test_hooks_named_with_unicode_escapes_still_run(hako, tmp_path):
    # start and delete skip parsing the saved config when it does not name their hook; a key
    # spelled "\u0070oststart" names it all the same.
    out = tmp_path / "out"
    out.mkdir()
    hako.config["hooks"] = {"poststart": [recorder(out, "poststart")],
                            "poststop": [recorder(out, "poststop")]}
    hako.set_args("true")
    cid = hako.new_id()
    hako.write_config(cid)
    cfg = hako.bundle / "config.json"
    text = cfg.read_text().replace('"poststart"', '"\\u0070oststart"')
    cfg.write_text(text.replace('"poststop"', '"\\u0070oststop"'))
    with open(hako.bundle / "out", "w") as o:
        assert subprocess.run([str(HAKO), "--root", str(hako.root), "create", "-b",
                               str(hako.bundle), cid], stdout=o, stderr=o, timeout=60).returncode == 0
    assert hako.cmd("start", cid).returncode == 0
    hako.wait_status(cid, "stopped")
    assert hako.cmd("delete", cid).returncode == 0
    assert (out / "order").read_text().split() == ["poststart", "poststop"]
