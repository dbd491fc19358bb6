"""Registry protocol logic with a fake transport: auth challenges, tokens, retries,
redirects, chunked upload bookkeeping, digest checks, credentials, config, policy."""

from __future__ import annotations

import base64
import io
import json
import os
import stat
from urllib.parse import parse_qs, urlsplit

import pytest

from runtime.errors import UsageError
from runtime.images import ImageStore
from runtime.images import mediatypes as mt
from runtime.images.changes import apply_changes
from runtime.images.digest import sha256_bytes
from runtime.images.errors import (
    DigestMismatch,
    RegistryAuthError,
    RegistryError,
    RegistryNotFound,
)
from runtime.images.policy import interval_of, needs_pull
from runtime.images.registry.auth import parse_challenges
from runtime.images.registry.client import RegistryClient
from runtime.images.registry.config import Endpoint, RegistryConfig, is_loopback
from runtime.images.registry.credentials import CredentialStore


class FakeResp:
    def __init__(self, status, headers=None, body=b"", url=""):
        self.status = status
        self._h = {k.lower(): v for k, v in (headers or {}).items()}
        self._b = io.BytesIO(body)
        self.url = url

    def header(self, name, default=None):
        return self._h.get(name.lower(), default)

    def read(self, n=-1):
        return self._b.read(n)

    def close(self):
        pass


class FakeTransport:
    """Routes (method, path) to a handler(method, url, headers, body) -> FakeResp."""

    def __init__(self, handler):
        self.handler = handler
        self.calls = []

    def request(self, method, url, headers, body=None, *, timeout=60.0):
        data = body.read() if hasattr(body, "read") else body
        self.calls.append((method, url, dict(headers), data))
        return self.handler(method, url, dict(headers), data)


EP = Endpoint("https://reg.example")


def test_parse_challenges():
    (c,) = parse_challenges('Bearer realm="https://auth/token",service="svc",'
                            'scope="repository:a/b:pull,push"')
    assert c.scheme == "bearer" and c.params["scope"] == "repository:a/b:pull,push"
    both = parse_challenges('Basic realm="x", Bearer realm="https://t",service="s"')
    assert [c.scheme for c in both] == ["basic", "bearer"]
    assert parse_challenges(None) == []


def test_bearer_flow_anonymous_and_cached():
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                           "config": {}, "layers": []}).encode()
    tokens = []

    def handler(method, url, headers, body):
        u = urlsplit(url)
        if u.netloc == "auth.example":
            q = parse_qs(u.query)
            tokens.append((q, headers.get("Authorization")))
            return FakeResp(200, body=json.dumps({"access_token": "T1", "expires_in": 300}
                                                 ).encode())
        if headers.get("Authorization") != "Bearer T1":
            return FakeResp(401, {"WWW-Authenticate":
                                  'Bearer realm="https://auth.example/token",'
                                  'service="reg",scope="repository:lib/x:pull"'})
        return FakeResp(200, {"Content-Type": mt.OCI_MANIFEST}, manifest)

    t = FakeTransport(handler)
    c = RegistryClient(EP, "lib/x", transport=t)
    m = c.get_manifest("1")
    assert m.digest == sha256_bytes(manifest)
    c.get_manifest("2")
    assert len(tokens) == 1                       # cached for the second request
    q, authz = tokens[0]
    assert q == {"service": ["reg"], "scope": ["repository:lib/x:pull"]} and authz is None
    # with credentials, the token request carries Basic auth
    c2 = RegistryClient(EP, "lib/x", transport=t, credentials=("u", "p"))
    c2.get_manifest("1")
    assert tokens[-1][1] == "Basic " + base64.b64encode(b"u:p").decode()


def test_token_refused_is_auth_error():
    def handler(method, url, headers, body):
        if "auth.example" in url:
            return FakeResp(401)
        return FakeResp(401, {"WWW-Authenticate": 'Bearer realm="https://auth.example/t"'})

    with pytest.raises(RegistryAuthError, match="refused"):
        RegistryClient(EP, "x", transport=FakeTransport(handler),
                       credentials=("u", "bad")).get_manifest("1")


def test_basic_without_credentials():
    t = FakeTransport(lambda *a: FakeResp(401, {"WWW-Authenticate": 'Basic realm="r"'}))
    with pytest.raises(RegistryAuthError) as e:
        RegistryClient(EP, "x", transport=t).get_manifest("1")
    assert "login" in e.value.hint


