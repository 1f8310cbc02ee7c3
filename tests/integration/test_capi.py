"""libhako and its bindings, called from threaded programs: the field report behind hako was
a Ruby binding whose in-process setns(2) into a mount namespace failed with EINVAL because the
interpreter had two threads."""
import ctypes
import errno
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bindings" / "python"))
from hako import Hako, HakoError  # noqa: E402

LIB = REPO / "build" / "libhako.so"


def running(hako):
    hako.set_args("sleep", "60")
    _, cid = hako.create()
    assert hako.cmd("start", cid).returncode == 0
    return cid, hako.state(cid)["pid"]


def test_python_exec_from_a_non_main_thread_with_four_threads_running(hako):
    cid, init = running(hako)
    stop = threading.Event()
    workers = [threading.Thread(target=stop.wait) for _ in range(4)]
    for w in workers:
        w.start()
    assert threading.active_count() >= 5
    # The trap is real here: in this threaded process, an in-process setns into the container's
    # mount namespace fails with EINVAL.
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{init}/ns/mnt", os.O_RDONLY)
    rc = libc.setns(fd, 0x00020000)  # CLONE_NEWNS
    err = ctypes.get_errno()
    os.close(fd)
    assert rc == -1 and err == errno.EINVAL, "the naive in-process setns did not fail"
    # ...and libhako's exec, called from a thread that is not the main one, works.
    result = {}

    def call():
        with Hako(root=str(hako.root), library=str(LIB)) as h:
            result["exec"] = h.exec(cid, ["sh", "-c", "echo hello from $(hostname); cat /proc/1/comm"])
            result["state"] = h.state(cid)["status"]
            try:
                h.exec("no-such-container", ["true"])
            except HakoError as e:
                result["error"] = str(e)

    t = threading.Thread(target=call)
    t.start()
    t.join(timeout=60)
    stop.set()
    for w in workers:
        w.join()
    status, out = result["exec"]
    assert status == 0
    assert out.split() == ["hello", "from", "hako", "sleep"]
    assert result["state"] == "running"
    assert result["error"] == 'container "no-such-container" does not exist'


def test_python_binding_lifecycle(hako):
    hako.set_args("sh", "-c", "exit 4")
    cid = hako.new_id()
    hako.write_config(cid)
    with Hako(root=str(hako.root), library=str(LIB)) as h:
        assert h.run(cid, hako.bundle) == 4
        hako.set_args("sleep", "60")
        cid2 = hako.new_id()
        hako.write_config(cid2)
        h.create(cid2, hako.bundle)
        assert h.state(cid2)["status"] == "created"
        h.start(cid2)
        assert [s["id"] for s in h.list()] == [cid2]
        h.kill(cid2, 9)
        h.delete(cid2, force=True)
        with pytest.raises(HakoError, match="does not exist"):
            h.state(cid2)
    hako.assert_gone(cid)
    hako.assert_gone(cid2)


C_PROGRAM = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "hako.h"

static const char *root, *id;
static char *output;
static int status = -1, naive_errno;

