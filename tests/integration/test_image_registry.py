"""Pull and push against a real registry (Debian's docker-registry) on 127.0.0.1.

Images are built here from busybox-static and pushed by pycompose itself.
"""

from __future__ import annotations

import io
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from runtime.images import ImageStore
from runtime.images import mediatypes as mt
from runtime.images.digest import hex_of, sha256_bytes
from runtime.images.errors import DigestMismatch, ImageNotFound, RegistryAuthError
from runtime.images.pull import Puller, pull, pull_images
from runtime.images.push import push
from runtime.images.registry.client import RegistryClient
from runtime.images.registry.config import Endpoint
from runtime.images.registry.credentials import CredentialStore
from runtime.images.registry.transport import HttpTransport
from runtime.paths import StatePaths
from tests.conftest import needs_root
from tests.imagetools import build_image, busybox_layers
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


def new_store(tmp_path: Path, name: str) -> ImageStore:
    return ImageStore(StatePaths.resolve(tmp_path / name / "root", tmp_path / name / "run"))


@pytest.fixture
def source(tmp_path):
    store = new_store(tmp_path, "src")
    img = build_image(store, "bb:1", busybox_layers())
    return store, img


def layer_count(store: ImageStore) -> int:
    return len([p for p in store.layers.iterdir() if not p.name.startswith(".")])


def test_push_then_pull_roundtrip(tmp_path, registry, source):
    src, img = source
    events = []
    res = push(src, "bb:1", f"{registry.addr}/library/bb:1", progress=events.append)
    assert {e.status for e in events} >= {"Pushed", "Digest"}
    dst = new_store(tmp_path, "dst")
    pulled_events = []
    got = pull(dst, f"{registry.addr}/library/bb:1", progress=pulled_events.append)
    assert got.id == img.id
    assert got.repo_digests == (f"{registry.addr}/library/bb@{res.digest}",)
    assert got.config["Cmd"] == ["sh"]
    top, base = got.layer_dirs()
    assert (base / "bin/busybox").read_bytes() == Path("/bin/busybox").read_bytes()
    assert os.readlink(base / "bin/sh") == "busybox"
    assert stat.S_IMODE(os.stat(base / "tmp").st_mode) == 0o1777
    wh = os.lstat(top / "bin/ftpget")
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert os.getxattr(top / "opt/old", "trusted.overlay.opaque") == b"y"
    statuses = [e.status for e in pulled_events if e.id]
    assert "Downloading" in statuses and statuses.count("Pull complete") == 2
    # pulling again finds everything in place
    again = []
    pull(dst, f"{registry.addr}/library/bb:1", progress=again.append)
    assert [e.status for e in again if e.id and e.status != "Waiting"] == ["Already exists"] * 2


def test_pushing_existing_blobs_skips_them(registry, source):
    src, _ = source
    push(src, "bb:1", f"{registry.addr}/a/bb:1")
    events = []
    push(src, "bb:1", f"{registry.addr}/a/bb:2", progress=events.append)
    assert [e.status for e in events if e.id] == ["Layer already exists"] * 3


def test_chunked_and_monolithic_upload_give_same_blobs(registry, source):
    src, img = source
    a = push(src, "bb:1", f"{registry.addr}/mono/bb:1", chunk_size=None)
    b = push(src, "bb:1", f"{registry.addr}/chunked/bb:1", chunk_size=64 * 1024)
    assert a.digest == b.digest
    client = RegistryClient(Endpoint(registry.url), "chunked/bb")
    for lay in img.manifest["layers"]:
        assert client.get_blob_bytes(lay["digest"], lay["size"]) == src.read_blob(lay["digest"])


def test_repull_after_rmi(tmp_path, registry, source):
    src, img = source
    ref = f"{registry.addr}/library/bb:1"
    push(src, "bb:1", ref)
    dst = new_store(tmp_path, "dst")
    pull(dst, ref)
    assert dst.remove(ref)[-1] == ("Deleted", img.id)
    assert layer_count(dst) == 0 and list(dst.blobs.iterdir()) == []
    with pytest.raises(ImageNotFound):
        dst.resolve(ref)
    assert pull(dst, ref).id == img.id
    assert layer_count(dst) == 2