def test_manifest_digest_checks():
    body = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST}).encode()
    t = FakeTransport(lambda *a: FakeResp(200, {"Content-Type": mt.OCI_MANIFEST}, body))
    c = RegistryClient(EP, "x", transport=t)
    with pytest.raises(DigestMismatch):
        c.get_manifest("sha256:" + "0" * 64)
    t2 = FakeTransport(lambda *a: FakeResp(200, {"Content-Type": mt.OCI_MANIFEST,
                                                 "Docker-Content-Digest": "sha256:" + "1" * 64},
                                           body))
    with pytest.raises(DigestMismatch):
        RegistryClient(EP, "x", transport=t2).get_manifest("latest")
    t3 = FakeTransport(lambda *a: FakeResp(200, {"Content-Type": mt.DOCKER_MANIFEST}, body))
    with pytest.raises(RegistryError, match="Content-Type"):
        RegistryClient(EP, "x", transport=t3).get_manifest("latest")
    s1 = json.dumps({"schemaVersion": 1}).encode()
    t4 = FakeTransport(lambda *a: FakeResp(200, {"Content-Type": mt.DOCKER_SCHEMA1}, s1))
    with pytest.raises(RegistryError, match="schema 1"):
        RegistryClient(EP, "x", transport=t4).get_manifest("latest")


def test_errors_mapped():
    err = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]}).encode()
    t = FakeTransport(lambda *a: FakeResp(404, body=err))
    with pytest.raises(RegistryNotFound, match="MANIFEST_UNKNOWN"):
        RegistryClient(EP, "x", transport=t).get_manifest("1")


def test_retry_after_429_then_ok(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    seq = [FakeResp(429, {"Retry-After": "1"}), FakeResp(503),
           FakeResp(200, body=b"blob")]
    t = FakeTransport(lambda *a: seq.pop(0))
    assert RegistryClient(EP, "x", transport=t).get_blob_bytes(sha256_bytes(b"blob")) == b"blob"


def test_redirect_drops_authorization():
    def handler(method, url, headers, body):
        if "cdn.example" in url:
            assert "Authorization" not in headers
            return FakeResp(200, body=b"data")
        if headers.get("Authorization") is None:
            return FakeResp(401, {"WWW-Authenticate": 'Basic realm="r"'})
        return FakeResp(307, {"Location": "https://cdn.example/blob?sig=1"})

    t = FakeTransport(handler)
    c = RegistryClient(EP, "x", transport=t, credentials=("u", "p"))
    assert c.get_blob_bytes(sha256_bytes(b"data")) == b"data"
    assert t.calls[-1][1] == "https://cdn.example/blob?sig=1"


def test_blob_digest_mismatch():
    t = FakeTransport(lambda *a: FakeResp(200, body=b"evil"))
    with pytest.raises(DigestMismatch):
        RegistryClient(EP, "x", transport=t).get_blob_bytes(sha256_bytes(b"good"))


def test_chunked_upload_bookkeeping():
    data = os.urandom(10_000)
    digest = sha256_bytes(data)
    state = {"n": 0}

    def handler(method, url, headers, body):
        if method == "POST":
            return FakeResp(202, {"Location": "/v2/x/blobs/uploads/u1?_state=0"})
        if method == "PATCH":
            state["n"] += 1
            start, end = map(int, headers["Content-Range"].split("-"))
            assert int(headers["Content-Length"]) == end - start + 1 == len(body)
            return FakeResp(202, {"Location": f"/v2/x/blobs/uploads/u1?_state={state['n']}",
                                  "Range": f"0-{end}"})
        if method == "PUT":
            return FakeResp(201)
        raise AssertionError(method)

    t = FakeTransport(handler)
    seen = []
    RegistryClient(EP, "x", transport=t).upload_blob(digest, len(data), io.BytesIO(data),
                                                     chunk_size=4096, on_bytes=seen.append)
    patches = [c for c in t.calls if c[0] == "PATCH"]
    assert [c[2]["Content-Range"] for c in patches] == ["0-4095", "4096-8191", "8192-9999"]
    assert b"".join(c[3] for c in patches) == data
    # always the latest Location; digest in the final PUT, after the state token
    assert patches[1][1].endswith("_state=1")
    put = t.calls[-1]
    assert put[0] == "PUT" and put[1] == (
        f"https://reg.example/v2/x/blobs/uploads/u1?_state=3&digest={digest}")
    assert seen == [4096, 4096, 1808]


def test_chunked_upload_detects_wrong_range():
    def handler(method, url, headers, body):
        if method == "POST":
            return FakeResp(202, {"Location": "https://reg.example/up"})
        return FakeResp(202, {"Location": "https://reg.example/up", "Range": "0-10"})

    with pytest.raises(RegistryError, match="confirmed"):
        RegistryClient(EP, "x", transport=FakeTransport(handler)).upload_blob(
            sha256_bytes(b"x" * 100), 100, io.BytesIO(b"x" * 100), chunk_size=50)


def test_monolithic_upload():
    data = b"y" * 1000

    def handler(method, url, headers, body):
        if method == "POST":
            return FakeResp(202, {"Location": "https://reg.example/up?_state=a"})
        assert method == "PUT" and body == data and headers["Content-Length"] == "1000"
        return FakeResp(201)

    RegistryClient(EP, "x", transport=FakeTransport(handler)).upload_blob(
        sha256_bytes(data), len(data), io.BytesIO(data), chunk_size=None)


# -- config, credentials ------------------------------------------------------------
def test_endpoints_and_loopback(tmp_path, monkeypatch):
    monkeypatch.delenv("PYCOMPOSE_REGISTRY_MIRROR", raising=False)
    monkeypatch.delenv("PYCOMPOSE_INSECURE_REGISTRIES", raising=False)
    assert is_loopback("127.0.0.1:5000") and is_loopback("localhost") and is_loopback(
        "[::1]:5000") and not is_loopback("10.0.0.1:5000")
    (tmp_path / "registries.json").write_text(json.dumps({
        "mirrors": {"docker.io": ["http://127.0.0.1:5000/"]},
        "insecure": ["reg.lan:5000", "10.0.0.0/8"]}))
    cfg = RegistryConfig.load(tmp_path)
    assert [e.url for e in cfg.endpoints("docker.io")] == [
        "http://127.0.0.1:5000", "https://registry-1.docker.io"]
    assert cfg.endpoints("127.0.0.1:5000")[0].url == "http://127.0.0.1:5000"
    assert cfg.endpoints("reg.lan:5000")[0].url == "http://reg.lan:5000"
    assert cfg.endpoints("10.1.2.3:443")[0].url == "http://10.1.2.3:443"
    assert cfg.endpoints("ghcr.io")[0].url == "https://ghcr.io"
    monkeypatch.setenv("PYCOMPOSE_REGISTRY_MIRROR", "http://m1,http://m2")
    assert [e.url for e in RegistryConfig.load(tmp_path).endpoints("docker.io")][:2] == [
        "http://m1", "http://m2"]


def test_bad_registry_config(tmp_path):
    (tmp_path / "registries.json").write_text("{nope")
    from runtime.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        RegistryConfig.load(tmp_path)


def test_credentials_file_and_docker_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    cs = CredentialStore(tmp_path / "images")
    assert cs.get("reg:5000") is None
    cs.save("reg:5000", "u", "p:w")
    assert cs.get("reg:5000") == ("u", "p:w")
    assert stat.S_IMODE(os.stat(cs.path).st_mode) == 0o600
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker/config.json").write_text(json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub:pw").decode()}}}))
    assert cs.get("docker.io") == ("hub", "pw")
    assert cs.remove("reg:5000") and cs.get("reg:5000") is None
    assert not cs.remove("reg:5000")


