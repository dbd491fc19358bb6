"""Volume side on the real kernel, no container: driver_opts mounts on the host,
export/import with owners and xattrs, copy-up of image layers with owners/whiteouts."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from runtime.errors import ConflictError
from runtime.volumes import _sys
from runtime.volumes.archive import CorruptArchive, export_volume, import_volume
from runtime.volumes.copyup import copy_up
from runtime.volumes.store import VolumeStore
from tests.conftest import needs_root

pytestmark = [pytest.mark.integration, needs_root]


@pytest.fixture
def store(state_paths):
    s = VolumeStore(state_paths)
    yield s
    for v in s.list():                       # never leave a host mount behind
        try:
            s.remove(v.name, force=True)
        except Exception:
            pass
        for mp in _sys.mounts_under(v.path):
            _sys.umount2(mp, _sys.MNT_DETACH)


def _fstype(path: Path) -> str | None:
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        found = None
        for line in f:
            left, right = line.split(" - ")
            if _sys._unescape(left.split()[4]) == real:
                found = right.split()[0]
    return found


def test_tmpfs_volume_mounted_on_first_use_and_unmounted_on_rm(store):
    vol = store.create("tmpvol", options={"type": "tmpfs", "device": "tmpfs",
                                          "o": "size=1m,mode=0710,uid=1000"})
    assert not _sys.is_mount_point(vol.mountpoint)          # lazily, at first use
    data = store.prepare("tmpvol")
    assert _fstype(data) == "tmpfs"
    st = os.stat(data)
    assert stat.S_IMODE(st.st_mode) == 0o710 and st.st_uid == 1000
    assert os.statvfs(data).f_blocks * os.statvfs(data).f_frsize == 1024 * 1024
    store.prepare("tmpvol")                                  # idempotent: not stacked
    assert sum(1 for m in _sys.mount_points() if m == str(data)) == 1
    (data / "f").write_text("x")
    assert store.remove("tmpvol")
    assert not _sys.mounts_under(vol.path) and not vol.path.exists()


def test_bind_volume_shows_device_and_rm_keeps_host_data(store, tmp_path):
    device = tmp_path / "hostdir"
    device.mkdir()
    (device / "host.txt").write_text("precious")
    vol = store.create("bindvol", options={"type": "none", "o": "bind",
                                           "device": str(device)})
    data = store.prepare("bindvol")
    assert (data / "host.txt").read_text() == "precious"
    (data / "new.txt").write_text("from volume")
    assert (device / "new.txt").read_text() == "from volume"
    store.remove("bindvol")
    assert not _sys.mounts_under(vol.path)
    assert (device / "host.txt").read_text() == "precious"     # never deleted through it
    assert (device / "new.txt").is_file()


def test_release_unmounts_unused(store):
    store.create("relvol", options={"type": "tmpfs", "device": "tmpfs", "o": "size=64k"})
    data = store.prepare("relvol")
    assert _sys.is_mount_point(data)
    assert store.release("relvol") is True
    assert not _sys.is_mount_point(data)


def _populate(d: Path) -> None:
    (d / "pgdata" / "base").mkdir(parents=True)
    (d / "pgdata" / "base" / "1").write_bytes(os.urandom(100000))
    (d / "pgdata" / "PG_VERSION").write_text("16\n")
    os.chown(d / "pgdata", 999, 999)
    os.chown(d / "pgdata" / "base" / "1", 999, 50)
    os.chmod(d / "pgdata", 0o700)
    os.chmod(d / "pgdata" / "base" / "1", 0o600)
    (d / "bin").mkdir()
    (d / "bin" / "tool").write_text("#!/bin/sh\n")
    os.chmod(d / "bin" / "tool", 0o4755)
    os.setxattr(d / "bin" / "tool", "trusted.pycompose-test", b"\x00\x01")
    os.setxattr(d / "bin" / "tool", "user.mime", b"text/x-sh")
    os.mknod(d / "bin" / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.symlink("../pgdata", d / "bin" / "data")
    os.lchown(d / "bin" / "data", 1000, 1000)
    os.link(d / "pgdata" / "PG_VERSION", d / "bin" / "ver")
    os.chown(d, 1000, 1000)


def _export(store, name) -> bytes:
    buf = io.BytesIO()
    export_volume(store, name, buf)
    return buf.getvalue()


@pytest.mark.parametrize("target_opts", [{}, {"type": "tmpfs", "device": "tmpfs",
                                              "o": "size=8m"}])
def test_export_import_round_trip_with_owners_modes_xattrs(store, target_opts):
    store.create("srcvol")
    _populate(store.prepare("srcvol"))
    tar = _export(store, "srcvol")
    store.create("dstvol", options=target_opts)
    import_volume(store, "dstvol", io.BytesIO(tar))
    d = store.prepare("dstvol")
    assert _export(store, "dstvol") == tar                       # byte for byte
    st = os.stat(d / "pgdata")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (999, 999, 0o700)
    st = os.stat(d / "pgdata" / "base" / "1")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (999, 50, 0o600)
    assert stat.S_IMODE(os.stat(d / "bin" / "tool").st_mode) == 0o4755
    assert os.getxattr(d / "bin" / "tool", "trusted.pycompose-test") == b"\x00\x01"
    assert os.stat(d / "bin" / "null").st_rdev == os.makedev(1, 3)
    assert os.lstat(d / "bin" / "data").st_uid == 1000
    assert os.stat(d / "bin" / "ver").st_ino == os.stat(d / "pgdata" / "PG_VERSION").st_ino
    assert os.stat(d).st_uid == 1000
    assert (d / "pgdata" / "base" / "1").read_bytes() == \
        (store.get("srcvol").mountpoint / "pgdata" / "base" / "1").read_bytes()


def test_corrupt_import_into_existing_volume_changes_nothing(store):
    store.create("keepvol")
    d = store.prepare("keepvol")
    _populate(d)
    before = _export(store, "keepvol")
    with pytest.raises(CorruptArchive):
        import_volume(store, "keepvol", io.BytesIO(before[: len(before) // 2]), replace=True)
    with pytest.raises(ConflictError):
        import_volume(store, "keepvol", io.BytesIO(before))      # not empty, no replace
    assert _export(store, "keepvol") == before


def test_copy_up_from_layers_with_owners_whiteouts_and_opaque(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "var" / "lib" / "app" / "old").mkdir(parents=True)
    (lower / "var" / "lib" / "app" / "gone.txt").write_text("deleted in upper")
    (lower / "var" / "lib" / "app" / "old" / "x").write_text("hidden by opaque")
    (lower / "var" / "lib" / "app" / "conf").write_text("lower conf")
    os.chown(lower / "var" / "lib" / "app" / "conf", 1000, 50)
    os.chmod(lower / "var" / "lib" / "app" / "conf", 0o640)
    (upper / "var" / "lib" / "app" / "old").mkdir(parents=True)
    os.setxattr(upper / "var" / "lib" / "app" / "old", "trusted.overlay.opaque", b"y")
    (upper / "var" / "lib" / "app" / "old" / "y").write_text("upper")
    os.mknod(upper / "var" / "lib" / "app" / "gone.txt", stat.S_IFCHR, 0)   # whiteout
    os.symlink("conf", upper / "var" / "lib" / "app" / "conf.link")
    os.lchown(upper / "var" / "lib" / "app" / "conf.link", 1000, 1000)
    (upper / "var" / "run").parent.mkdir(parents=True, exist_ok=True)
    os.symlink("/var/lib/app", upper / "var" / "run")
    os.chown(upper / "var" / "lib" / "app", 1000, 1000)
    os.chmod(upper / "var" / "lib" / "app", 0o750)
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_up((upper, lower), "/var/run", dest) is True      # through a symlink
    assert sorted(os.listdir(dest)) == ["conf", "conf.link", "old"]
    assert os.listdir(dest / "old") == ["y"]
    st = os.stat(dest / "conf")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 50, 0o640)
    assert os.lstat(dest / "conf.link").st_uid == 1000
    assert os.readlink(dest / "conf.link") == "conf"
    st = os.stat(dest)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 1000, 0o750)
    with pytest.raises(OSError):
        os.getxattr(dest / "old", "trusted.overlay.opaque")     # overlay markers not copied


def _snapshot(d: Path) -> dict[str, tuple[int, int, bytes]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(d):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = os.lstat(p)
            data = p.read_bytes() if stat.S_ISREG(st.st_mode) else b""
            out[str(p.relative_to(d))] = (st.st_uid, st.st_mode, data)
    return out


def test_sigkill_during_import_leaves_old_or_new_content(store, state_paths, tmp_path):
    import random
    import subprocess
    import sys

    from tests.conftest import cli_env

    tars = []
    for tag in ("A", "B"):
        store.create(f"src{tag}")
        d = store.prepare(f"src{tag}")
        for i in range(40):
            sub = d / f"dir{i}"
            sub.mkdir()
            for j in range(50):
                (sub / f"f{j}").write_bytes(f"{tag}{i}-{j}".encode() * 200)
        os.chown(d / "dir0", 1000 if tag == "A" else 2000, 0)
        path = tmp_path / f"{tag}.tar"
        with open(path, "wb") as f:
            export_volume(store, f"src{tag}", f)
        tars.append(path)
    snaps = [_snapshot(store.get("srcA").mountpoint), _snapshot(store.get("srcB").mountpoint)]
    with open(tars[0], "rb") as f:
        import_volume(store, "victim", f)
    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    rng = random.Random(7)
    current = 0
    for _ in range(10):
        other = 1 - current
        proc = subprocess.Popen([sys.executable, "-m", "compose", "volume", "import", "--force",
                                 "victim", str(tars[other])], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=rng.uniform(0.05, 3.0))  # varies the kill point only
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        got = _snapshot(store.prepare("victim"))       # prepare() runs the recovery
        assert got in snaps, "volume content is neither the old nor the new archive"
        current = snaps.index(got)
    assert not [n for n in os.listdir(store.get("victim").mountpoint)
                if n.startswith(".pycompose")]