def test_shared_layers_stored_once(tmp_path, registry, source):
    src, img = source
    other = build_image(src, "bb:2", [busybox_layers()[0], busybox_layers(b"-two")[1]],
                        cmd=("ls",))
    push(src, "bb:1", f"{registry.addr}/library/bb:1")
    push(src, "bb:2", f"{registry.addr}/library/bb:2")
    dst = new_store(tmp_path, "dst")
    a = pull(dst, f"{registry.addr}/library/bb:1")
    ev = []
    b = pull(dst, f"{registry.addr}/library/bb:2", progress=ev.append)
    assert b.id == other.id != a.id
    assert a.layer_dirs()[1] == b.layer_dirs()[1]            # same base directory
    assert a.layer_dirs()[0] != b.layer_dirs()[0]
    assert layer_count(dst) == 3
    base_blob = img.manifest["layers"][0]["digest"]
    assert [p.name for p in dst.blobs.iterdir()].count(hex_of(base_blob)) == 1
    assert ("Already exists" in {e.status for e in ev if e.id == hex_of(base_blob)[:12]})
    # the base layer's files exist once on disk (one inode)
    ino = {os.stat(i.layer_dirs()[1] / "bin/busybox").st_ino for i in (a, b)}
    assert len(ino) == 1


def test_tampered_blob_is_detected(tmp_path, registry, source):
    src, img = source
    ref = f"{registry.addr}/library/bb:1"
    push(src, "bb:1", ref)
    digest = img.manifest["layers"][1]["digest"]
    blob = registry.blob_file(digest)
    data = bytearray(blob.read_bytes())
    data[-10] ^= 0xFF                                        # same size, other content
    blob.write_bytes(bytes(data))
    dst = new_store(tmp_path, "dst")
    with pytest.raises(DigestMismatch):
        pull(dst, ref)
    assert dst.list() == []
    assert not dst.has_blob(digest)
    assert not [p for p in dst.ingest.iterdir() if p.suffix == ".partial"]
    assert not [p for p in dst.layers.iterdir() if p.name.startswith(".")]


def test_tampered_config_is_detected(tmp_path, registry, source):
    src, img = source
    ref = f"{registry.addr}/library/bb:1"
    push(src, "bb:1", ref)
    cfg = registry.blob_file(img.id)
    cfg.write_bytes(cfg.read_bytes().replace(b'"sh"', b'"rm"'))
    with pytest.raises(DigestMismatch):
        pull(new_store(tmp_path, "dst"), ref)


class BreakingTransport(HttpTransport):
    """Breaks the first download of ``digest`` after ``after`` bytes; logs requests."""

    def __init__(self, digest: str, after: int) -> None:
        super().__init__()
        self.digest, self.after = digest, after
        self.broken = False
        self.log: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()

    def request(self, method, url, headers, body=None, **kw):
        with self.lock:
            self.log.append((method, url, dict(headers)))
        resp = super().request(method, url, headers, body, **kw)
        if method == "GET" and url.endswith(self.digest) and not self.broken:
            self.broken = True
            real, limit = resp.read, [self.after]

            def read(n=-1):
                if limit[0] <= 0:
                    raise ConnectionResetError("simulated network failure")
                data = real(min(n, limit[0]) if n and n > 0 else limit[0])
                limit[0] -= len(data)
                return data
            resp.read = read
        return resp


def test_interrupted_pull_resumes_with_range(tmp_path, registry, source):
    src, img = source
    ref = f"{registry.addr}/library/bb:1"
    push(src, "bb:1", ref)
    digest = img.manifest["layers"][0]["digest"]
    transport = BreakingTransport(digest, 300_000)
    dst = new_store(tmp_path, "dst")
    events = []
    got = Puller(dst, transport=transport, progress=events.append).pull(ref)
    assert got.id == img.id
    blob_gets = [h for m, u, h in transport.log if m == "GET" and u.endswith(digest)]
    assert len(blob_gets) == 2
    assert blob_gets[1].get("Range") == "bytes=300000-"
    assert "Retrying" in [e.status for e in events]
    assert (got.layer_dirs()[1] / "bin/busybox").read_bytes() == Path(
        "/bin/busybox").read_bytes()


def test_leftover_partial_download_is_resumed_or_restarted(tmp_path, registry, source):
    src, img = source
    ref = f"{registry.addr}/library/bb:1"
    push(src, "bb:1", ref)
    digest = img.manifest["layers"][0]["digest"]
    blob = src.read_blob(digest)
    # 1. a good prefix left by a killed pull: resumed
    dst = new_store(tmp_path, "dst")
    dst.ingest.mkdir(parents=True)
    (dst.ingest / f"{hex_of(digest)}.partial").write_bytes(blob[:1000])
    t = BreakingTransport("never", 0)
    assert Puller(dst, transport=t).pull(ref).id == img.id
    assert [h.get("Range") for m, u, h in t.log if u.endswith(digest)] == ["bytes=1000-"]
    # 2. garbage left behind: detected, and the layer is fetched again from byte 0
    dst2 = new_store(tmp_path, "dst2")
    dst2.ingest.mkdir(parents=True)
    (dst2.ingest / f"{hex_of(digest)}.partial").write_bytes(b"garbage" * 100)
    t2 = BreakingTransport("never", 0)
    assert Puller(dst2, transport=t2).pull(ref).id == img.id
    assert [h.get("Range") for m, u, h in t2.log if u.endswith(digest)] == [
        "bytes=700-", None]
    assert not list(dst2.ingest.glob("*.partial"))


