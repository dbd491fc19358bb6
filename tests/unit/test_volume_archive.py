"""runtime.volumes.archive: export/import round trip and refusal of bad archives."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from runtime.errors import ConflictError
from runtime.volumes.archive import CorruptArchive, extract_tar, import_volume, write_tar
from runtime.volumes.store import VolumeStore


def _fill(d: Path) -> None:
    (d / "sub" / "deep").mkdir(parents=True)
    (d / "a.txt").write_bytes(b"hello\x00world" * 1000)
    (d / "sub" / "deep" / "b").write_bytes(os.urandom(70000))
    os.link(d / "a.txt", d / "sub" / "hard")
    (d / "rel").symlink_to("sub/deep/b")
    (d / "abs").symlink_to("/etc/passwd")
    os.mkfifo(d / "fifo")
    os.chmod(d / "sub", 0o751)
    os.chmod(d / "a.txt", 0o4750)
    os.setxattr(d / "a.txt", "user.note", b"\xff\x00binary")
    os.utime(d / "sub" / "deep" / "b", ns=(1, 1234567890123456789))
    os.chmod(d, 0o710)


def _export(d: Path) -> bytes:
    buf = io.BytesIO()
    write_tar(d, buf)
    return buf.getvalue()


def test_round_trip_is_byte_exact(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    _fill(src)
    data = _export(src)
    n = extract_tar(io.BytesIO(data), dst)
    assert n == 9
    assert _export(dst) == data
    assert os.getxattr(dst / "a.txt", "user.note") == b"\xff\x00binary"
    assert stat.S_IMODE(os.stat(dst / "a.txt").st_mode) == 0o4750
    assert stat.S_IMODE(os.stat(dst).st_mode) == 0o710
    assert os.stat(dst / "a.txt").st_ino == os.stat(dst / "sub" / "hard").st_ino
    assert os.readlink(dst / "abs") == "/etc/passwd"
    assert os.stat(dst / "sub" / "deep" / "b").st_mtime_ns == 1234567890123456789
    assert not [n for n in os.listdir(dst) if n.startswith(".pycompose")]


def test_import_from_unseekable_stream(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "f").write_text("x")
    r, w = os.pipe()
    data = _export(src)
    os.write(w, data)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        extract_tar(f, dst)
    assert (dst / "f").read_text() == "x"


def test_refuses_non_empty_unless_replace(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "new").write_text("n")
    (dst / "old").write_text("o")
    data = _export(src)
    with pytest.raises(ConflictError, match="not empty"):
        extract_tar(io.BytesIO(data), dst)
    assert os.listdir(dst) == ["old"]
    extract_tar(io.BytesIO(data), dst, replace=True)
    assert os.listdir(dst) == ["new"]


def _tar(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for ti, content in members:
            tar.addfile(ti, io.BytesIO(content) if content is not None else None)
    return buf.getvalue()


def _file(name: str, content: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    ti = tarfile.TarInfo(name)
    ti.size = len(content)
    return ti, content


def _link(name: str, target: str, kind=tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = target
    return ti, None


@pytest.mark.parametrize(("archive", "match"), [
    (lambda: b"", "cannot read"),
    (lambda: b"this is not a tar archive at all" * 40, "cannot read"),
    (lambda: _tar(_file("ok", b"y" * 5000))[:1536], "damaged|cannot read"),
    (lambda: _tar(_file("/etc/evil")), "absolute"),
    (lambda: _tar(_file("../evil")), "escapes"),
    (lambda: _tar(_file("a/../../evil")), "escapes"),
    (lambda: _tar(_link("l", "/etc"), _file("l/passwd")), "symlink"),
    (lambda: _tar(_link("h", "/etc/passwd", tarfile.LNKTYPE)), "absolute"),
    (lambda: _tar(_link("h", "nothere", tarfile.LNKTYPE)), "not an earlier file"),
])
def test_bad_archives_change_nothing(tmp_path, archive, match):
    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(CorruptArchive, match=match) as exc:
        extract_tar(io.BytesIO(archive()), dst)
    assert exc.value.hint
    assert os.listdir(dst) == []
    assert not (tmp_path / "evil").exists()


def test_truncated_data_detected_and_existing_kept(tmp_path):
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "old").write_text("o")
    data = _tar(_file("a", b"1"), _file("big", os.urandom(200000)))
    with pytest.raises(CorruptArchive):
        extract_tar(io.BytesIO(data[:100000]), dst, replace=True)
    assert os.listdir(dst) == ["old"]


def test_import_volume_creates_and_cleans_up_on_error(state_paths, tmp_path):
    store = VolumeStore(state_paths)
    with pytest.raises(CorruptArchive):
        import_volume(store, "newvol", io.BytesIO(b"garbage" * 100))
    assert not store.exists("newvol")
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("x")
    import_volume(store, "newvol", io.BytesIO(_export(src)))
    assert (store.get("newvol").mountpoint / "f").read_text() == "x"
