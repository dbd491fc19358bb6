"""``docker run`` flag syntaxes -> ContainerSpec."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.cli.container_spec import (
    RunOptions,
    build_spec,
    parse_restart,
    parse_size,
    parse_tmpfs,
    parse_ulimit,
    parse_volume,
)
from runtime.errors import UsageError


@pytest.mark.parametrize("text,value", [("512m", 512 << 20), ("1g", 1 << 30), ("100", 100),
                                        ("64k", 65536), ("1.5g", int(1.5 * (1 << 30)))])
def test_sizes(text, value):
    assert parse_size(text) == value


def test_bad_values_are_usage_errors():
    for fn, arg in ((parse_size, "12q"), (parse_ulimit, "nofile"), (parse_ulimit, "bogus=1"),
                    (parse_ulimit, "nofile=10:5"), (parse_restart, "sometimes"),
                    (parse_restart, "always:3"), (parse_volume, "a:/x:ro:z"),
                    (parse_volume, "/a:relative"), (parse_volume, "relative"),
                    (parse_volume, "/a:/b:bogus")):
        with pytest.raises(UsageError):
            fn(arg)


def test_volume_tmpfs_ulimit_restart():
    m = parse_volume("/srv/data:/data:ro")
    assert (m.type, m.source, m.target, m.read_only) == ("bind", "/srv/data", "/data", True)
    n = parse_volume("dbdata:/var/lib/db:nocopy")      # named: resolved by the CLI
    assert (n.type, n.source, n.volume_name, n.copy_up) == ("volume", None, "dbdata", False)
    a = parse_volume("/cache")                        # anonymous
    assert (a.type, a.source, a.volume_name, a.copy_up) == ("volume", None, None, True)
    t = parse_tmpfs("/run:size=64m,mode=1777,noexec")
    assert (t.target, t.tmpfs_size, t.tmpfs_mode, t.options) == ("/run", 64 << 20, 0o1777,
                                                                 ("noexec",))
    u = parse_ulimit("nofile=1024:2048")
    assert (u.name, u.soft, u.hard) == ("nofile", 1024, 2048)
    assert parse_restart("on-failure:3").max_retries == 3


def test_build_spec_merges_image_config_and_flags(tmp_path):
    o = RunOptions(image="img", command=(), env=("B=2",), user=None, cpus="1.5",
                   memory="64m", security_opt=("no-new-privileges", "seccomp=unconfined"),
                   log_opt=("max-size=1m", "max-file=3"), sysctl=("net.ipv4.ip_forward=1",),
                   add_host=("db:10.0.0.2",), rm=True, init=True)
    cfg = {"Env": ["A=1"], "Cmd": ["sh"], "Entrypoint": ["/entry"], "WorkingDir": "/w",
           "User": "app", "StopSignal": "SIGQUIT"}
    s = build_spec(o, "img", "sha256:x", (Path(tmp_path),), cfg)
    assert s.process.args == ("/entry", "sh") and s.process.env == ("A=1", "B=2")
    assert s.process.cwd == "/w" and s.process.user == "app" and s.stop_signal == "SIGQUIT"
    assert (s.resources.cpu_quota, s.resources.cpu_period) == (150000, 100000)
    assert s.resources.memory == 64 << 20
    assert s.security.no_new_privileges and s.security.seccomp == "unconfined"
    assert (s.log.max_size, s.log.max_file) == (1 << 20, 3)
    assert s.security.sysctls == (("net.ipv4.ip_forward", "1"),)
    assert s.extra_hosts == (("db", "10.0.0.2"),) and s.auto_remove and s.init


def test_command_required():
    with pytest.raises(UsageError, match="no command"):
        build_spec(RunOptions(image="x"), "x", "", (Path("/"),), {})


def test_rm_and_restart_conflict():
    with pytest.raises(UsageError, match="--restart and --rm"):
        build_spec(RunOptions(image="x", command=("true",), rm=True, restart="always"),
                   "x", "", (Path("/"),), {})