def test_missing_image_gives_clear_error(tmp_path, registry):
    with pytest.raises(ImageNotFound) as e:
        pull(new_store(tmp_path, "dst"), f"{registry.addr}/library/nope:1")
    assert "nope" in e.value.message and e.value.hint


def test_index_platform_selection(tmp_path, registry, source):
    src, img = source
    push(src, "bb:1", f"{registry.addr}/library/multi:amd")
    other_cfg = dict(img.raw_config)
    host_arch = img.architecture
    other_arch = "arm64" if host_arch != "arm64" else "amd64"
    other_cfg["architecture"] = other_arch
    client = RegistryClient(Endpoint(registry.url), "library/multi", actions="pull,push")
    cfg_bytes = json.dumps(other_cfg).encode()
    client.upload_blob(sha256_bytes(cfg_bytes), len(cfg_bytes), io.BytesIO(cfg_bytes))
    other_manifest = dict(img.manifest)
    other_manifest["config"] = {"mediaType": mt.OCI_CONFIG, "digest": sha256_bytes(cfg_bytes),
                                "size": len(cfg_bytes)}
    om = json.dumps(other_manifest).encode()
    om_digest = client.put_manifest(sha256_bytes(om), om, mt.OCI_MANIFEST)
    mine = src.read_blob(img.manifest_digest)
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [
        {"mediaType": mt.OCI_MANIFEST, "digest": om_digest, "size": len(om),
         "platform": {"os": "linux", "architecture": other_arch}},
        {"mediaType": mt.OCI_MANIFEST, "digest": img.manifest_digest, "size": len(mine),
         "platform": {"os": "linux", "architecture": host_arch}},
    ]}
    ib = json.dumps(index).encode()
    client.put_manifest("multi", ib, mt.OCI_INDEX)
    dst = new_store(tmp_path, "dst")
    got = pull(dst, f"{registry.addr}/library/multi:multi")
    assert got.id == img.id
    assert got.repo_digests == (f"{registry.addr}/library/multi@{sha256_bytes(ib)}",)
    other = pull(dst, f"{registry.addr}/library/multi:multi", platform=f"linux/{other_arch}")
    assert other.architecture == other_arch and other.id != img.id
    with pytest.raises(ImageNotFound, match="platform"):
        pull(dst, f"{registry.addr}/library/multi:multi", platform="linux/s390x")


def test_pull_by_digest_and_mirror(tmp_path, registry, source):
    src, img = source
    res = push(src, "bb:1", f"{registry.addr}/library/busybox:1")
    dst = new_store(tmp_path, "dst")
    dst.root.mkdir(parents=True)
    (dst.root / "registries.json").write_text(json.dumps(
        {"mirrors": {"docker.io": [registry.url]}}))
    # "busybox:1" = docker.io/library/busybox:1, served by the loopback mirror
    got = pull(dst, "busybox:1")
    assert got.id == img.id and got.references == ("docker.io/library/busybox:1",)
    by_digest = pull(dst, f"{registry.addr}/library/busybox@{res.digest}")
    assert by_digest.id == img.id
    assert dst.resolve(f"{registry.addr}/library/busybox@{res.digest}").id == img.id


def test_concurrent_pulls_of_many_images(tmp_path, registry, source):
    import anyio

    src, _ = source
    refs = []
    for i in range(4):
        build_image(src, f"bb:{i + 10}", [busybox_layers()[0],
                                          busybox_layers(str(i).encode())[1]])
        refs.append(f"{registry.addr}/library/bb:{i + 10}")
        push(src, f"bb:{i + 10}", refs[-1])
    paths = StatePaths.resolve(tmp_path / "dst" / "root", tmp_path / "dst" / "run")
    result = anyio.run(lambda: pull_images(paths, refs + refs[:1], policy="always"))
    assert sorted(result) == sorted(refs)
    store = ImageStore(paths)
    assert layer_count(store) == 5
    # missing policy: nothing pulled again
    t = BreakingTransport("never", 0)
    anyio.run(lambda: pull_images(paths, refs, policy="missing", transport=t))
    assert t.log == []