# -- policy, changes ---------------------------------------------------------------------
def test_pull_policy(state_paths):
    store = ImageStore(state_paths)
    from tests.imagetools import f, make_tar

    assert needs_pull(store, "a:1", "missing") and needs_pull(store, "a:1", "daily")
    assert not needs_pull(store, "a:1", "never") and not needs_pull(store, "a:1", "build")
    store.import_rootfs(io.BytesIO(make_tar([f("x")])), __import__(
        "runtime.images.reference", fromlist=["parse"]).parse("a:1"))
    assert not needs_pull(store, "a:1", "missing")
    assert not needs_pull(store, "a:1", "if_not_present")
    assert needs_pull(store, "a:1", "always")
    import time

    now = time.time()
    assert not needs_pull(store, "a:1", "daily", now=now)
    assert needs_pull(store, "a:1", "daily", now=now + 86401)
    assert not needs_pull(store, "a:1", "weekly", now=now + 86401)
    assert needs_pull(store, "a:1", "every_1h30m", now=now + 5401)
    assert interval_of("every_2d") == 172800
    with pytest.raises(UsageError):
        needs_pull(store, "a:1", "sometimes")
    with pytest.raises(UsageError):
        interval_of("every_x")


def test_changes():
    cfg = apply_changes(['CMD ["sh", "-c", "x"]', "ENTRYPOINT /init", "ENV A=1 B=2",
                         "ENV A 3", "EXPOSE 80 53/udp", "LABEL k=v", "WORKDIR /w",
                         "USER 1000", "VOLUME /data", "STOPSIGNAL SIGINT"])
    assert cfg["Cmd"] == ["sh", "-c", "x"]
    assert cfg["Entrypoint"] == ["/bin/sh", "-c", "/init"]
    assert cfg["Env"] == ["B=2", "A=3"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert cfg["Labels"] == {"k": "v"} and cfg["Volumes"] == {"/data": {}}
    assert (cfg["WorkingDir"], cfg["User"], cfg["StopSignal"]) == ("/w", "1000", "SIGINT")
    with pytest.raises(UsageError):
        apply_changes(["RUN rm -rf /"])
