"""What execve(2) refuses with a bare errno, said in words: at create where it can be known
(a missing "#!" or ELF interpreter, a noexec mount), else by the exec stub at start."""
import shutil
import struct


def plant(hako, tmp_path, name, content, mode=0o755, options=("rbind",)):
    d = tmp_path / "app"
    d.mkdir(exist_ok=True)
    f = d / name
    f.write_bytes(content) if isinstance(content, bytes) else f.write_text(content)
    f.chmod(mode)
    hako.config["mounts"].append({"destination": "/opt/app", "type": "bind", "source": str(d),
                                  "options": list(options)})
    return f"/opt/app/{name}"


def test_missing_shebang_interpreter_is_named_at_create(hako, tmp_path):
    hako.set_args(plant(hako, tmp_path, "server.sh", "#!/usr/bin/python3 -u\nprint(1)\n"))
    r, _ = hako.create(check=False)
    assert r.returncode == 1
    assert 'process.args[0]: "/opt/app/server.sh"' in r.stderr, r.stderr
    assert 'starts with "#!/usr/bin/python3", and /usr/bin/python3 does not exist' in r.stderr


def test_missing_elf_interpreter_is_named_at_create(hako, tmp_path):
    # A dynamically linked host program in the busybox rootfs, which has no ld-linux.
    with open("/usr/bin/env", "rb") as f:
        program = f.read()
    hako.set_args(plant(hako, tmp_path, "server", program))
    r, _ = hako.create(check=False)
    assert r.returncode == 1
    assert "its ELF interpreter /lib64/ld-linux-x86-64.so.2 does not exist in the container" \
        in r.stderr, r.stderr


def test_noexec_mount_is_named_at_create(hako, tmp_path):
    hako.set_args(plant(hako, tmp_path, "tool", open("/bin/busybox", "rb").read(),
                        options=("rbind", "noexec")))
    r, _ = hako.create(check=False)
    assert r.returncode == 1
    assert "mounted noexec" in r.stderr, r.stderr


def aarch64_elf():
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, 0x400000, 64, 0, 0, 64, 56, 0, 64, 0, 0)
    return ident + header


def test_foreign_architecture_warns_at_create_and_explains_at_start(hako, tmp_path):
    hako.set_args(plant(hako, tmp_path, "arm-server", aarch64_elf()))
    r, _ = hako.run()
    assert "is a program for aarch64, and this machine runs x86_64" in r.stderr, r.stderr
    assert "hako: process.args[0]: exec /opt/app/arm-server: Exec format error (not a program " \
           "for this machine" in r.stderr, r.stderr
    assert r.returncode == 127


def test_missing_execute_bit_names_the_field(hako, tmp_path):
    hako.set_args(plant(hako, tmp_path, "noexec-bits", "#!/bin/sh\n", mode=0o644))
    r, _ = hako.create(check=False)
    assert r.returncode == 1
    assert 'process.args[0]: exec "/opt/app/noexec-bits": Permission denied' in r.stderr, r.stderr
    assert "its mode 0644 (owner 0, group 0) does not let uid 0 execute it" in r.stderr, r.stderr
