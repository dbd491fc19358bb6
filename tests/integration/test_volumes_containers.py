"""Volumes, binds, tmpfs and secrets with real containers."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from runtime.errors import ConflictError
from runtime.spec import RootFS
from runtime.volumes import mounts as M
from runtime.volumes import secrets as S
from runtime.volumes.hooks import remove_anonymous_volumes
from runtime.volumes.store import VolumeStore
from tests.conftest import needs_root
from tests.integration.helpers import output, spec

pytestmark = [pytest.mark.integration, needs_root]


@pytest.fixture
def vols(state_paths, rt):
    store = VolumeStore(state_paths)
    yield store
    for _ in range(3):                               # containers first, then volumes
        records = rt.containers.store.records()
        if not records:
            break
        for rec in records:
            try:
                rt.containers.remove(rec.id, force=True)
            except Exception:
                time.sleep(0.5)
    for v in store.list():
        store.remove(v.name, force=True)


def _run(rt, image, *args, **kw) -> tuple[str, int, str, str]:
    cid = rt.containers.create(spec(image, *args, **kw))
    rt.containers.start(cid)
    code = rt.containers.wait(cid, timeout=60)
    return cid, code, output(rt, cid), output(rt, cid, "stderr")


def test_named_volume_survives_removal_and_recreation(rt, vols, busybox):
    vol = vols.create("dbdata", labels={"com.docker.compose.project": "p"})
    m = M.volume_mount(vol, "/var/lib/db")
    cid, code, _, err = _run(rt, busybox, "sh", "-c", "echo row1 > /var/lib/db/t",
                             mounts=(m,), name="db1")
    assert code == 0, err
    with pytest.raises(ConflictError, match="in use"):
        vols.remove("dbdata")                                 # stopped container uses it
    rt.containers.remove(cid)
    cid, code, out, _ = _run(rt, busybox, "sh", "-c", "echo row2 >> /var/lib/db/t; "
                             "cat /var/lib/db/t", mounts=(m,), name="db1")
    assert (code, out) == (0, "row1\nrow2\n")
    rt.containers.remove(cid)
    assert vols.remove("dbdata")


def _image_with_data(tmp_path: Path, busybox: Path) -> tuple[Path, ...]:
    layer = tmp_path / "layer"
    (layer / "srv" / "data" / "sub").mkdir(parents=True)
    (layer / "srv" / "data" / "seed.txt").write_text("seeded by the image\n")
    (layer / "srv" / "data" / "sub" / "x").write_text("x")
    os.symlink("seed.txt", layer / "srv" / "data" / "link")
    os.chown(layer / "srv" / "data", 1000, 1000)
    os.chmod(layer / "srv" / "data", 0o750)
    os.chown(layer / "srv" / "data" / "seed.txt", 1000, 50)
    os.chmod(layer / "srv" / "data" / "seed.txt", 0o640)
    return (layer, busybox)


def test_copy_up_fills_empty_volume_with_owner_and_mode(rt, vols, busybox, tmp_path):
    layers = _image_with_data(tmp_path, busybox)
    vol = vols.create("seeded")
    m = M.volume_mount(vol, "/srv/data")
    script = ("stat -c '%u:%g %a %n' /srv/data /srv/data/seed.txt; "
              "cat /srv/data/link; readlink /srv/data/link")
    cid = rt.containers.create(_with_rootfs(spec(busybox, "sh", "-c", script, mounts=(m,)),
                                            layers))
    rt.containers.start(cid)
    assert rt.containers.wait(cid, timeout=60) == 0, output(rt, cid, "stderr")
    assert output(rt, cid).splitlines() == [
        "1000:1000 750 /srv/data", "1000:50 640 /srv/data/seed.txt",
        "seeded by the image", "seed.txt"]
    # host side: the volume holds the copy; a non-empty volume is never overwritten
    (vol.mountpoint / "seed.txt").write_text("changed\n")
    rt.containers.remove(cid)
    cid = rt.containers.create(_with_rootfs(spec(busybox, "cat", "/srv/data/seed.txt",
                                                 mounts=(m,)), layers))
    rt.containers.start(cid)
    rt.containers.wait(cid, timeout=60)
    assert output(rt, cid) == "changed\n"


def test_nocopy_leaves_volume_empty(rt, vols, busybox, tmp_path):
    layers = _image_with_data(tmp_path, busybox)
    vol = vols.create("empty1")
    m = M.volume_mount(vol, "/srv/data", nocopy=True)
    cid = rt.containers.create(_with_rootfs(spec(busybox, "ls", "-A", "/srv/data",
                                                 mounts=(m,)), layers))
    rt.containers.start(cid)
    assert rt.containers.wait(cid, timeout=60) == 0
    assert output(rt, cid) == "" and os.listdir(vol.mountpoint) == []


def _asdict(s) -> dict:
    return {f: getattr(s, f) for f in s.__slots__}


def _with_rootfs(s, layers):
    return s.__class__(**{**_asdict(s), "rootfs": RootFS(tuple(layers))})


def test_bind_mount_live_and_read_only(rt, vols, busybox, tmp_path):
    host = tmp_path / "proj" / "conf"
    rw = M.bind_mount("./conf", "/conf", project_dir=tmp_path / "proj")
    ro = M.bind_mount("./conf", "/ro", project_dir=tmp_path / "proj", read_only=True)
    assert host.is_dir()
    cid = rt.containers.create(spec(
        busybox, "sh", "-c",
        "i=0; while [ ! -f /conf/go ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
        "cat /ro/go; echo fromc > /conf/back; echo x > /ro/deny || echo ro-refused",
        mounts=(rw, ro)))
    rt.containers.start(cid)
    time.sleep(0.3)
    (host / "go").write_text("host-change\n")
    assert rt.containers.wait(cid, timeout=60) == 0
    assert output(rt, cid) == "host-change\nro-refused\n"
    assert (host / "back").read_text() == "fromc\n"
    assert not (host / "deny").exists()


def test_tmpfs_size_enforced(rt, vols, busybox):
    t = M.parse_tmpfs("/scratch:size=1m,mode=1777")
    _, _, out, err = _run(rt, busybox, "sh", "-c",
                             "stat -c %a /scratch; dd if=/dev/zero of=/scratch/f bs=1k "
                             "count=2048; echo rc=$?; ls -l /scratch/f | awk '{print $5}'",
                             mounts=(t,))
    lines = out.splitlines()
    assert lines[0] == "1777"
    assert "No space left" in err and lines[1] != "rc=0"
    assert int(lines[-1]) <= 1024 * 1024


def test_secrets_owner_mode_and_absent_from_inspect_and_logs(rt, vols, busybox, tmp_path,
                                                             state_paths):
    secret_value = "pw-7f3a9c-unique"
    cdir = tmp_path / "cstate"
    srcs = {"db_pw": S.Source("db_pw", environment="DB_PW"),
            "app_conf": S.Source("app_conf", content="mode=prod\n")}
    mounts = S.materialize(cdir, "secret", [S.Use("db_pw")], srcs,
                           env={"DB_PW": secret_value}, default_uid=1000, default_gid=1000)
    mounts += S.materialize(cdir, "config", [S.Use("app_conf", target="/etc/app.conf")],
                            srcs, env={}, default_uid=1000, default_gid=1000)
    script = ("stat -c '%u %a' /run/secrets/db_pw; "
              "[ \"$(cat /run/secrets/db_pw)\" = \"$EXPECT\" ] && echo app-can-read; "
              "cat /etc/app.conf; echo x >> /etc/app.conf || echo config-ro")
    cid, code, out, err = _run(rt, busybox, "sh", "-c", script, mounts=tuple(mounts),
                               user="app", env=(f"EXPECT={secret_value}",))
    assert code == 0, err
    assert out.splitlines() == ["1000 400", "app-can-read", "mode=prod", "config-ro"]
    _, code, out, err = _run(rt, busybox, "sh", "-c", "cat /run/secrets/db_pw || echo denied",
                             mounts=tuple(mounts), user="nobody")
    assert "denied" in out and secret_value not in out + err
    info = json.dumps(rt.containers.inspect(cid))
    assert secret_value not in info.replace(f"EXPECT={secret_value}", "")
    for logfile in state_paths.containers.glob("*/*-json.log"):
        assert secret_value not in logfile.read_text()
    config = (state_paths.containers / cid / "config.json").read_text()
    assert secret_value not in config.replace(f"EXPECT={secret_value}", "")
    assert stat.S_IMODE(os.stat(cdir / "secrets").st_mode) == 0o700


def test_anonymous_volume_reused_on_recreate_and_removed_with_v(rt, vols, busybox):
    vol = M.anonymous_volume(vols, container="p-web-1", target="/cache")
    m = M.volume_mount(vol, "/cache")
    cid, code, _, _ = _run(rt, busybox, "sh", "-c", "echo kept > /cache/f", mounts=(m,),
                           name="p-web-1")
    old = rt.containers.get(cid).spec
    rt.containers.remove(cid)
    again = M.anonymous_volume(vols, container="p-web-1", target="/cache",
                               previous=old.mounts)
    assert again.name == vol.name
    cid, code, out, _ = _run(rt, busybox, "cat", "/cache/f",
                             mounts=(M.volume_mount(again, "/cache"),), name="p-web-1")
    assert (code, out) == (0, "kept\n")
    named = vols.create("named1")
    _run(rt, busybox, "true", mounts=(M.volume_mount(named, "/n"),))
    s1 = rt.containers.get(cid).spec
    rt.containers.remove(cid)
    assert remove_anonymous_volumes(rt.paths, s1) == [vol.name]
    assert not vols.exists(vol.name) and vols.exists("named1")


def test_tmpfs_driver_volume_in_container_and_cleanup(rt, vols, busybox):
    vol = vols.create("fastvol", options={"type": "tmpfs", "device": "tmpfs", "o": "size=2m"})
    m = M.volume_mount(vol, "/fast")
    cid, code, out, err = _run(rt, busybox, "sh", "-c",
                               "df -k /fast | tail -1 | awk '{print $2}'; echo hi > /fast/x",
                               mounts=(m,))
    assert code == 0, err
    assert out.strip() == "2048"
    assert (vol.mountpoint / "x").read_text() == "hi\n"
    rt.containers.remove(cid)
    vols.remove("fastvol")
    from runtime.volumes import _sys

    assert not _sys.mounts_under(vol.path)


def test_volumes_from_read_only(rt, vols, busybox):
    vol = vols.create("shared1")
    src = (M.volume_mount(vol, "/shared"),)
    _run(rt, busybox, "sh", "-c", "echo a > /shared/a", mounts=src)
    _, code, out, _ = _run(rt, busybox, "sh", "-c", "cat /shared/a; touch /shared/b || echo ro",
                           mounts=tuple(M.volumes_from(src, "ro")))
    assert (code, out) == (0, "a\nro\n")


def test_container_cli_named_and_anonymous_volumes(run_cli, busybox, state_paths):
    r = run_cli("container", "run", "--name", "v1", "-v", "clidata:/data", "-v", "/anon",
                str(busybox), "sh", "-c", "echo hi > /data/f; echo a > /anon/g; cat /data/f")
    assert r.returncode == 0 and r.stdout == "hi\n", r
    vols = run_cli("volume", "ls", "-q").stdout.split()
    assert "clidata" in vols and len(vols) == 2
    anon = next(v for v in vols if v != "clidata")
    r = run_cli("volume", "rm", "clidata")
    assert r.returncode == 6 and "in use" in r.stderr
    assert run_cli("container", "rm", "-v", "v1").returncode == 0
    assert run_cli("volume", "ls", "-q").stdout.split() == ["clidata"]   # named one kept
    assert anon not in run_cli("volume", "ls", "-q").stdout
    r = run_cli("container", "run", "--rm", "-v", "clidata:/data:ro", str(busybox), "sh",
                "-c", "cat /data/f; touch /data/x || echo ro")
    assert r.stdout == "hi\nro\n", r
    assert run_cli("volume", "rm", "clidata").returncode == 0


def test_run_rm_removes_anonymous_volumes_only(run_cli, busybox):
    r = run_cli("container", "run", "--rm", "-v", "keepme:/k", "-v", "/anon", str(busybox),
                "sh", "-c", "echo x > /anon/f; echo y > /k/f")
    assert r.returncode == 0, r
    assert run_cli("volume", "ls", "-q").stdout.split() == ["keepme"]
    assert run_cli("volume", "rm", "keepme").returncode == 0
