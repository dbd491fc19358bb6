"""runtime.volumes.store / driveropts / inuse: pure logic on a temporary root."""

from __future__ import annotations

import json

import pytest

from runtime.errors import ConflictError, InvalidInputError, NotFoundError
from runtime.volumes.driveropts import UnsupportedVolumeOption, plan_host_mount
from runtime.volumes.inuse import volume_users, volumes_in_use, volumes_of_config
from runtime.volumes.store import (
    ANONYMOUS_LABEL,
    VolumeStore,
    match_label,
    owner_key,
    validate_name,
)


@pytest.fixture
def store(state_paths):
    return VolumeStore(state_paths)


def _use(state_paths, cid: str, config) -> None:
    d = state_paths.containers / cid
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps(config))


def test_create_get_list_and_meta(store):
    vol = store.create("db", labels={"com.docker.compose.project": "p"})
    assert vol.mountpoint == store.dir / "db" / "_data"
    assert vol.mountpoint.is_dir()
    meta = json.loads((store.dir / "db" / "meta.json").read_text())
    assert meta["Name"] == "db" and meta["Anonymous"] is False
    assert meta["Labels"] == {"com.docker.compose.project": "p"}
    assert store.get("db").inspect()["Mountpoint"] == str(vol.mountpoint)
    assert [v.name for v in store.list()] == ["db"]
    # no temp leftovers
    assert sorted(p.name for p in store.dir.iterdir()) == [".lock", "db"]


def test_create_existing_conflict_and_exist_ok(store):
    store.create("db", labels={"a": "1"})
    with pytest.raises(ConflictError):
        store.create("db")
    again = store.create("db", labels={"b": "2"}, exist_ok=True)
    assert again.labels == {"a": "1"}


def test_anonymous_names_and_label(store):
    vol = store.create(None)
    assert len(vol.name) == 64 and int(vol.name, 16) >= 0
    assert vol.anonymous and ANONYMOUS_LABEL in vol.labels


@pytest.mark.parametrize("bad", ["", "a", "-x", "a/b", "../x", "a b", ".lock"])
def test_invalid_names(store, bad):
    with pytest.raises(InvalidInputError):
        validate_name(bad)
    with pytest.raises(InvalidInputError):
        store.create(bad)


def test_get_missing(store):
    with pytest.raises(NotFoundError):
        store.get("nope")


def test_remove_and_force(store):
    store.create("db")
    assert store.remove("db") is True
    assert not store.exists("db")
    with pytest.raises(NotFoundError):
        store.remove("db")
    assert store.remove("db", force=True) is False
    assert not any(p.name.startswith(".trash") for p in store.dir.iterdir())


def test_remove_refused_while_used(store, state_paths):
    vol = store.create("db")
    (vol.mountpoint / "keep").write_text("x")
    _use(state_paths, "c1", {"mounts": [{"type": "volume", "volume_name": "db",
                                         "source": str(vol.mountpoint), "target": "/d"}]})
    with pytest.raises(ConflictError, match="c1"):
        store.remove("db")
    with pytest.raises(ConflictError):
        store.remove("db", force=True)
    assert (vol.mountpoint / "keep").read_text() == "x"


def test_volumes_of_config_shapes(tmp_path):
    vdir = tmp_path / "volumes"
    cfg = {
        "spec": {"mounts": [{"type": "volume", "volume_name": "a", "target": "/a"},
                            {"type": "bind", "source": "/srv", "target": "/s"}]},
        "Mounts": [{"Type": "volume", "Name": "b"}],
        "other": [str(vdir / "c" / "_data" / "sub"), str(vdir / "d"), "/elsewhere"],
    }
    assert volumes_of_config(cfg, vdir) == {"a", "b", "c"}


def test_volume_users_skips_broken(state_paths):
    _use(state_paths, "c1", {"mounts": [{"volume_name": "x"}]})
    d = state_paths.containers / "c2"
    d.mkdir()
    (d / "config.json").write_text("{not json")
    assert volume_users(state_paths) == {"x": {"c1"}}
    assert volumes_in_use(state_paths) == {"x"}


def test_prune_anonymous_only_unless_all(store, state_paths):
    anon = store.create(None)
    used_anon = store.create(None)
    store.create("named")
    _use(state_paths, "c1", {"mounts": [{"volume_name": used_anon.name}]})
    assert store.prune() == [anon.name]
    assert sorted(v.name for v in store.list()) == sorted([used_anon.name, "named"])
    assert store.prune(all_volumes=True) == ["named"]
    assert [v.name for v in store.list()] == [used_anon.name]