static void *idle(void *arg) { (void)arg; sleep(30); return NULL; }
static void *do_exec(void *arg) {
    (void)arg;
    hako_ctx *ctx = hako_new(root);
    const char *argv[] = {"sh", "-c", "echo from-c $(cat /proc/1/comm)", NULL};
    if (hako_exec(ctx, id, argv, &status, &output) != 0) fprintf(stderr, "%s\n", hako_last_error(ctx));
    hako_free(ctx);
    return NULL;
}
int main(int argc, char **argv) {
    root = argv[1]; id = argv[2];
    pthread_t idle_threads[4], t;
    for (int i = 0; i < 4; i++) pthread_create(&idle_threads[i], NULL, idle, NULL);
    int fd = open(argv[3], O_RDONLY);
    if (setns(fd, CLONE_NEWNS) == 0) { puts("naive setns unexpectedly worked"); return 2; }
    naive_errno = errno;
    pthread_create(&t, NULL, do_exec, NULL);
    pthread_join(t, NULL);
    printf("naive=%s status=%d output=%s", strerror(naive_errno), status, output ? output : "(none)\n");
    hako_string_free(output);
    fflush(stdout);
    _exit(0);
}
"""


def test_c_program_with_pthreads(hako, tmp_path):
    cid, init = running(hako)
    src = tmp_path / "threaded.c"
    src.write_text(C_PROGRAM)
    exe = tmp_path / "threaded"
    subprocess.run(["gcc", "-O1", "-o", str(exe), str(src), f"-I{REPO / 'include'}",
                    f"-L{LIB.parent}", "-lhako", "-lpthread", f"-Wl,-rpath,{LIB.parent}"], check=True)
    r = subprocess.run([str(exe), str(hako.root), cid, f"/proc/{init}/ns/mnt"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "naive=Invalid argument status=0 output=from-c sleep", r.stdout


RUBY_PROGRAM = r"""
require 'fiddle'
require 'fiddle/import'
module Hako
  extend Fiddle::Importer
  dlload ARGV[0]
  extern 'void* hako_new(const char*)'
  extern 'int hako_exec(void*, const char*, void*, void*, void*)'
  extern 'const char* hako_last_error(void*)'
  extern 'void hako_string_free(void*)'
end
libc = Fiddle.dlopen(nil)
setns = Fiddle::Function.new(libc['setns'], [Fiddle::TYPE_INT, Fiddle::TYPE_INT], Fiddle::TYPE_INT)
idle = 4.times.map { Thread.new { sleep 30 } }
fd = IO.sysopen(ARGV[3], 'r')
naive = setns.call(fd, 0x00020000)
naive_errno = Fiddle.last_error
result = Thread.new do
  ctx = Hako.hako_new(ARGV[1])
  args = ['sh', '-c', 'echo from-ruby $(cat /proc/1/comm)']
  ptrs = args.map { |a| Fiddle::Pointer[a] }
  argv = Fiddle::Pointer.malloc(Fiddle::SIZEOF_VOIDP * (args.size + 1))
  ptrs.each_with_index { |p, i| argv[i * Fiddle::SIZEOF_VOIDP, Fiddle::SIZEOF_VOIDP] = [p.to_i].pack('J') }
  argv[args.size * Fiddle::SIZEOF_VOIDP, Fiddle::SIZEOF_VOIDP] = [0].pack('J')
  status = Fiddle::Pointer.malloc(Fiddle::SIZEOF_INT)
  out = Fiddle::Pointer.malloc(Fiddle::SIZEOF_VOIDP)
  rc = Hako.hako_exec(ctx, ARGV[2], argv, status, out)
  raise Hako.hako_last_error(ctx).to_s if rc != 0
  text = Fiddle::Pointer.new(out[0, Fiddle::SIZEOF_VOIDP].unpack1('J')).to_s
  "status=#{status[0, Fiddle::SIZEOF_INT].unpack1('i')} output=#{text}"
end.value
puts "threads=#{Thread.list.size} naive=#{naive}/#{naive_errno} #{result}"
$stdout.flush
exit! 0
"""


def test_ruby_fiddle_from_a_thread(hako, tmp_path):
    ruby = "/usr/bin/ruby"
    if not Path(ruby).exists():
        pytest.fail("ruby is not installed: scripts/install-deps installs it")
    cid, init = running(hako)
    script = tmp_path / "exec.rb"
    script.write_text(RUBY_PROGRAM)
    r = subprocess.run([ruby, str(script), str(LIB), str(hako.root), cid, f"/proc/{init}/ns/mnt"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout.strip()
    assert f"naive=-1/{errno.EINVAL}" in out, (out, r.stderr)
    assert out.endswith("status=0 output=from-ruby sleep"), out
    assert int(out.split()[0].split("=")[1]) >= 5, out


STRESS_C = r"""
#include <hako.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char* root;
static const char* cid;
static volatile int stop;
static long calls[2], failures;

