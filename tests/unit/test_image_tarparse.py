"""The tar header reader: dialects compared with GNU tar's own extraction."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from runtime.images.errors import CorruptLayer
from runtime.images.extract import extract_layer
from runtime.images.tarparse import TarReader

ROOT = os.geteuid() == 0
LONG = "d" * 60 + "/" + "e" * 70 + "/" + "f" * 90 + "/" + "name-" + "x" * 120


def _entries():
    def reg(name, data=b"", **kw):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        ti.mode = kw.get("mode", 0o644)
        ti.uid = kw.get("uid", 0)
        ti.gid = kw.get("gid", 0)
        ti.mtime = kw.get("mtime", 1_600_000_000)
        return ti, data

    def dir_(name, mode=0o755):
        ti = tarfile.TarInfo(name)
        ti.type = tarfile.DIRTYPE
        ti.mode = mode
        ti.mtime = 1_500_000_000
        return ti, None

    def link(name, target, kind=tarfile.SYMTYPE):
        ti = tarfile.TarInfo(name)
        ti.type = kind
        ti.linkname = target
        ti.mtime = 1_500_000_000
        return ti, None

    return [
        dir_("a"), reg("a/small", b"hello"), reg("a/empty"),
        reg("a/big", os.urandom(70_000), mode=0o4755),
        reg("a/owner", b"o", uid=1000, gid=2000),
        reg("a/hugeuid", b"u", uid=3_000_000, gid=3_000_001),
        reg(LONG, b"long"),
        reg("unicode-é-名前", b"u8"),
        link("a/sym", "../" + "t" * 150), link("a/hard", "a/small", tarfile.LNKTYPE),
        dir_("z", 0o1777),
    ]


def build(fmt) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for ti, data in _entries():
            if fmt == tarfile.USTAR_FORMAT and (ti.uid > 0o7777777 or len(ti.linkname) > 100
                                                or len(ti.name) > 255):
                continue
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def snapshot(root):
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            kind = stat.S_IFMT(st.st_mode)
            content = (os.readlink(p) if stat.S_ISLNK(st.st_mode) else
                       Path(p).read_bytes() if stat.S_ISREG(st.st_mode) else None)
            # GNU tar may leave a directory's mtime at 'now' (links made after its
            # delayed attributes); we always apply the archive's: compare files only
            mt = None if stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode) else int(
                st.st_mtime)
            out[rel] = (kind, stat.S_IMODE(st.st_mode) if not stat.S_ISLNK(st.st_mode) else 0,
                        st.st_uid, st.st_gid, mt, content)
    return out


@pytest.mark.skipif(not ROOT or shutil.which("tar") is None, reason="needs root and GNU tar")
@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_same_result_as_gnu_tar(tmp_path, fmt):
    blob = build(fmt)
    (tmp_path / "l.tar").write_bytes(blob)
    ref = tmp_path / "gnu"
    ref.mkdir()
    subprocess.run(["tar", "--numeric-owner", "-xpf", str(tmp_path / "l.tar"), "-C", str(ref)],
                   check=True)
    extract_layer(io.BytesIO(blob), tmp_path / "ours")
    assert snapshot(tmp_path / "ours" / "diff") == snapshot(ref)


def test_gnu_tar_created_archive(tmp_path):
    src = tmp_path / "src"
    (src / ("p" * 120)).mkdir(parents=True)
    (src / ("p" * 120) / ("q" * 130)).write_bytes(b"data")
    os.symlink("q" * 200, src / "l")
    out = subprocess.run(["tar", "-C", str(src), "-cf", "-", "."], check=True,
                         capture_output=True).stdout
    res = extract_layer(io.BytesIO(out), tmp_path / "L")
    assert (tmp_path / "L/diff" / ("p" * 120) / ("q" * 130)).read_bytes() == b"data"
    assert os.readlink(tmp_path / "L/diff/l") == "q" * 200
    assert res.entries == 4


def test_checksum_mismatch(tmp_path):
    blob = bytearray(build(tarfile.GNU_FORMAT))
    blob[10] ^= 0x01
    with pytest.raises(CorruptLayer, match="checksum"):
        extract_layer(io.BytesIO(bytes(blob)), tmp_path / "L")
    assert not (tmp_path / "L").exists()


def test_truncated_header(tmp_path):
    blob = build(tarfile.GNU_FORMAT)
    with pytest.raises(CorruptLayer, match="truncated"):
        extract_layer(io.BytesIO(blob[:700]), tmp_path / "L")


def test_sparse_refused(tmp_path):
    ti = tarfile.TarInfo("s")
    ti.type = tarfile.GNUTYPE_SPARSE
    raw = ti.tobuf(tarfile.GNU_FORMAT) + bytes(1024)
    from runtime.images.errors import UnsafeLayer

    with pytest.raises(UnsafeLayer, match="sparse"):
        extract_layer(io.BytesIO(raw), tmp_path / "L")


def test_reader_members():
    class S(io.BytesIO):
        pass

    r = TarReader(S(build(tarfile.PAX_FORMAT)))
    names = []
    while (m := r.next()) is not None:
        names.append(m.name)
    assert LONG in names and "unicode-é-名前" in names and len(names) == len(_entries())
