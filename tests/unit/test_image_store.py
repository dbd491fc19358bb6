"""ImageStore: import, resolve, tags, rmi semantics, prune/gc, shared layers, locking."""

from __future__ import annotations

import io
import json
import os
import threading

import pytest

from runtime.images import ImageStore, parse_reference
from runtime.images.digest import chain_ids, sha256_bytes
from runtime.images.errors import CorruptLayer, ImageInUse, ImageNotFound, InvalidReference
from tests.imagetools import d, f, make_tar


@pytest.fixture
def store(state_paths):
    return ImageStore(state_paths)


def imp(store, tag, entries, **kw):
    return store.import_rootfs(io.BytesIO(make_tar(entries)),
                               parse_reference(tag) if tag else None, **kw)


def test_import_resolve_and_api(store):
    img = imp(store, "app:1", [d("bin"), f("bin/sh", b"#!")], changes={"Cmd": ["sh"]})
    assert img.id.startswith("sha256:") and len(img.id) == 71
    assert img.id == sha256_bytes(store.read_blob(img.id))
    assert img.config == {"Cmd": ["sh"]}
    assert img.references == ("docker.io/library/app:1",)
    (top,) = img.layer_dirs()
    assert (top / "bin/sh").read_bytes() == b"#!"
    assert img.short_layer_dirs()[0].startswith("l/")
    assert (store.root / img.short_layer_dirs()[0] / "bin/sh").exists()
    for name in ("app:1", "docker.io/library/app:1", img.id, img.id[7:], img.id[7:19]):
        assert store.resolve(name).id == img.id
    with pytest.raises(ImageNotFound) as e:
        store.resolve("app:2")
    assert "pull" in e.value.hint
    with pytest.raises(InvalidReference):
        store.resolve("Bad:Name!")


def test_shared_layers_stored_once(store):
    base = [d("etc"), f("etc/os", b"base")]
    a = imp(store, "a:1", base)
    b = imp(store, "b:1", base, changes={"Cmd": ["x"]})
    assert a.id != b.id
    assert a.layer_dirs() == b.layer_dirs()
    assert len([p for p in store.layers.iterdir() if not p.name.startswith(".")]) == 1


def test_tags_untag_delete(store):
    img = imp(store, "a:1", [f("x")])
    store.tag("a:1", "localhost:5000/team/a:2")
    assert set(store.resolve("a:1").references) == {
        "docker.io/library/a:1", "localhost:5000/team/a:2"}
    with pytest.raises(ImageInUse, match="multiple repositories"):
        store.remove(img.id)
    assert store.remove("a:1") == [("Untagged", "a:1")]
    assert store.resolve(img.id).references == ("localhost:5000/team/a:2",)
    ev = store.remove("localhost:5000/team/a:2")
    assert ev == [("Untagged", "localhost:5000/team/a:2"), ("Deleted", img.id)]
    assert store.list() == []
    assert list(store.blobs.iterdir()) == []
    assert [p for p in store.layers.iterdir()] == []


def test_force_remove_by_id(store):
    img = imp(store, "a:1", [f("x")])
    store.tag("a:1", "b:1")
    ev = store.remove(img.id[7:19], force=True)
    assert ("Deleted", img.id) in ev and len(ev) == 3


def test_in_use_by_container(store, state_paths):
    img = imp(store, "a:1", [f("x")])
    c = state_paths.containers / "c1"
    c.mkdir(parents=True)
    # the container store's format: {"id", "name", "created", "spec": {..., "image_id"}}
    (c / "config.json").write_text(json.dumps({"id": "c1", "name": "web", "created": 0,
                                               "spec": {"image_id": img.id}}))
    with pytest.raises(ImageInUse, match="web"):
        store.remove("a:1")
    assert store.remove("a:1", force=True) == [("Untagged", "a:1")]
    assert store.get(img.id).dangling
    assert store.prune(all_images=True)[0] == []  # still used: kept


def test_dangling_and_prune(store):
    old = imp(store, "a:1", [f("x", b"old")])
    new = imp(store, "a:1", [f("x", b"new")])
    assert store.get(old.id).dangling and not store.get(new.id).dangling
    deleted, reclaimed = store.prune()
    assert deleted == [old.id] and reclaimed > 0
    assert store.resolve("a:1").id == new.id
    deleted, _ = store.prune(all_images=True)
    assert deleted == [new.id] and store.list() == []


def test_chain_ids():
    d1, d2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    assert chain_ids([d1, d2]) == [d1, sha256_bytes(f"{d1} {d2}".encode())]


def test_concurrent_index_updates(store):
    img = imp(store, "a:1", [f("x")])
    errors = []

    def tagger(i):
        try:
            for j in range(10):
                store.tag(img.id, f"t{i}:{j}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=tagger, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(store.resolve(img.id).references) == 61


def test_corrupt_import_leaves_nothing(store):
    blob = make_tar([f("a", os.urandom(100000))])
    with pytest.raises(CorruptLayer):
        store.import_rootfs(io.BytesIO(blob[:200]), parse_reference("x:1"))
    assert store.list() == []
    assert [p for p in store.layers.iterdir()] == []


def test_resolve_seam_for_containers(store, state_paths):
    from runtime.images import resolve

    img = imp(store, "a:1", [f("x")], changes={"Cmd": ["sh"]})
    ref, iid, layers, cfg = resolve("a:1", state_paths)
    assert (ref, iid, layers, cfg) == ("a:1", img.id, img.layer_dirs(), {"Cmd": ["sh"]})
    with pytest.raises(ImageNotFound):
        resolve("b:1", state_paths)


def test_layers_added_without_parent_are_restacked(store):
    from runtime.images.platform import host_platform

    a = store.add_layer(io.BytesIO(make_tar([f("a", b"1")])))
    b = store.add_layer(io.BytesIO(make_tar([f("b", b"2")])))   # parent not given
    img = store.create_image({"architecture": host_platform().architecture, "os": "linux",
                              "config": {}}, [a, b], [parse_reference("s:1")])
    top, base = img.layer_dirs()
    assert (top / "b").read_bytes() == b"2" and (base / "a").read_bytes() == b"1"
