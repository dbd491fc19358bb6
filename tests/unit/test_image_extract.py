"""The layer extractor against normal and hostile archives built here."""

from __future__ import annotations

import gzip
import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from runtime.images.errors import CorruptLayer, DigestMismatch, UnsafeLayer
from runtime.images.extract import extract_layer, normalize_name
from tests.imagetools import _ti, d, f, hard, make_tar, sym

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="whiteouts/devices/chown need root")


@pytest.fixture
def env(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("safe")
    return tmp_path, outside


def run(tmp_path, blob, **kw):
    dest = tmp_path / "layers" / "L"
    return extract_layer(io.BytesIO(blob), dest, **kw), dest / "diff"


def assert_clean(tmp_path, outside):
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert (outside / "victim").read_text() == "safe"
    layers = tmp_path / "layers"
    assert not layers.exists() or list(layers.iterdir()) == []


# -- normal content -------------------------------------------------------------------
@needs_root
def test_attributes_preserved(tmp_path):
    blob = make_tar([
        d("./"), d("tmp", mode=0o1777), d("usr/bin"),
        f("usr/bin/su", b"#!su", mode=0o4755), f("usr/bin/sg", b"g", mode=0o2755),
        d("var/lib/pg", mode=0o700, uid=999, gid=998),
        f("var/lib/pg/data", b"pg", uid=999, gid=998, mtime=1234567890),
        sym("lib64", "/usr/lib64"), sym("rel", "../../etc/passwd"),
        hard("usr/bin/su2", "usr/bin/su"),
        (_ti("dev/null", tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666), None),
        (_ti("fifo", tarfile.FIFOTYPE, mode=0o600), None),
    ])
    res, root = run(tmp_path, blob)
    assert stat.S_IMODE(os.stat(root / "tmp").st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(root / "usr/bin/su").st_mode) == 0o4755
    assert stat.S_IMODE(os.stat(root / "usr/bin/sg").st_mode) == 0o2755
    st = os.stat(root / "var/lib/pg")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (999, 998, 0o700)
    assert os.stat(root / "var/lib/pg/data").st_mtime == 1234567890
    assert os.readlink(root / "lib64") == "/usr/lib64"
    assert os.readlink(root / "rel") == "../../etc/passwd"
    assert os.stat(root / "usr/bin/su2").st_ino == os.stat(root / "usr/bin/su").st_ino
    dev = os.lstat(root / "dev/null")
    assert stat.S_ISCHR(dev.st_mode) and os.major(dev.st_rdev) == 1
    assert stat.S_ISFIFO(os.lstat(root / "fifo").st_mode)
    assert res.entries == 12 and res.compression == "gzip"
    raw = gzip.decompress(blob)
    import hashlib

    assert res.diff_id == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert res.digest == "sha256:" + hashlib.sha256(blob).hexdigest()


@needs_root
def test_xattrs_allowed_and_dropped(tmp_path):
    ti = _ti("bin/ping", mode=0o755)
    ti.pax_headers = {"SCHILY.xattr.user.test": "hello",
                      "SCHILY.xattr.trusted.overlay.opaque": "y"}
    res, root = run(tmp_path, make_tar([(ti, b"ping")]))
    assert os.getxattr(root / "bin/ping", "user.test") == b"hello"
    with pytest.raises(OSError):
        os.getxattr(root / "bin/ping", "trusted.overlay.opaque")
    assert any("trusted.overlay.opaque" in w for w in res.warnings)


@needs_root
def test_whiteouts_become_overlay_markers(tmp_path):
    blob = make_tar([f("bin/.wh.ftpget", b""), f("opt/old/new", b"2"),
                     f("opt/old/.wh..wh..opq", b""), f("etc/.wh.motd", b"")])
    _, root = run(tmp_path, blob)
    wh = os.lstat(root / "bin/ftpget")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert os.getxattr(root / "opt/old", "trusted.overlay.opaque") == b"y"
    assert (root / "opt/old/new").read_bytes() == b"2"
    assert not any(p.name.startswith(".wh.") for p in root.rglob("*"))


def test_whiteout_does_not_hide_same_layer(tmp_path):
    _, root = run(tmp_path, make_tar([f("a", b"keep"), f(".wh.a", b"")]))
    assert (root / "a").read_bytes() == b"keep"


@pytest.mark.parametrize("compress", ["gzip", "zstd", "none"])
def test_compressions(tmp_path, compress):
    res, root = run(tmp_path, make_tar([f("a/b", b"data" * 1000)], compress=compress))
    assert (root / "a/b").read_bytes() == b"data" * 1000
    assert res.compression == compress


def test_replacing_entries(tmp_path):
    blob = make_tar([f("x", b"1"), d("x"), f("x/y", b"2"), f("z", b"3"), f("z", b"4")])
    _, root = run(tmp_path, blob)
    assert (root / "x/y").read_bytes() == b"2"
    assert (root / "z").read_bytes() == b"4"


def test_empty_layer(tmp_path):
    res, root = run(tmp_path, make_tar([]))
    assert root.is_dir() and list(root.iterdir()) == []
    assert res.entries == 0


# -- hostile archives -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "./../evil", "a/b/../../../x"])
def test_path_traversal(env, name):
    tmp_path, outside = env
    with pytest.raises(UnsafeLayer, match=r"'\.\.'"):
        run(tmp_path, make_tar([f("ok", b"1"), f(name, b"pwned")]))
    assert_clean(tmp_path, outside)


def test_absolute_name(env):
    tmp_path, outside = env
    with pytest.raises(UnsafeLayer, match="absolute"):
        run(tmp_path, make_tar([f(str(outside / "evil"), b"pwned")]))
    assert_clean(tmp_path, outside)


def test_absolute_symlink_then_write_through(env):
    tmp_path, outside = env
    blob = make_tar([sym("link", str(outside)), f("link/victim", b"pwned")])
    with pytest.raises(UnsafeLayer, match="symbolic link"):
        run(tmp_path, blob)
    assert_clean(tmp_path, outside)


def test_relative_dotdot_symlink_then_write_through(env):
    tmp_path, outside = env
    blob = make_tar([d("a"), sym("a/up", "../../../../outside"), f("a/up/new", b"pwned")])
    with pytest.raises(UnsafeLayer):
        run(tmp_path, blob)
    assert_clean(tmp_path, outside)


def test_dir_replaced_by_symlink_then_write(env):
    tmp_path, outside = env
    blob = make_tar([d("a"), f("a/x", b"1"), sym("a", str(outside)), f("a/victim", b"pwned")])
    with pytest.raises(UnsafeLayer):
        run(tmp_path, blob)
    assert_clean(tmp_path, outside)


def test_symlink_leaf_is_replaced_not_followed(env):
    """A file entry over an existing symlink replaces the link (never writes through)."""
    tmp_path, outside = env
    _, root = run(tmp_path, make_tar([sym("v", str(outside / "victim")), f("v", b"new")]))
    assert (root / "v").read_bytes() == b"new" and not (root / "v").is_symlink()
    assert (outside / "victim").read_text() == "safe"


@pytest.mark.parametrize("target,match", [
    ("/etc/passwd", "absolute"),
    ("../../outside/victim", r"'\.\.'"),
    ("not/in/layer", "not an earlier entry"),
])
def test_hardlink_escapes(env, target, match):
    tmp_path, outside = env
    with pytest.raises(UnsafeLayer, match=match):
        run(tmp_path, make_tar([f("a", b"1"), hard("h", target)]))
    assert_clean(tmp_path, outside)


def test_hardlink_to_symlink_links_the_symlink(env):
    tmp_path, outside = env
    _, root = run(tmp_path, make_tar([sym("s", str(outside / "victim")), hard("h", "s")]))
    assert os.readlink(root / "h") == str(outside / "victim")
    assert os.stat(outside / "victim").st_nlink == 1


def test_hardlink_to_directory_refused(env):
    tmp_path, outside = env
    with pytest.raises(UnsafeLayer, match="directory"):
        run(tmp_path, make_tar([d("dir"), hard("h", "dir")]))
    assert_clean(tmp_path, outside)


@pytest.mark.parametrize("name,match", [
    ("../.wh.outside", r"'\.\.'"),
    ("a/.wh.", "invalid whiteout"),
    ("a/.wh...", "invalid whiteout"),
    ("a/.wh..wh.x", "invalid whiteout"),
])
def test_bad_whiteouts(env, name, match):
    tmp_path, outside = env
    with pytest.raises(UnsafeLayer, match=match):
        run(tmp_path, make_tar([f(name, b"")]))
    assert_clean(tmp_path, outside)


def test_whiteout_through_symlink(env):
    tmp_path, outside = env
    with pytest.raises(UnsafeLayer, match="symbolic link"):
        run(tmp_path, make_tar([sym("l", str(outside)), f("l/.wh.victim", b"")]))
    assert_clean(tmp_path, outside)


def test_huge_size_claim(env):
    tmp_path, outside = env
    ti = _ti("big", mode=0o644)
    ti.size = 1 << 45  # 32 TiB claimed, a few bytes present
    raw = ti.tobuf(tarfile.PAX_FORMAT) + b"tiny" + b"\0" * 508
    with pytest.raises((UnsafeLayer, CorruptLayer)):
        run(tmp_path, gzip.compress(raw))
    assert_clean(tmp_path, outside)


def test_size_claim_larger_than_data(env):
    tmp_path, outside = env
    ti = _ti("f", mode=0o644)
    ti.size = 10_000
    raw = ti.tobuf(tarfile.PAX_FORMAT) + b"a" * 600
    with pytest.raises(CorruptLayer, match="truncated"):
        run(tmp_path, raw)
    assert_clean(tmp_path, outside)


def test_truncated_gzip(env):
    tmp_path, outside = env
    blob = make_tar([f("a", os.urandom(200_000)), f("b", b"2")])
    with pytest.raises(CorruptLayer):
        run(tmp_path, blob[: len(blob) // 2])
    assert_clean(tmp_path, outside)


def test_corrupt_gzip(env):
    tmp_path, outside = env
    blob = bytearray(make_tar([f("a", os.urandom(50_000))]))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises((CorruptLayer, DigestMismatch)):
        run(tmp_path, bytes(blob))
    assert_clean(tmp_path, outside)


def test_not_a_tar(env):
    tmp_path, outside = env
    with pytest.raises(CorruptLayer):
        run(tmp_path, gzip.compress(b"this is not a tar archive" * 100))
    assert_clean(tmp_path, outside)


def test_diff_id_mismatch_leaves_nothing(env):
    tmp_path, outside = env
    with pytest.raises(DigestMismatch, match="diff_id"):
        run(tmp_path, make_tar([f("a", b"1")]), expected_diff_id="sha256:" + "0" * 64)
    assert_clean(tmp_path, outside)


def test_existing_destination_is_kept(tmp_path):
    _res1, root = run(tmp_path, make_tar([f("a", b"1")]))
    _res2, root2 = run(tmp_path, make_tar([f("a", b"1")]))
    assert root == root2 and (root / "a").read_bytes() == b"1"
    assert [p.name for p in (tmp_path / "layers").iterdir()] == ["L"]


@pytest.mark.parametrize("name,expected", [
    ("./a/b", "a/b"), ("a//b/", "a/b"), ("./", ""), ("a/./b", "a/b"),
])
def test_normalize(name, expected):
    assert normalize_name(name) == expected


def test_normalize_rejects_nul():
    with pytest.raises(UnsafeLayer):
        normalize_name("a\0b")


def test_no_write_outside_after_many_tricks(env):
    """A mix of tricks in one archive: the first bad one stops everything."""
    tmp_path, outside = env
    entries = [d("etc"), sym("etc/x", "/"), sym("y", "etc/x"), f("y/victim", b"p")]
    with pytest.raises(UnsafeLayer):
        run(tmp_path, make_tar(entries))
    assert_clean(tmp_path, outside)
    assert Path("/victim").exists() is False


@needs_root
def test_whiteout_then_directory_is_opaque(tmp_path):
    _, root = run(tmp_path, make_tar([f(".wh.etc", b""), d("etc"), f("etc/new", b"n")]))
    assert os.getxattr(root / "etc", "trusted.overlay.opaque") == b"y"
    assert (root / "etc/new").read_bytes() == b"n"
