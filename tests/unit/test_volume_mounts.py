"""runtime.volumes.mounts: short-syntax modes, binds, tmpfs, volumes_from, anonymous reuse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runtime.errors import InvalidInputError, NotFoundError
from runtime.spec import Mount
from runtime.volumes import mounts as M
from runtime.volumes.store import VolumeStore


def test_parse_mode():
    assert M.parse_mode("") == M.ModeFlags()
    f = M.parse_mode("ro,Z,rshared,nocopy")
    assert (f.read_only, f.selinux, f.propagation, f.nocopy) == (True, "Z", "rshared", True)
    assert M.parse_mode("rw,z").read_only is False
    with pytest.raises(InvalidInputError, match="delegated"):
        M.parse_mode("ro,delegated")


@pytest.mark.parametrize("value", ["private", "rprivate", "shared", "rshared", "slave",
                                   "rslave"])
def test_propagation_valid(value):
    assert M.validate_propagation(value) == value


def test_propagation_default_and_invalid():
    assert M.validate_propagation(None) == "rprivate"
    with pytest.raises(InvalidInputError):
        M.validate_propagation("rbind")


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), (1024, 1024), ("1024", 1024), ("64m", 64 * 2**20), ("1.5g", 3 * 2**29),
    ("10MiB", 10 * 2**20), ("2k", 2048), ("3MB", 3 * 2**20)])
def test_parse_size(value, expected):
    assert M.parse_size(value) == expected


@pytest.mark.parametrize("bad", ["", "x", "-1", "12q", True, -5])
def test_parse_size_bad(bad):
    if bad == "":
        assert M.parse_size(bad) is None
        return
    with pytest.raises(InvalidInputError):
        M.parse_size(bad)


def test_is_bind_source():
    assert M.is_bind_source("./data") and M.is_bind_source("/abs")
    assert M.is_bind_source("~/x") and M.is_bind_source("../up")
    assert not M.is_bind_source("dbdata")


def test_bind_relative_and_created(tmp_path):
    m = M.bind_mount("./data/sub", "/srv", project_dir=tmp_path)
    assert m == Mount(type="bind", source=str(tmp_path / "data" / "sub"), target="/srv")
    assert (tmp_path / "data" / "sub").is_dir()


def test_bind_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "cfg").mkdir()
    m = M.bind_mount("~/cfg", "/etc/cfg/", project_dir=Path("/nonexistent"), read_only=True)
    assert m.source == str(tmp_path / "cfg") and m.target == "/etc/cfg" and m.read_only


def test_bind_missing_without_create(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist") as exc:
        M.bind_mount("./missing", "/x", project_dir=tmp_path, create_host_path=False)
    assert exc.value.hint and "create_host_path" in exc.value.hint
    assert not (tmp_path / "missing").exists()


def test_bind_file_source_kept(tmp_path):
    (tmp_path / "nginx.conf").write_text("x")
    m = M.bind_mount("./nginx.conf", "/etc/nginx/nginx.conf",
                     project_dir=tmp_path, create_host_path=False, propagation="rslave",
                     selinux="z")
    assert m.source == str(tmp_path / "nginx.conf") and m.propagation == "rslave"


def test_bind_bad_target_and_selinux(tmp_path):
    with pytest.raises(InvalidInputError, match="absolute"):
        M.bind_mount("/tmp", "relative", project_dir=tmp_path)
    with pytest.raises(InvalidInputError, match="selinux"):
        M.bind_mount("/tmp", "/x", project_dir=tmp_path, selinux="q")


def test_tmpfs_mount_and_short():
    m = M.tmpfs_mount("/run", size="64m", mode="1777")
    assert (m.type, m.tmpfs_size, m.tmpfs_mode) == ("tmpfs", 64 * 2**20, 0o1777)
    s = M.parse_tmpfs("/cache:size=1m,mode=700,uid=1000,noexec")
    assert (s.target, s.tmpfs_size, s.tmpfs_mode, s.options) == \
        ("/cache", 2**20, 0o700, ("uid=1000", "noexec"))
    assert M.parse_tmpfs("/plain") == Mount(type="tmpfs", target="/plain")
    assert M.parse_tmpfs("/r:ro").read_only
    with pytest.raises(InvalidInputError):
        M.parse_tmpfs("/x:foo=bar")
    with pytest.raises(InvalidInputError):
        M.tmpfs_mount("/x", mode="99x")


def test_volumes_from_modes():
    src = [Mount(type="volume", source="/v/a/_data", target="/a", volume_name="a",
                 copy_up=True),
           Mount(type="bind", source="/h", target="/h", read_only=True),
           Mount(type="tmpfs", target="/t")]
    inherit = M.volumes_from(src)
    assert [m.target for m in inherit] == ["/a", "/h"]
    assert [m.read_only for m in inherit] == [False, True]
    assert not any(m.copy_up for m in inherit)
    assert all(m.read_only for m in M.volumes_from(src, "ro"))
    assert not any(m.read_only for m in M.volumes_from(src, "rw"))
    with pytest.raises(InvalidInputError):
        M.volumes_from(src, "rx")


def test_image_volume_targets_and_anonymous_targets():
    cfg = {"Volumes": {"/var/lib/db/": {}, "/data": {}}}
    assert M.image_volume_targets(cfg) == ["/data", "/var/lib/db"]
    assert M.image_volume_targets({}) == [] and M.image_volume_targets(None) == []
    explicit = [Mount(type="volume", source="/x", target="/data")]
    assert M.anonymous_targets(cfg, explicit) == ["/var/lib/db"]


def test_volume_mount_and_subpath(state_paths):
    store = VolumeStore(state_paths)
    vol = store.create("db")
    m = M.volume_mount(vol, "/var/lib/db")
    assert (m.type, m.source, m.volume_name, m.copy_up) == \
        ("volume", str(vol.mountpoint), "db", True)
    assert M.volume_mount(vol, "/x", nocopy=True, read_only=True).copy_up is False
    (vol.mountpoint / "sub").mkdir()
    assert M.volume_mount(vol, "/x", subpath="sub").source == str(vol.mountpoint / "sub")
    with pytest.raises(InvalidInputError):
        M.volume_mount(vol, "/x", subpath="../etc")
    with pytest.raises(NotFoundError):
        M.volume_mount(vol, "/x", subpath="nope")


def test_anonymous_volume_reuse(state_paths):
    store = VolumeStore(state_paths)
    first = M.anonymous_volume(store, container="p-db-1", target="/data",
                               labels={"com.docker.compose.project": "p"})
    assert first.anonymous and first.labels["com.docker.compose.project"] == "p"
    # recreation without the old mounts at hand: found through the owner record
    assert M.anonymous_volume(store, container="p-db-1", target="/data/").name == first.name
    # from the previous container's mounts (compose's rule)
    other = store.create(None)
    prev = [Mount(type="volume", source=str(other.mountpoint), target="/data",
                  volume_name=other.name)]
    assert M.anonymous_volume(store, container="p-db-1", target="/data",
                              previous=prev).name == other.name
    # a named volume at that target is never taken as the anonymous one
    named = store.create("named")
    prev = [Mount(type="volume", source=str(named.mountpoint), target="/data",
                  volume_name="named")]
    assert M.anonymous_volume(store, container="p-db-1", target="/data",
                              previous=prev).name == first.name
    # another container gets its own
    assert M.anonymous_volume(store, container="p-db-2", target="/data").name != first.name
    assert os.path.isdir(first.mountpoint)


def test_resolve_volume_mounts(state_paths):
    store = VolumeStore(state_paths)
    req = [Mount(type="volume", target="/data", volume_name="dbdata", copy_up=False,
                 read_only=True),
           Mount(type="volume", target="/cache", copy_up=True),
           Mount(type="bind", source="/srv", target="/srv")]
    cfg = {"Volumes": {"/var/log/app": {}, "/data": {}}}
    out = M.resolve_volume_mounts(store, req, container="p-app-1", image_config=cfg)
    assert [m.target for m in out] == ["/data", "/cache", "/srv", "/var/log/app"]
    data, cache, bind, imgvol = out
    assert (data.volume_name, data.read_only, data.copy_up) == ("dbdata", True, False)
    assert data.source == str(store.get("dbdata").mountpoint)
    assert store.get(cache.volume_name).anonymous and cache.copy_up
    assert bind == req[2]
    assert store.get(imgvol.volume_name).anonymous and imgvol.copy_up
    again = M.resolve_volume_mounts(store, req, container="p-app-1", image_config=cfg,
                                    previous=out)
    assert again == out                                 # recreation reuses everything
    fresh = M.resolve_volume_mounts(store, req[1:2], container="")
    assert fresh[0].volume_name != cache.volume_name    # unnamed containers never share
