"""A small CRI client, as the kubelet speaks it: gRPC over containerd's unix socket, messages from
third_party/cri-api/api.proto (generated here with Debian's protoc: no grpc_tools needed, the
calls are made by method name), and the streaming server's websocket protocol for Exec/Attach.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import grpc

REPO = Path(__file__).resolve().parents[2]
PROTO = REPO / "third_party" / "cri-api" / "api.proto"
GEN = REPO / "build" / "kubernetes" / "gen"


def load_messages():
    """api_pb2, generated once per proto change (the gogoproto lines dropped: Go-only)."""
    GEN.mkdir(parents=True, exist_ok=True)
    out = GEN / "api_pb2.py"
    if not out.exists() or out.stat().st_mtime < PROTO.stat().st_mtime:
        text = PROTO.read_text()
        text = re.sub(r'^import "github.com/gogo/protobuf/gogoproto/gogo.proto";\n', "", text,
                      flags=re.M)
        text = re.sub(r"^option \(gogoproto\.[^\n]*\n", "", text, flags=re.M)
        (GEN / "api.proto").write_text(text)
        subprocess.run(["protoc", f"--proto_path={GEN}", f"--python_out={GEN}", "api.proto"],
                       check=True)
    import sys
    sys.path.insert(0, str(GEN))
    import api_pb2  # noqa: E402
    return api_pb2


pb = load_messages()


class Cri:
    """RuntimeService and ImageService calls by name: cri.runtime("Version", version="v1")."""

    def __init__(self, sock):
        self.channel = grpc.insecure_channel(f"unix://{sock}")

    def _call(self, service, method, deadline, **fields):
        request = getattr(pb, method + "Request")(**fields)
        response = getattr(pb, method + "Response")
        stub = self.channel.unary_unary(f"/runtime.v1.{service}/{method}",
                                        request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=response.FromString)
        return stub(request, timeout=deadline)

    # `deadline`: the gRPC call's, in seconds (`timeout` is a field of some requests).
    def runtime(self, method, deadline=120, **fields):
        return self._call("RuntimeService", method, deadline, **fields)

    def image(self, method, deadline=120, **fields):
        return self._call("ImageService", method, deadline, **fields)

    def close(self):
        self.channel.close()


def in_netns(netns, fn):
    """fn() on a thread that joined the network namespace `netns` (a path): sockets it makes
    live there. Python 3.11 has no os.setns; libc's is per thread."""
    import ctypes
    import threading
    result = {}

    def run():
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), f"setns {netns}")
        finally:
            os.close(fd)
        try:
            result["value"] = fn()
        except BaseException as e:  # noqa: BLE001 (re-raised on the caller's thread)
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def stream(url, stdin=None, timeout=30, netns=None):
    if netns:
        return in_netns(netns, lambda: stream(url, stdin, timeout))
    return _stream(url, stdin, timeout)


def _stream(url, stdin, timeout):
    """Exec or Attach through the streaming server's websocket (the kubelet's remotecommand
    protocol, v4.channel.k8s.io): one frame per write, its first byte the channel (0 stdin,
    1 stdout, 2 stderr, 3 the status). Returns (stdout, stderr, exit code)."""
    import websocket  # python3-websocket
    ws_url = url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    ws = websocket.create_connection(ws_url, timeout=timeout,
                                     subprotocols=["v4.channel.k8s.io"])
    out, err, status = b"", b"", None
    try:
        if stdin is not None:
            ws.send_binary(b"\x00" + stdin)
        while True:
            try:
                frame = ws.recv()
            except websocket.WebSocketConnectionClosedException:
                break
            if isinstance(frame, str):
                frame = frame.encode()
            if not frame:
                continue
            channel, data = frame[0], frame[1:]
            if channel == 1:
                out += data
            elif channel == 2:
                err += data
            elif channel == 3 and data:
                status = json.loads(data)
    finally:
        ws.close()
    code = 0
    if status and status.get("status") == "Failure":
        code = -1
        for cause in status.get("details", {}).get("causes", []):
            if cause.get("reason") == "ExitCode":
                code = int(cause["message"])
    return out, err, code