def test_prune_label_filter(store):
    store.create("a1", labels={"com.docker.compose.project": "a"})
    store.create("b1", labels={"com.docker.compose.project": "b"})
    assert store.prune(all_volumes=True,
                       label_filters=["com.docker.compose.project=a"]) == ["a1"]


@pytest.mark.parametrize(("flt", "expected"), [
    ("k", True), ("k=v", True), ("k=w", False), ("!k", False), ("!z", True),
    ("k!=v", False), ("k!=w", True), ("z", False)])
def test_match_label(flt, expected):
    assert match_label({"k": "v"}, flt) is expected


def test_find_anonymous_by_owner(store):
    assert store.find_anonymous("p-web-1", "/data") is None
    vol = store.create(None, owner=owner_key("p-web-1", "/data"))
    store.create(None, owner=owner_key("p-web-1", "/other"))
    assert store.find_anonymous("p-web-1", "/data").name == vol.name
    assert store.find_anonymous("p-web-2", "/data") is None


def test_sweeps_leftover_temp_dirs(store):
    store.create("aa")
    (store.dir / ".tmp-x-1234" / "_data").mkdir(parents=True)
    (store.dir / ".trash-y-1234").mkdir()
    store.create("bb")
    assert sorted(p.name for p in store.dir.iterdir()) == [".lock", "aa", "bb"]


# -- driver options --------------------------------------------------------------------

def test_plan_plain():
    assert plan_host_mount("local", {}) is None


def test_plan_bind():
    plan = plan_host_mount("local", {"type": "none", "o": "bind", "device": "/srv/x"})
    assert (plan.kind, plan.device, plan.recursive, plan.read_only) == \
        ("bind", "/srv/x", False, False)
    plan = plan_host_mount("local", {"type": "none", "o": "rbind,ro", "device": "/srv/x"})
    assert plan.recursive and plan.read_only


def test_plan_tmpfs():
    plan = plan_host_mount("local", {"type": "tmpfs", "device": "tmpfs",
                                     "o": "size=10m,uid=1000,mode=0700,noexec"})
    assert plan.kind == "tmpfs" and plan.data == "size=10m,uid=1000,mode=0700"
    assert plan.flags == ("noexec",)


@pytest.mark.parametrize(("driver", "opts", "match"), [
    ("nfs-driver", {}, "driver"),
    ("local", {"type": "nfs", "o": "addr=1.2.3.4", "device": ":/x"}, "nfs"),
    ("local", {"type": "ext4", "device": "/dev/sdb1"}, "ext4"),
    ("local", {"type": "none", "device": "/x"}, "without o=bind"),
    ("local", {"type": "none", "o": "bind"}, "device"),
    ("local", {"type": "none", "o": "bind", "device": "rel/x"}, "absolute"),
    ("local", {"type": "none", "o": "bind,uid=3", "device": "/x"}, "uid"),
    ("local", {"type": "tmpfs", "o": "weird=1"}, "weird"),
    ("local", {"size": "10m"}, "size"),
])
def test_plan_refused(driver, opts, match):
    with pytest.raises(UnsupportedVolumeOption, match=match):
        plan_host_mount(driver, opts)


def test_create_bind_volume_needs_existing_device(store, tmp_path):
    with pytest.raises(UnsupportedVolumeOption, match="does not exist"):
        store.create("bv", options={"type": "none", "o": "bind",
                                   "device": str(tmp_path / "missing")})
    assert not store.exists("bv")


def _create_in_child(paths, q) -> None:
    try:
        store = VolumeStore(paths)
        store.create("shared", exist_ok=True)
        q.put(store.create(None).name)
    except Exception as err:  # reported to the parent
        q.put(f"error: {err}")


def test_concurrent_creates_from_processes(state_paths):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_create_in_child, args=(state_paths, q)) for _ in range(8)]
    for p in procs:
        p.start()
    names = [q.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(30)
    assert not [n for n in names if n.startswith("error")]
    store = VolumeStore(state_paths)
    assert sorted(v.name for v in store.list()) == sorted([*names, "shared"])
    assert not [p for p in store.dir.iterdir() if p.name.startswith((".tmp", ".trash"))]
