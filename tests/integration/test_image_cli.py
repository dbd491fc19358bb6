"""`pycompose image ...` end to end against a real registry on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import pytest

from tests.conftest import needs_root
from tests.imagetools import busybox_layers
from tests.registryfix import PASSWORD, USER, Registry, registry_available

pytestmark = [
    pytest.mark.integration,
    needs_root,
    pytest.mark.skipif(not registry_available(), reason="docker-registry not installed"),
    pytest.mark.skipif(not os.path.exists("/bin/busybox"), reason="busybox-static missing"),
]


@pytest.fixture
def registry(tmp_path):
    reg = Registry(tmp_path / "registry")
    yield reg
    reg.stop()


@pytest.fixture
def rootfs(tmp_path):
    p = tmp_path / "rootfs.tar.gz"
    p.write_bytes(busybox_layers()[0])
    return p


def ok(res):
    assert res.returncode == 0, res
    return res


def test_import_push_rmi_pull_ls(run_cli, registry, rootfs):
    ref = f"{registry.addr}/team/bb:1"
    iid = ok(run_cli("image", "import", "-c", 'CMD ["sh"]', "-c", "ENV A=1", str(rootfs),
                     ref)).stdout.strip()
    assert iid.startswith("sha256:")
    out = ok(run_cli("image", "push", ref)).stdout
    assert "Pushed" in out and "digest: sha256:" in out
    assert ok(run_cli("rmi", ref)).stdout.splitlines() == [f"Untagged: {ref}",
                                                           f"Deleted: {iid}"]
    assert ok(run_cli("image", "ls", "-q")).stdout == ""
    out = ok(run_cli("image", "pull", ref)).stdout
    assert "Pull complete" in out and out.strip().endswith(ref)
    rows = [json.loads(line) for line in ok(run_cli("image", "ls", "--format", "json",
                                                    "--no-trunc")).stdout.splitlines()]
    assert rows[0]["ID"] == iid and rows[0]["Tag"] == "1"
    assert rows[0]["Digest"].startswith("sha256:")
    table = ok(run_cli("image", "ls", "--digests")).stdout
    assert "DIGEST" in table and rows[0]["Digest"] in table
    insp = json.loads(ok(run_cli("image", "inspect", ref)).stdout)[0]
    assert insp["Config"]["Cmd"] == ["sh"] and "A=1" in insp["Config"]["Env"]
    assert ok(run_cli("image", "inspect", "-f", "{{.Id}}", ref)).stdout.strip() == iid
    hist = ok(run_cli("image", "history", ref)).stdout
    assert "pycompose image import" in hist
    search = ok(run_cli("search", f"{registry.addr}/bb")).stdout
    assert f"{registry.addr}/team/bb" in search
    assert ok(run_cli("search", f"{registry.addr}/zzz")).stdout.strip() == (
        "NAME   DESCRIPTION   STARS   OFFICIAL")


def test_errors_are_clear(run_cli, registry):
    res = run_cli("image", "pull", f"{registry.addr}/library/nope:1")
    assert res.returncode == 4 and "not found" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("image", "pull", "Bad:Name")
    assert res.returncode == 2 and "lowercase" in res.stderr
    res = run_cli("rmi", "nothere")
    assert res.returncode == 4 and "no such image" in res.stderr
    res = run_cli("image", "import", "/nonexistent.tar")
    assert res.returncode == 4


def test_dangling_filter_and_prune(run_cli, rootfs, tmp_path):
    ok(run_cli("image", "import", str(rootfs), "x:1"))
    other = tmp_path / "other.tar.gz"
    other.write_bytes(busybox_layers(b"2")[1])
    ok(run_cli("image", "import", str(other), "x:1"))        # x:1 moves, old is dangling
    dangling = ok(run_cli("image", "ls", "-q", "--filter", "dangling=true")).stdout.split()
    assert len(dangling) == 1
    out = ok(run_cli("image", "prune", "-f")).stdout
    assert "deleted: sha256:" + dangling[0] in out
    assert ok(run_cli("image", "ls", "-q", "--filter", "dangling=true")).stdout == ""
    ok(run_cli("image", "prune", "-a", "-f"))
    assert ok(run_cli("image", "ls", "-q")).stdout == ""


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_load_roundtrip(run_cli, state_paths, rootfs, tmp_path, fmt):
    iid = ok(run_cli("image", "import", "-c", 'CMD ["sh"]', str(rootfs), "bb:1")).stdout.strip()
    ok(run_cli("tag", "bb:1", "localhost:5000/bb:2"))
    arc = tmp_path / f"out-{fmt}.tar"
    ok(run_cli("save", "--format", fmt, "-o", str(arc), "bb:1", "localhost:5000/bb:2"))
    names = subprocess.run(["tar", "-tf", str(arc)], capture_output=True, text=True).stdout
    assert "manifest.json" in names
    if fmt == "oci":
        assert "index.json" in names and "oci-layout" in names
    else:
        assert "layer.tar" in names
    other = {"PYCOMPOSE_ROOT": str(tmp_path / "root2"),
             "PYCOMPOSE_RUN_DIR": str(tmp_path / "run2")}
    out = ok(run_cli("load", "-i", str(arc), env=other)).stdout
    assert "Loaded image: bb:1" in out and "Loaded image: localhost:5000/bb:2" in out
    assert ok(run_cli("image", "inspect", "-f", "{{.Id}}", "bb:1", env=other)
              ).stdout.strip() == iid
    # stdin works too
    with open(arc, "rb") as f:
        data = f.read()
    env3 = {"PYCOMPOSE_ROOT": str(tmp_path / "root3"), "PYCOMPOSE_RUN_DIR": str(tmp_path / "r3")}
    res = subprocess.run(
        [*_cli_cmd()], input=data, capture_output=True,
        env={**_env(env3)}, timeout=120)
    assert res.returncode == 0, res.stderr


def _cli_cmd():
    import sys

    return [sys.executable, "-m", "compose", "load"]


def _env(extra):
    from tests.conftest import cli_env

    return cli_env(extra)


def test_load_rejects_tampered_archive(run_cli, rootfs, tmp_path):
    ok(run_cli("image", "import", str(rootfs), "bb:1"))
    arc = tmp_path / "a.tar"
    ok(run_cli("save", "--format", "oci", "-o", str(arc), "bb:1"))
    work = tmp_path / "x"
    work.mkdir()
    subprocess.run(["tar", "-xf", str(arc), "-C", str(work)], check=True)
    blobs = sorted((work / "blobs/sha256").iterdir(), key=lambda p: p.stat().st_size)
    big = blobs[-1]
    data = bytearray(big.read_bytes())
    data[100] ^= 1
    big.write_bytes(bytes(data))
    subprocess.run(["tar", "-cf", str(arc), "-C", str(work), "."], check=True)
    other = {"PYCOMPOSE_ROOT": str(tmp_path / "root2"),
             "PYCOMPOSE_RUN_DIR": str(tmp_path / "run2")}
    res = run_cli("load", "-i", str(arc), env=other)
    assert res.returncode != 0 and "digest" in res.stderr.lower()
    assert ok(run_cli("image", "ls", "-q", env=other)).stdout == ""


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed")
@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_load_archives_written_by_skopeo(run_cli, registry, rootfs, tmp_path, transport):
    ref = f"{registry.addr}/library/bb:1"
    iid = ok(run_cli("image", "import", str(rootfs), ref)).stdout.strip()
    ok(run_cli("image", "push", ref))
    arc = tmp_path / "skopeo.tar"
    dest = f"{transport}:{arc}:bb:1"
    subprocess.run(["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}",
                    dest], check=True, capture_output=True, timeout=120)
    other = {"PYCOMPOSE_ROOT": str(tmp_path / "root2"),
             "PYCOMPOSE_RUN_DIR": str(tmp_path / "run2")}
    ok(run_cli("load", "-i", str(arc), env=other))
    assert ok(run_cli("image", "ls", "-q", "--no-trunc", env=other)).stdout.strip() == iid


def test_login_logout(run_cli, state_paths, tmp_path, rootfs):
    reg = Registry(tmp_path / "basic", auth="htpasswd")
    try:
        ref = f"{reg.addr}/library/bb:1"
        ok(run_cli("image", "import", str(rootfs), ref))
        res = run_cli("image", "push", ref)
        assert res.returncode != 0 and "login" in res.stderr
        res = run_cli("login", "-u", USER, "--password-stdin", reg.addr, input="wrong\n")
        assert res.returncode != 0
        ok(run_cli("login", "-u", USER, "--password-stdin", reg.addr, input=PASSWORD + "\n"))
        auth = state_paths.images / "auth.json"
        assert stat.S_IMODE(auth.stat().st_mode) == 0o600
        ok(run_cli("image", "push", ref))
        assert "Removing login" in ok(run_cli("logout", reg.addr)).stdout
        assert reg.addr not in auth.read_text()
    finally:
        reg.stop()


def test_import_from_stdin(run_cli, state_paths, rootfs):
    import sys

    from tests.conftest import cli_env

    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    res = subprocess.run([sys.executable, "-m", "compose", "image", "import", "-", "stdin:1"],
                         input=rootfs.read_bytes(), capture_output=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    iid = res.stdout.decode().strip()
    assert ok(run_cli("image", "inspect", "-f", "{{.Id}}", "stdin:1")).stdout.strip() == iid


def test_pull_all_tags_and_platform(run_cli, registry, rootfs):
    for t in ("1", "2"):
        ok(run_cli("image", "import", str(rootfs), f"{registry.addr}/team/multi:{t}"))
        ok(run_cli("image", "push", f"{registry.addr}/team/multi:{t}"))
    ok(run_cli("image", "prune", "-a", "-f"))
    ok(run_cli("image", "pull", "-q", "-a", f"{registry.addr}/team/multi"))
    tags = ok(run_cli("image", "ls", "--format", "json")).stdout
    assert '"Tag": "1"' in tags and '"Tag": "2"' in tags
    res = run_cli("image", "pull", "--platform", "linux/s390x", f"{registry.addr}/team/multi:1")
    assert res.returncode == 4 and "does not match the requested platform" in res.stderr
