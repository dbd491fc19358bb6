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
