"""IDs, names, prefixes, records, spec round trip, JSON helpers, frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.container import statefile
from runtime.container.codec import spec_from_dict, to_dict
from runtime.container.create import create
from runtime.container.store import ContainerStore
from runtime.errors import ConflictError, InvalidInputError, NotFoundError
from runtime.shim import frames, minijson
from runtime.spec import ContainerSpec, LogConfig, Mount, Process, RestartPolicy, RootFS


def _spec(tmp_path, name=None) -> ContainerSpec:
    layer = tmp_path / "layer"
    layer.mkdir(exist_ok=True)
    return ContainerSpec(image="img", image_id="", rootfs=RootFS((layer,)),
                         process=Process(args=("sh", "-c", "x"), env=("A=1",)), name=name,
                         mounts=(Mount(type="tmpfs", target="/t", tmpfs_size=5),),
                         restart=RestartPolicy("on-failure", 2), log=LogConfig(max_size=9))


def test_spec_round_trip(tmp_path):
    s = _spec(tmp_path, "n")
    assert spec_from_dict(minijson.loads(minijson.dumps(to_dict(s)))) == s


def test_create_resolve_names_and_prefixes(state_paths, tmp_path):
    store = ContainerStore(state_paths)
    a = create(store, _spec(tmp_path, "web"))
    b = create(store, _spec(tmp_path))
    assert len(a) == 64 and store.resolve("web") == a and store.resolve(a[:12]) == a
    assert store.resolve("/web") == a
    rec = store.load(b)
    assert rec.status.value == "created" and rec.name and rec.name != "web"
    with pytest.raises(ConflictError, match="already in use"):
        create(store, _spec(tmp_path, "web"))
    with pytest.raises(NotFoundError):
        store.resolve("nothing-here")
    with pytest.raises(InvalidInputError):
        create(store, _spec(tmp_path, "bad name!"))
    common = next((i for i in range(64) if a[i] != b[i]), 64)
    if common:
        with pytest.raises(ConflictError, match="multiple"):
            store.resolve(a[:common])


def test_statefile_update_is_a_merge(tmp_path):
    statefile.update(str(tmp_path), status="running", pid=5)
    statefile.update(str(tmp_path), pid=0)
    assert statefile.read(str(tmp_path)) == {"status": "running", "pid": 0}
    assert statefile.now_rfc3339(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456789Z"


def test_reconcile_reports_lost_supervision(state_paths, tmp_path):
    store = ContainerStore(state_paths)
    cid = create(store, _spec(tmp_path))
    statefile.update(str(store.dir(cid)), status="running", pid=999999, monitor_pid=999998,
                     keeper_pid=999997, pid_start=1)
    st = store.load(cid).state
    assert st["status"] == "exited" and st["exit_code"] == 255 and "supervisor" in st["error"]


def test_frames_round_trip():
    r = frames.FrameReader()
    data = frames.pack(frames.STDOUT, b"hello") + frames.pack(frames.EXIT, b'{"exit_code":3}')
    assert r.feed(data[:7]) == []
    assert r.feed(data[7:]) == [(frames.STDOUT, b"hello"), (frames.EXIT, b'{"exit_code":3}')]
    with pytest.raises(ValueError):
        frames.FrameReader().feed(bytes([1]) + (frames.MAX_FRAME + 1).to_bytes(4, "big"))


def test_minijson_matches_json():
    import json

    doc = {"a": [1, 2.5, None, True, False], "s": "é\n\"", "n": {"x": {}}}
    assert minijson.loads(json.dumps(doc, indent=3)) == doc
    assert json.loads(minijson.dumps(doc)) == doc
    with pytest.raises(ValueError):
        minijson.loads("{} x")


def test_monitor_imports_stay_lean():
    import subprocess
    import sys

    code = (f"import sys; sys.path.insert(0, {str(Path.cwd())!r}); "
            "import runtime.shim.monitor, "
            "runtime.shim.keeper, runtime.shim.logwriter, runtime.shim.cgroup; "
            "print(sorted({'re','enum','json','socket','signal','typing','dataclasses',"
            "'pathlib','contextlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
