"""Images without a registry, made from the busybox-static rootfs of scripts/make-bundle: an OCI
image archive (what `ctr images import` takes) and a plain rootfs tarball (what `podman import`
and `docker import` take)."""
import hashlib
import io
import json
import tarfile
from pathlib import Path


def rootfs_tar(rootfs, out):
    """The rootfs as a tarball, owned by root, paths relative to it."""
    opened = {"fileobj": out} if hasattr(out, "write") else {"name": out}
    with tarfile.open(mode="w", **opened) as t:
        for path in sorted(Path(rootfs).rglob("*")):
            info = t.gettarinfo(str(path), arcname=str(path.relative_to(rootfs)))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isfile():
                with open(path, "rb") as f:
                    t.addfile(info, f)
            else:
                t.addfile(info)
    return out


def oci_archive(rootfs, out, name, cmd=("sh",)):
    """An OCI image layout as a tar (one layer), named `name` for containerd; `cmd` its Cmd."""
    layer = io.BytesIO()
    rootfs_tar(rootfs, layer)
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    blobs = {}

    def blob(data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(config, "application/vnd.oci.image.config.v1+json"),
        "layers": [blob(layer_bytes, "application/vnd.oci.image.layer.v1.tar")]}).encode()
    desc = blob(manifest, "application/vnd.oci.image.manifest.v1+json")
    desc["annotations"] = {"io.containerd.image.name": name,
                           "org.opencontainers.image.ref.name": name.rsplit(":", 1)[-1]}
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
             "index.json": json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode()}
    for digest, data in blobs.items():
        files["blobs/sha256/" + digest.split(":")[1]] = data
    with tarfile.open(out, "w") as t:
        for arcname, data in files.items():
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return out