def test_htpasswd_basic_auth(tmp_path, source, monkeypatch):
    reg = Registry(tmp_path / "basic", auth="htpasswd")
    try:
        src, img = source
        ref = f"{reg.addr}/library/bb:1"
        with pytest.raises(RegistryAuthError) as e:
            push(src, "bb:1", ref)
        assert "login" in (e.value.hint or "") + e.value.message
        CredentialStore(src.root).save(reg.addr, USER, PASSWORD)
        assert stat.S_IMODE(os.stat(src.root / "auth.json").st_mode) == 0o600
        push(src, "bb:1", ref)
        dst = new_store(tmp_path, "dst")
        with pytest.raises(RegistryAuthError):
            pull(dst, ref)
        # Docker's config.json is read too
        import base64

        docker_cfg = tmp_path / "dockercfg"
        docker_cfg.mkdir()
        (docker_cfg / "config.json").write_text(json.dumps({"auths": {reg.addr: {
            "auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}))
        monkeypatch.setenv("DOCKER_CONFIG", str(docker_cfg))
        assert pull(dst, ref).id == img.id
        CredentialStore(src.root).save(reg.addr, USER, "wrong")
        with pytest.raises(RegistryAuthError):
            push(src, "bb:1", f"{reg.addr}/library/bb:2")
    finally:
        reg.stop()


def test_bearer_token_flow(tmp_path, source):
    reg = Registry(tmp_path / "token", auth="token")
    try:
        src, img = source
        ref = f"{reg.addr}/library/bb:1"
        with pytest.raises(RegistryAuthError):
            push(src, "bb:1", ref)               # anonymous token: pull only
        CredentialStore(src.root).save(reg.addr, USER, PASSWORD)
        push(src, "bb:1", ref)
        pushes = [r for r in reg.token.requests if r["user"]]
        assert pushes and pushes[-1]["scope"] == ["repository:library/bb:pull,push"]
        assert pushes[-1]["service"] == "pycompose-test-registry"
        dst = new_store(tmp_path, "dst")
        n_before = len(reg.token.requests)
        assert pull(dst, ref).id == img.id      # anonymous pull with a token
        new = reg.token.requests[n_before:]
        assert new and all(r["user"] is None for r in new)
        assert new[0]["scope"] == ["repository:library/bb:pull"]
        # tokens are cached: one token request for the whole pull (manifest + blobs)
        assert len(new) == 1
    finally:
        reg.stop()


def test_same_image_pulled_concurrently(tmp_path, registry, source):
    """Two pullers (own transports, as two processes would have) on one store: the
    per-blob lock makes one download each layer, the other finds it unpacked."""
    src, img = source
    ref = f"{registry.addr}/library/bb:1"
    push(src, "bb:1", ref)
    dst = new_store(tmp_path, "dst")
    transports = [BreakingTransport("never", 0) for _ in range(4)]
    results, errors = [], []

    def run(t):
        try:
            results.append(Puller(ImageStore(dst.paths), transport=t).pull(ref).id)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(t,)) for t in transports]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and results == [img.id] * 4
    layer_gets = sum(1 for t in transports for m, u, _ in t.log
                     if m == "GET" and "/blobs/" in u and u.rsplit("/", 1)[1] in
                     {d["digest"] for d in img.manifest["layers"]})
    assert layer_gets == 2
    assert layer_count(dst) == 2 and dst.resolve(ref).id == img.id


def test_zstd_layer_roundtrip(tmp_path, registry):
    import zstandard

    from tests.imagetools import f, make_tar

    src = new_store(tmp_path, "src")
    raw = make_tar([f("etc/zstd", b"compressed with zstd\n" * 1000)], compress="none")
    layer = zstandard.ZstdCompressor().compress(raw)
    img = build_image(src, "z:1", [layer])
    assert img.manifest["layers"][0]["mediaType"] == mt.OCI_LAYER_ZSTD
    push(src, "z:1", f"{registry.addr}/library/z:1")
    got = pull(new_store(tmp_path, "dst"), f"{registry.addr}/library/z:1")
    assert got.id == img.id
    assert (got.layer_dirs()[0] / "etc/zstd").read_bytes() == b"compressed with zstd\n" * 1000


def test_pull_images_policies(tmp_path, registry, source):
    import anyio

    src, img = source
    ref = f"{registry.addr}/library/bb:1"
    push(src, "bb:1", ref)
    paths = StatePaths.resolve(tmp_path / "p" / "root", tmp_path / "p" / "run")
    missing = f"{registry.addr}/library/none:1"
    with pytest.raises(ImageNotFound, match="pull_policy: never"):
        anyio.run(lambda: pull_images(paths, [(ref, "never")]))
    got = anyio.run(lambda: pull_images(paths, [(ref, "missing"), ("built:1", "build")]))
    assert set(got) == {ref} and got[ref].id == img.id
    with pytest.raises(Exception) as e:   # two failures reported together
        anyio.run(lambda: pull_images(paths, [missing, f"{registry.addr}/x/y:2"],
                                      policy="always"))
    assert "none:1" in str(e.value) and "x/y:2" in str(e.value)
