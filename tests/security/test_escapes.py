"""Attacks on the host that hako must stop."""
import hashlib
import os
import subprocess

from conftest import HAKO


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_host_binary_never_runs_inside_the_container(hako, tmp_path):
    """CVE-2019-5736: a program of "/proc/self/exe" (directly or as a #! interpreter) is
    resolved while the init is still hako's image; it must not reach hako's host binary."""
    before = sha256(HAKO)
    hako.set_args("/proc/self/exe", "--version")
    r, _ = hako.run()
    assert "hako version" not in r.stdout, "hako's host binary ran inside the container"
    assert r.returncode == 127

    scripts = tmp_path / "scripts"
    scripts.mkdir()
    evil = scripts / "evil"
    evil.write_text("#!/proc/self/exe --version\n")
    evil.chmod(0o755)
    hako.config["mounts"].append({"destination": "/mnt/s", "type": "bind", "source": str(scripts),
                                  "options": ["rbind", "ro"]})
    hako.set_args("/mnt/s/evil")
    r, _ = hako.run()
    assert "hako version" not in r.stdout, "a #!/proc/self/exe script ran hako's host binary"
    assert sha256(HAKO) == before


def test_container_program_is_what_the_spec_names(hako):
    # The stub is gone once the program runs: pid 1 is busybox, not the stub nor hako.
    hako.set_args("sh", "-c", "readlink /proc/1/exe; cat /proc/1/comm; :")
    r, _ = hako.run()
    assert r.stdout.split() == ["/bin/busybox", "sh"], r.stdout


def test_no_host_fds_leak_into_the_container(hako):
    """CVE-2024-21626: only stdio crosses into the container."""
    hako.set_args("sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; readlink /proc/self/cwd")
    with open(os.devnull) as extra:  # an fd the caller leaves open without CLOEXEC
        os.set_inheritable(extra.fileno(), True)
        r, _ = hako.run(pass_fds=(extra.fileno(),))
    fds, cwd = r.stdout.splitlines()
    assert fds.split() == ["0", "1", "2", "3"], fds  # 3 is ls's own directory fd
    assert cwd == "/"


def test_preserve_fds_passes_exactly_n(hako):
    r_fd, w_fd = os.pipe()
    hako.set_args("sh", "-c", "echo through-the-pipe >&3; ls /proc/self/fd | wc -l")
    cid = hako.new_id()
    hako.write_config(cid)
    # In the child, the pipe goes to fd 3, where --preserve-fds 1 expects it.
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "run", "--preserve-fds", "1", "-b",
                        str(hako.bundle), cid], pass_fds=(3,),
                       preexec_fn=lambda: (os.dup2(w_fd, 3), os.close(w_fd)),
                       capture_output=True, text=True, timeout=60)
    os.close(w_fd)
    assert r.returncode == 0, r.stderr
    assert os.read(r_fd, 100) == b"through-the-pipe\n"
    assert r.stdout.split() == ["5"]  # 0, 1, 2, the preserved 3, and ls's own


def test_listen_fds_are_passed_as_runc_does(hako):
    """systemd socket activation: LISTEN_FDS=N in hako's environment passes fds 3..3+N-1 and
    tells the process through LISTEN_FDS / LISTEN_PID."""
    r_fd, w_fd = os.pipe()
    hako.set_args("sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; echo via-listen-fd >&3")
    cid = hako.new_id()
    hako.write_config(cid)
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    r = subprocess.run([str(HAKO), "--root", str(hako.root), "run", "-b", str(hako.bundle), cid],
                       pass_fds=(3,), preexec_fn=lambda: (os.dup2(w_fd, 3), os.close(w_fd)),
                       env=env, capture_output=True, text=True, timeout=60)
    os.close(w_fd)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "1"]
    assert os.read(r_fd, 64) == b"via-listen-fd\n"