/* The busy rest of the program: allocating, printing and looking up users all the time. */
static void* noise(void* arg) {
    FILE* sink = fopen("/dev/null", "w");
    unsigned seed = (unsigned)(long)arg;
    while (!stop) {
        void* p = malloc(1 + rand_r(&seed) % 65536);
        fprintf(sink, "%p %d\n", p, rand_r(&seed));
        struct passwd* pw = getpwnam("root");
        if (pw == NULL) abort();
        free(p);
    }
    fclose(sink);
    return NULL;
}

static void* caller(void* arg) {
    long me = (long)arg;
    hako_ctx* h = hako_new(root);
    for (int i = 0; i < N_CALLS; i++) {
        char* json = NULL;
        int rc;
        if (i % 10 == 9) {
            const char* argv[] = {"true", NULL};
            int status = -1;
            rc = hako_exec(h, cid, argv, &status, NULL);
            if (rc == 0 && status != 0) rc = -1;
        } else if (i % 2) {
            rc = hako_state(h, cid, &json);
        } else {
            rc = hako_list(h, &json);
        }
        if (rc != 0) { fprintf(stderr, "call %d: %s\n", i, hako_last_error(h)); __sync_fetch_and_add(&failures, 1); }
        if (json) hako_string_free(json);
        calls[me]++;
    }
    hako_free(h);
    return NULL;
}

int main(int argc, char** argv) {
    root = argv[1];
    cid = argv[2];
    alarm(240); /* a deadlock ends the program with SIGALRM */
    pthread_t n[4], c[2];
    for (long i = 0; i < 4; i++) pthread_create(&n[i], NULL, noise, (void*)i);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < 2; i++) pthread_create(&c[i], NULL, caller, (void*)i);
    for (int i = 0; i < 2; i++) pthread_join(c[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stop = 1;
    for (int i = 0; i < 4; i++) pthread_join(n[i], NULL);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%ld calls in %.2f s (%.0f/s), %ld failed\n", calls[0] + calls[1], s,
           (calls[0] + calls[1]) / s, failures);
    return failures != 0;
}
"""


def test_libhako_under_a_busy_threaded_caller(hako, tmp_path):
    """Each call forks a worker from a process whose other threads allocate, print and look up
    users all the time: thousands of calls, no deadlock (SIGALRM), no failure."""
    cid, _ = running(hako)
    src = tmp_path / "stress.c"
    src.write_text(STRESS_C)
    exe = tmp_path / "stress"
    subprocess.run(["gcc", "-O1", "-DN_CALLS=1500", "-o", str(exe), str(src),
                    f"-I{REPO / 'include'}", f"-L{LIB.parent}", "-lhako", "-lpthread",
                    f"-Wl,-rpath,{LIB.parent}"], check=True)
    r = subprocess.run([str(exe), str(hako.root), cid], capture_output=True, text=True,
                       timeout=300)
    print(r.stdout.strip())
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr[-2000:])
    assert "3000 calls" in r.stdout, r.stdout


def test_errors_keep_their_errno_and_field(hako):
    """hako_last_errno / hako_last_error_field: the record stays structured to the caller."""
    hako.set_args("/no/such/program")
    cid = hako.new_id()
    hako.write_config(cid)
    with Hako(root=str(hako.root), library=str(LIB)) as h:
        with pytest.raises(HakoError) as failed:
            h.create(cid, hako.bundle)
        assert failed.value.errno == errno.ENOENT, failed.value
        assert failed.value.field == "process.args[0]", failed.value
        assert str(failed.value).startswith("process.args[0]: "), str(failed.value)
        with pytest.raises(HakoError) as missing:
            h.state("no-such-container")
        assert missing.value.field == "" and "does not exist" in str(missing.value)
    hako.assert_gone(cid)
