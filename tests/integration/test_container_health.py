"""Healthchecks run by the container's monitor: Docker's status machine, start period,
timeouts, the log, ``inspect``/``ls`` output, and life after the CLI."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from runtime.spec import Healthcheck, Mount
from tests.conftest import REPO, needs_root
from tests.integration.helpers import spec

pytestmark = [pytest.mark.integration, needs_root]


def _health(rt, cid):
    return rt.containers.inspect(cid)["State"].get("Health")


def _until(pred, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached in {timeout}s"
        time.sleep(0.02)


def _start(rt, busybox, test, args=("sleep", "300"), **hc):
    cid = rt.containers.create(spec(busybox, *args, healthcheck=Healthcheck(test, **hc)))
    rt.containers.start(cid)
    return cid


def test_turns_healthy_and_inspect_shape(rt, busybox, run_cli):
    cid = _start(rt, busybox, ("CMD-SHELL", "echo probe-out; test -e /tmp/ready"),
                 args=("sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 300"),
                 interval=0.2, retries=100)
    first = _health(rt, cid)
    assert first["Status"] == "starting" and first["FailingStreak"] == 0
    h = _until(lambda: (_health(rt, cid) or {}).get("Status") == "healthy" and _health(rt, cid),
               what="healthy")
    assert set(h) == {"Status", "FailingStreak", "Log"}
    assert h["FailingStreak"] == 0
    last = h["Log"][-1]
    assert set(last) == {"Start", "End", "ExitCode", "Output"}
    assert last["ExitCode"] == 0 and last["Output"] == "probe-out\n"
    assert last["Start"] <= last["End"] and last["End"].endswith("Z")
    cfg = rt.containers.inspect(cid)["Config"]["Healthcheck"]
    assert cfg["Test"] == ["CMD-SHELL", "echo probe-out; test -e /tmp/ready"]
    assert cfg["Interval"] == 200_000_000
    res = run_cli("container", "ls")
    assert "(healthy)" in res.stdout, res
    res = run_cli("container", "inspect", "-f", "{{.State.Health.Status}}", cid)
    assert res.stdout.strip() == "healthy"
    # the log keeps the last 5 results only
    _until(lambda: len(_health(rt, cid)["Log"]) == 5, what="5 log entries")
    time.sleep(0.5)
    assert len(_health(rt, cid)["Log"]) == 5


def test_unhealthy_only_after_retries(rt, busybox, tmp_path, run_cli):
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    cid = rt.containers.create(spec(
        busybox, "sleep", "300", mounts=(Mount(type="bind", source=str(ctl), target="/ctl"),),
        healthcheck=Healthcheck(("CMD", "sh", "-c", "echo x >> /ctl/runs; exit 3"),
                                interval=0.1, retries=3)))
    rt.containers.start(cid)
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        h = _health(rt, cid)
        seen.append((h["Status"], h["FailingStreak"]))
        if h["Status"] == "unhealthy":
            break
        time.sleep(0.01)
    for status, streak in seen:
        assert (status == "unhealthy") == (streak >= 3), seen
        assert status in ("starting", "unhealthy"), seen
    assert seen[-1][0] == "unhealthy"
    h = _health(rt, cid)
    assert all(e["ExitCode"] == 3 for e in h["Log"])
    assert "(unhealthy)" in run_cli("container", "ls").stdout


def test_start_period_failures_do_not_count_and_use_start_interval(rt, busybox):
    # interval is an hour: only start_interval can produce several probes in a test.
    cid = _start(rt, busybox, ("CMD-SHELL", "test -e /tmp/ok"), interval=3600,
                 start_period=3600, start_interval=0.1, retries=1)
    h = _until(lambda: len(_health(rt, cid)["Log"]) >= 3 and _health(rt, cid),
               what="3 probes in the start period")
    assert h["Status"] == "starting" and h["FailingStreak"] == 0
    assert all(e["ExitCode"] == 1 for e in h["Log"])
    rt.containers.exec(cid, ["touch", "/tmp/ok"])
    _until(lambda: _health(rt, cid)["Status"] == "healthy", what="healthy")


def test_probe_timeout_kills_the_probe(rt, busybox):
    cid = _start(rt, busybox, ("CMD", "sleep", "1000"), interval=0.1, timeout=0.3,
                 retries=1)
    h = _until(lambda: _health(rt, cid)["Log"] and _health(rt, cid), what="a result")
    entry = h["Log"][0]
    assert entry["ExitCode"] == -1
    assert entry["Output"] == "Health check exceeded timeout (300ms)"
    _until(lambda: _health(rt, cid)["Status"] == "unhealthy", what="unhealthy")
    # the timed-out probes were killed: no "sleep 1000" piles up in the container
    ps = rt.containers.exec(cid, ["ps", "-o", "pid,args"]).stdout.decode()
    assert ps.count("sleep 1000") <= 1, ps


def test_missing_probe_command_is_a_failure_with_the_error(rt, busybox):
    cid = _start(rt, busybox, ("CMD", "no-such-probe"), interval=0.1, retries=1)
    h = _until(lambda: _health(rt, cid)["Status"] == "unhealthy" and _health(rt, cid))
    assert h["Log"][0]["ExitCode"] == -1
    assert "executable file not found" in h["Log"][0]["Output"]


def test_output_is_truncated_like_docker(rt, busybox):
    cid = _start(rt, busybox, ("CMD-SHELL", "head -c 10000 /dev/zero | tr '\\0' a"),
                 interval=0.1)
    h = _until(lambda: _health(rt, cid)["Status"] == "healthy" and _health(rt, cid))
    assert h["Log"][0]["Output"] == "a" * 4096 + "..."


def test_none_and_no_healthcheck_have_no_health(rt, busybox, run_cli):
    cid = _start(rt, busybox, ("NONE",))
    assert "Health" not in rt.containers.inspect(cid)["State"]
    plain = rt.containers.create(spec(busybox, "sleep", "300"))
    rt.containers.start(plain)
    assert "Health" not in rt.containers.inspect(plain)["State"]
    out = run_cli("container", "ls").stdout
    assert "health" not in out and "Up" in out


def test_health_keeps_running_without_any_cli(rt, busybox, state_paths):
    """The container is started by a process that then exits: only the shim remains."""
    cid = rt.containers.create(spec(busybox, "sleep", "300", healthcheck=Healthcheck(
        ("CMD-SHELL", "date +%s%N"), interval=0.1)))
    code = ("import sys; sys.path.insert(0, sys.argv[1]);"
            "from runtime.api import Runtime; from runtime.paths import StatePaths;"
            "Runtime(StatePaths.resolve(sys.argv[2], sys.argv[3])).containers.start(sys.argv[4])")
    subprocess.run([sys.executable, "-c", code, str(REPO), str(state_paths.root),
                    str(state_paths.run_dir), cid], check=True, timeout=60)
    first = _until(lambda: (_health(rt, cid) or {}).get("Log") and _health(rt, cid))
    _until(lambda: _health(rt, cid)["Log"][-1]["Start"] > first["Log"][-1]["Start"],
           what="a newer probe result")
    assert _health(rt, cid)["Status"] == "healthy"


def test_pause_stops_probes_and_restart_resets_to_starting(rt, busybox, tmp_path):
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    cid = rt.containers.create(spec(
        busybox, "sleep", "300", mounts=(Mount(type="bind", source=str(ctl), target="/ctl"),),
        healthcheck=Healthcheck(("CMD-SHELL", "echo x >> /ctl/runs"), interval=0.05)))
    rt.containers.start(cid)
    _until(lambda: _health(rt, cid)["Status"] == "healthy")
    rt.containers.pause(cid)
    time.sleep(0.2)                       # a probe in flight may still finish
    runs = (ctl / "runs").read_text().count("x")
    time.sleep(0.5)
    assert (ctl / "runs").read_text().count("x") == runs
    rt.containers.unpause(cid)
    _until(lambda: (ctl / "runs").read_text().count("x") > runs, what="probes resumed")
    rt.containers.stop(cid, timeout=1)
    rt.containers.start(cid)
    assert _health(rt, cid)["Status"] == "starting"
    assert _health(rt, cid)["Log"]          # kept across restarts, as Docker does


def test_health_survives_a_monitor_takeover(rt, busybox):
    import os
    import signal

    from runtime.container.store import pid_alive

    cid = _start(rt, busybox, ("CMD-SHELL", "test -e /tmp/ok"), interval=0.1, retries=1000)
    _until(lambda: len(_health(rt, cid)["Log"]) >= 2, what="probes")
    assert _health(rt, cid)["Status"] == "starting"
    monitor = rt.containers.get(cid).state["monitor_pid"]
    os.kill(monitor, signal.SIGKILL)
    _until(lambda: not pid_alive(monitor), what="monitor gone")
    # the keeper took over: probes go on and the status machine continues
    rt.containers.exec(cid, ["touch", "/tmp/ok"])
    _until(lambda: _health(rt, cid)["Status"] == "healthy", what="healthy after takeover")
    assert rt.containers.get(cid).state["monitor_pid"] != monitor
