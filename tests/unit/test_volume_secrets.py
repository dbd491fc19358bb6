"""runtime.volumes.secrets: sources, targets, modes, owners, errors."""

from __future__ import annotations

import os
import stat

import pytest

from runtime.errors import InvalidInputError, NotFoundError
from runtime.volumes.secrets import Source, Use, default_target, materialize, read_source


def test_default_targets():
    assert default_target("secret", Use("db_pw")) == "/run/secrets/db_pw"
    assert default_target("secret", Use("db_pw", target="pw")) == "/run/secrets/pw"
    assert default_target("secret", Use("db_pw", target="/etc/pw")) == "/etc/pw"
    assert default_target("config", Use("nginx")) == "/nginx"
    assert default_target("config", Use("nginx", target="etc/n.conf")) == "/etc/n.conf"


def test_sources(tmp_path):
    (tmp_path / "pw.txt").write_text("s3cret")
    env = {"TOKEN": "tok"}
    assert read_source("secret", Source("a", file="pw.txt"), env=env,
                       project_dir=tmp_path) == b"s3cret"
    assert read_source("secret", Source("a", environment="TOKEN"), env=env) == b"tok"
    assert read_source("config", Source("a", content="x=1\n"), env=env) == b"x=1\n"


@pytest.mark.parametrize(("kind", "src", "exc", "match"), [
    ("secret", Source("a", content="x"), InvalidInputError, "only for configs"),
    ("secret", Source("a", environment="MISSING"), NotFoundError, "MISSING"),
    ("secret", Source("a", file="nope.txt"), NotFoundError, "does not exist"),
    ("secret", Source("a"), InvalidInputError, "exactly one"),
    ("config", Source("a", file="x", content="y"), InvalidInputError, "exactly one"),
    ("secret", Source("a", external=True), InvalidInputError, "external"),
])
def test_source_errors(tmp_path, kind, src, exc, match):
    with pytest.raises(exc, match=match):
        read_source(kind, src, env={}, project_dir=tmp_path)


def test_materialize_modes_and_mounts(tmp_path):
    cdir = tmp_path / "c1"
    srcs = {"pw": Source("pw", environment="PW"), "conf": Source("conf", content="k=v")}
    uid, gid = os.getuid(), os.getgid()
    smounts = materialize(cdir, "secret", [Use("pw"), Use("pw", target="/etc/pw", mode=0o440)],
                          srcs, env={"PW": "hunter2"}, default_uid=uid, default_gid=gid)
    cmounts = materialize(cdir, "config", [Use("conf")], srcs, env={},
                          default_uid=uid, default_gid=gid)
    assert [m.target for m in smounts] == ["/run/secrets/pw", "/etc/pw"]
    assert all(m.type == "bind" and m.read_only for m in smounts + cmounts)
    modes = [stat.S_IMODE(os.stat(m.source).st_mode) for m in smounts + cmounts]
    assert modes == [0o400, 0o440, 0o444]
    assert stat.S_IMODE(os.stat(cdir / "secrets").st_mode) == 0o700
    with open(smounts[0].source) as f:
        assert f.read() == "hunter2"
    # the spec carries only paths, never the content
    assert "hunter2" not in repr(smounts)


def test_materialize_undeclared(tmp_path):
    with pytest.raises(NotFoundError, match="not declared"):
        materialize(tmp_path, "secret", [Use("x")], {}, env={})


def test_container_user_ids_from_layers(tmp_path):
    from runtime.volumes.secrets import container_user_ids

    lower, upper = tmp_path / "l1", tmp_path / "l2"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n"
                                          "postgres:x:999:998::/var/lib/pg:/bin/sh\n")
    (upper / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    layers = (upper, lower)
    assert container_user_ids(layers, "") == (0, 0)
    assert container_user_ids(layers, "postgres") == (999, 998)
    assert container_user_ids(layers, "postgres:staff") == (999, 50)
    assert container_user_ids(layers, "1234") == (1234, 0)
    assert container_user_ids(layers, "999:7") == (999, 7)
    assert container_user_ids((lower,), "0") == (0, 0)
    with pytest.raises(NotFoundError, match="postgres"):
        container_user_ids((lower,), "postgres")
    with pytest.raises(NotFoundError, match="nogroup"):
        container_user_ids(layers, "postgres:nogroup")
