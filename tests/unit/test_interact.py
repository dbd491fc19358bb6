"""Pure logic of exec/health/attach/cp/stats (no root, no containers)."""

from __future__ import annotations

import pytest

from compose.cli.cmd_interact import _binary, _decimal, _split, render_table
from compose.cli.container_table import health_suffix, status_text
from runtime.container.attach import DetachMatcher, parse_detach_keys
from runtime.container.copy import _member_parts, check_path
from runtime.errors import InvalidInputError, UsageError
from runtime.shim.execproc import plan
from runtime.shim.health import go_duration, probe_args


@pytest.mark.parametrize(("secs", "text"), [
    (30, "30s"), (1.5, "1.5s"), (0.3, "300ms"), (90, "1m30s"), (3600, "1h0m0s"),
    (0.0005, "500µs"), (0, "0s"), (60, "1m0s")])
def test_go_duration(secs, text):
    assert go_duration(secs) == text


def test_probe_args():
    assert probe_args(["CMD-SHELL", "curl -f x || exit 1"]) == ["/bin/sh", "-c",
                                                                "curl -f x || exit 1"]
    assert probe_args(["CMD", "pg_isready", "-U", "x"]) == ["pg_isready", "-U", "x"]


def test_health_suffix_and_status():
    assert health_suffix({"health": {"Status": "healthy"}}) == " (healthy)"
    assert health_suffix({"health": {"Status": "starting"}}) == " (health: starting)"
    assert health_suffix({"health": {"Status": "unhealthy"}}) == " (unhealthy)"
    assert health_suffix({}) == ""
    st = {"status": "running", "started_at": "2026-01-01T00:00:00.000000000Z",
          "health": {"Status": "healthy"}}
    assert status_text(st, now=1767225605.0) == "Up 5 seconds (healthy)"
    st["status"] = "paused"
    assert status_text(st, now=1767225605.0) == "Up 5 seconds (Paused)"


def test_detach_keys():
    assert parse_detach_keys("ctrl-p,ctrl-q") == b"\x10\x11"
    assert parse_detach_keys("ctrl-a,x") == b"\x01x"
    assert parse_detach_keys("ctrl-@,ctrl-[") == b"\x00\x1b"
    for bad in ("ctrl-1", "foo", ""):
        with pytest.raises(UsageError):
            parse_detach_keys(bad)
    m = DetachMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10") == (b"ab", False)          # held back: may be the start
    assert m.feed(b"c") == (b"\x10c", False)            # not the sequence: flushed
    assert m.feed(b"\x10\x10") == (b"\x10", False)
    assert m.feed(b"\x11rest") == (b"", True)
    assert DetachMatcher(b"\x10\x11").feed(b"x\x10\x11") == (b"x", True)


def test_check_path_refuses_climbing_above_root():
    assert check_path("/a/./b/../c/") == ["a", "c"]
    assert check_path("/") == []
    for bad in ("/..", "/../etc", "a/../../b"):
        with pytest.raises(InvalidInputError, match="escapes"):
            check_path(bad)


def test_archive_member_names():
    assert _member_parts("./a/b") == ["a", "b"]
    for bad in ("/etc/passwd", "a/../../x", ".."):
        with pytest.raises(InvalidInputError, match="refusing"):
            _member_parts(bad)


def test_cp_argument_split():
    assert _split("web:/etc/hosts") == ("web", "/etc/hosts")
    assert _split("./a:b") == (None, "./a:b")
    assert _split("/tmp/x") == (None, "/tmp/x")
    assert _split("-") == (None, "-")


def test_size_formats_like_docker():
    assert _decimal(0) == "0B" and _decimal(1234) == "1.23kB"
    assert _decimal(20_000_000) == "20MB"
    assert _binary(300 * 1024) == "300KiB" and _binary(96 << 20) == "96MiB"
    assert _binary(1.5 * (1 << 30)) == "1.5GiB"
    assert render_table(["A", "BB"], [["xxx", "y"]]) == ["A     BB", "xxx   y"]


def test_exec_plan_follows_the_container():
    b = {"process": {"env": ["A=1", "PATH=/bin"], "user": "app", "cwd": "/srv",
                     "group_add": ["audio"]},
         "hostname": "h", "namespaces": {"net": "new", "uts": True},
         "cgroup": {"paths": ["/sys/fs/cgroup/x"]}, "caps": ["CAP_CHOWN"],
         "privileged": False, "no_new_privileges": True, "seccomp": "/s.bpf",
         "rlimits": [["nofile", 10, 20]]}
    p = plan(b, {"pid": 42, "pid_start": 7}, ["ls"], env=("A=2",))
    assert p["env"] == ["A=1", "PATH=/bin", "A=2"]         # exec -e wins (last)
    assert (p["user"], p["cwd"], p["group_add"]) == ("app", "/srv", ["audio"])
    assert (p["pid"], p["pid_start"], p["cgroup"]) == (42, 7, ["/sys/fs/cgroup/x"])
    assert p["no_new_privileges"] and not p["privileged"] and p["seccomp"] == "/s.bpf"
    p = plan(b, {"pid": 42}, ["ls"], user="0", workdir="/tmp", privileged=True)
    assert (p["user"], p["cwd"], p["group_add"], p["privileged"]) == ("0", "/tmp", [], True)

