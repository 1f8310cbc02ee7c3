"""Python binding for libhako (ctypes), usable from threaded programs: every call runs in a
forked single-threaded child inside libhako, so exec works from any thread.

    from hako import Hako
    h = Hako(root="/run/hako")
    status, out = h.exec("c1", ["sh", "-c", "echo hi"])
"""
import ctypes
import json
import os
from pathlib import Path


class HakoError(OSError):
    """A failed hako operation: str() is the whole message (op, path, errno, hint); .errno the
    errno (0 when no syscall failed) and .field the config field it concerns ("" if none)."""

    def __init__(self, message, err=0, field=""):
        super().__init__(err, message)
        self.message, self.field = message, field

    def __str__(self):
        return self.message


def _find_library():
    if os.environ.get("HAKO_LIBRARY"):
        return os.environ["HAKO_LIBRARY"]
    built = Path(__file__).resolve().parents[2] / "build" / "libhako.so"
    return str(built) if built.exists() else "libhako.so"


class Hako:
    def __init__(self, root=None, library=None):
        lib = ctypes.CDLL(library or _find_library())
        P, I, CP = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
        OUT = ctypes.POINTER(ctypes.POINTER(ctypes.c_char))
        sig = {
            "hako_new": (P, [CP]), "hako_free": (None, [P]), "hako_last_error": (CP, [P]),
            "hako_last_errno": (I, [P]), "hako_last_error_field": (CP, [P]),
            "hako_create": (I, [P, CP, CP]), "hako_start": (I, [P, CP]),
            "hako_run": (I, [P, CP, CP, ctypes.POINTER(I)]),
            "hako_exec": (I, [P, CP, ctypes.POINTER(CP), ctypes.POINTER(I), OUT]),
            "hako_kill": (I, [P, CP, I, I]), "hako_delete": (I, [P, CP, I]),
            "hako_state": (I, [P, CP, OUT]), "hako_list": (I, [P, OUT]),
            "hako_string_free": (None, [ctypes.POINTER(ctypes.c_char)]),
        }
        for name, (res, args) in sig.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        self._lib = lib
        self._ctx = lib.hako_new(root.encode() if root else None)
        if not self._ctx:
            raise MemoryError("hako_new")

    def close(self):
        if self._ctx:
            self._lib.hako_free(self._ctx)
            self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _check(self, rc):
        if rc != 0:
            raise HakoError(self._lib.hako_last_error(self._ctx).decode(),
                            self._lib.hako_last_errno(self._ctx),
                            self._lib.hako_last_error_field(self._ctx).decode())

    def _take(self, out):
        try:
            return ctypes.string_at(out).decode()
        finally:
            self._lib.hako_string_free(out)

    def create(self, cid, bundle):
        self._check(self._lib.hako_create(self._ctx, cid.encode(), str(bundle).encode()))

    def start(self, cid):
        self._check(self._lib.hako_start(self._ctx, cid.encode()))

    def run(self, cid, bundle):
        status = ctypes.c_int()
        self._check(self._lib.hako_run(self._ctx, cid.encode(), str(bundle).encode(),
                                       ctypes.byref(status)))
        return status.value

    def exec(self, cid, argv, capture=True):
        """Run argv in the container; returns (exit status, captured stdout or None)."""
        arr = (ctypes.c_char_p * (len(argv) + 1))(*[a.encode() for a in argv], None)
        status = ctypes.c_int()
        out = ctypes.POINTER(ctypes.c_char)()
        self._check(self._lib.hako_exec(self._ctx, cid.encode(), arr, ctypes.byref(status),
                                        ctypes.byref(out) if capture else None))
        return status.value, (self._take(out) if capture else None)

    def kill(self, cid, signal=15, all=False):
        self._check(self._lib.hako_kill(self._ctx, cid.encode(), signal, 1 if all else 0))

    def delete(self, cid, force=False):
        self._check(self._lib.hako_delete(self._ctx, cid.encode(), 1 if force else 0))

    def state(self, cid):
        out = ctypes.POINTER(ctypes.c_char)()
        self._check(self._lib.hako_state(self._ctx, cid.encode(), ctypes.byref(out)))
        return json.loads(self._take(out))

    def list(self):
        out = ctypes.POINTER(ctypes.c_char)()
        self._check(self._lib.hako_list(self._ctx, ctypes.byref(out)))
        return json.loads(self._take(out))
