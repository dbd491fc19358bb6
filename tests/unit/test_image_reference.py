"""Docker's reference normalisation (distribution/reference normalize.go cases)."""

import pytest

from runtime.images.errors import InvalidReference
from runtime.images.reference import parse

SHA = "sha256:" + "a" * 64


@pytest.mark.parametrize("text,expected", [
    ("redis", "docker.io/library/redis:latest"),
    ("redis:7", "docker.io/library/redis:7"),
    ("library/redis:7", "docker.io/library/redis:7"),
    ("docker.io/redis", "docker.io/library/redis:latest"),
    ("index.docker.io/redis:7", "docker.io/library/redis:7"),
    ("docker.io/library/redis", "docker.io/library/redis:latest"),
    ("bitnami/redis", "docker.io/bitnami/redis:latest"),
    ("user/app:v1.2-rc_3", "docker.io/user/app:v1.2-rc_3"),
    ("a/b/c/d", "docker.io/a/b/c/d:latest"),
    ("localhost/app", "localhost/app:latest"),
    ("localhost:5000/app:1", "localhost:5000/app:1"),
    ("127.0.0.1:5000/library/busybox", "127.0.0.1:5000/library/busybox:latest"),
    ("ghcr.io/owner/repo:tag", "ghcr.io/owner/repo:tag"),
    ("quay.io/a/b", "quay.io/a/b:latest"),
    ("Example.com/app", "Example.com/app:latest"),
    ("myhost:443/a", "myhost:443/a:latest"),
    ("[::1]:5000/app", "[::1]:5000/app:latest"),
    (f"redis@{SHA}", f"docker.io/library/redis@{SHA}"),
    (f"redis:7@{SHA}", f"docker.io/library/redis:7@{SHA}"),
    ("my-app_x.y__z", "docker.io/library/my-app_x.y__z:latest"),
    ("a--b", "docker.io/library/a--b:latest"),
])
def test_normalise(text, expected):
    assert str(parse(text)) == expected


@pytest.mark.parametrize("text,familiar", [
    ("redis", "redis:latest"),
    ("docker.io/library/redis:7", "redis:7"),
    ("bitnami/redis:1", "bitnami/redis:1"),
    ("localhost:5000/a/b:2", "localhost:5000/a/b:2"),
    ("docker.io/library/a/b", "library/a/b:latest"),
])
def test_familiar(text, familiar):
    assert parse(text).familiar == familiar


def test_parts():
    r = parse("localhost:5000/team/app:1.0")
    assert (r.domain, r.path, r.tag, r.digest) == ("localhost:5000", "team/app", "1.0", None)
    assert r.repository == "localhost:5000/team/app"
    assert r.object == "1.0"
    d = parse(f"app@{SHA}")
    assert d.object == SHA and d.tag is None
    assert parse("x", default_tag=False).tag is None


@pytest.mark.parametrize("text,why", [
    ("", "empty"),
    ("Redis", "lowercase"),
    ("user/App", "lowercase"),
    ("redis:", "tag"),
    ("redis:-x", "tag"),
    ("redis:.x", "tag"),
    ("redis:" + "a" * 129, "tag"),
    ("redis@sha256:abc", "digest"),
    ("redis@md5:" + "a" * 32, "unsupported digest"),
    ("a" * 64, "image ID"),
    ("/redis", "empty path component"),
    ("redis/", "empty path component"),
    ("a//b", "empty path component"),
    ("-redis", "path component"),
    ("redis-", "path component"),
    ("re..dis", "path component"),
    ("re dis", "whitespace"),
    (" redis", "whitespace"),
    ("host:port/app", "registry host"),
    ("-host.com/app", "registry host"),
    (":tag", "missing repository"),
    ("@" + SHA, "missing repository"),
    ("a/" + "b" * 260, "longer than"),
    ("re$dis", "path component"),
])
def test_invalid(text, why):
    with pytest.raises(InvalidReference) as e:
        parse(text)
    assert why in str(e.value)
    assert e.value.hint
