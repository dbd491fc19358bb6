"""Helpers to build layer tarballs (normal and hostile) in tests."""

from __future__ import annotations

import gzip
import io
import tarfile


def _ti(name, type_=tarfile.REGTYPE, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = type_
    for k, v in kw.items():
        setattr(ti, k, v)
    return ti


def make_tar(entries, *, compress: str = "gzip") -> bytes:
    """entries: (TarInfo, data or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            if data is not None:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                tf.addfile(ti)
    raw = buf.getvalue()
    if compress == "gzip":
        return gzip.compress(raw, mtime=0)
    if compress == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(raw)
    return raw


def f(name, data=b"x", **kw):
    return (_ti(name, mode=kw.pop("mode", 0o644), **kw), data)


def d(name, **kw):
    return (_ti(name, tarfile.DIRTYPE, mode=kw.pop("mode", 0o755), **kw), None)


def sym(name, target):
    return (_ti(name, tarfile.SYMTYPE, linkname=target), None)


def hard(name, target):
    return (_ti(name, tarfile.LNKTYPE, linkname=target), None)


BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "ls", "cat", "echo", "ftpget", "true")


def busybox_layers(extra: bytes = b"") -> list[bytes]:
    """Two gzip layers: busybox + applet links + /etc/passwd + /tmp 1777 +
    /opt/old/from-layer-1; then a whiteout of bin/ftpget, an opaque /opt/old and a file."""
    with open(BUSYBOX, "rb") as fh:
        bb = fh.read()
    l1 = [d("bin"), f("bin/busybox", bb, mode=0o755)]
    l1 += [sym(f"bin/{a}", "busybox") for a in APPLETS]
    l1 += [d("etc"), f("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
           d("tmp", mode=0o1777), d("opt/old"), f("opt/old/from-layer-1", b"layer1\n")]
    l2 = [f("bin/.wh.ftpget", b""), d("opt/old"), f("opt/old/.wh..wh..opq", b""),
          f("opt/old/from-layer-2", b"layer2\n"), f("etc/hostname", b"pycompose" + extra)]
    return [make_tar(l1), make_tar(l2)]


def build_image(store, tag: str | None, layers: list[bytes], cmd=("sh",)):
    """Store ``layers`` (compressed tars, base first) and create an image from them."""
    from runtime.images.platform import host_platform
    from runtime.images.reference import parse

    infos = []
    parent = None
    for blob in layers:
        info = store.add_layer(io.BytesIO(blob), parent)
        from runtime.images.digest import sha256_bytes

        parent = info.diff_id if parent is None else sha256_bytes(
            f"{parent} {info.diff_id}".encode())
        infos.append(info)
    p = host_platform()
    cfg = {"architecture": p.architecture, "os": p.os, "created": "2026-01-01T00:00:00Z",
           "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"]},
           "history": [{"created_by": f"layer {i}"} for i in range(len(layers))]}
    return store.create_image(cfg, infos, [parse(tag)] if tag else [])
