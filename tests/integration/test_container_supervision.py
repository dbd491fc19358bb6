"""Daemonless supervision: the shim outlives the CLI, survives losing a process,
applies restart policies, stops with a grace period, writes and rotates logs."""

from __future__ import annotations

import os
import signal
import time

import pytest

from runtime.container.store import pid_alive
from runtime.spec import LogConfig, Mount, RestartPolicy
from tests.conftest import needs_root
from tests.integration.helpers import output, spec, wait_for_output

pytestmark = [pytest.mark.integration, needs_root]

# Blocks until the test creates /ctl/go on the host, then prints and exits 7.
GATED = "echo up; while [ ! -e /ctl/go ]; do sleep 0.05; done; echo after; exit 7"


def _gated(rt, busybox, tmp_path):
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    cid = rt.containers.create(spec(busybox, "sh", "-c", GATED,
                                    mounts=(Mount(type="bind", source=str(ctl),
                                                  target="/ctl"),)))
    return cid, ctl


def _wait_until(pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_detached_container_survives_cli_and_monitor_sigkill(rt, busybox, tmp_path,
                                                            run_cli):
    ctl = tmp_path / "ctl"
    ctl.mkdir()
    res = run_cli("container", "run", "-d", "--name", "survivor", "-v", f"{ctl}:/ctl",
                  str(busybox), "sh", "-c", GATED)
    assert res.returncode == 0, res
    cid = res.stdout.strip()           # the CLI process has exited by now
    wait_for_output(rt, cid, "up")
    st = rt.containers.get(cid).state
    monitor, keeper, pid1 = st["monitor_pid"], st["keeper_pid"], st["pid"]
    assert monitor != keeper and pid_alive(monitor) and pid_alive(keeper)
    os.kill(monitor, signal.SIGKILL)
    _wait_until(lambda: not pid_alive(monitor))
    assert pid_alive(pid1, st["pid_start"])          # the container did not notice
    assert rt.containers.get(cid).status.value == "running"
    (ctl / "go").touch()
    assert rt.containers.wait(cid, timeout=30) == 7  # recorded by the keeper
    state = rt.containers.get(cid).state
    assert state["status"] == "exited" and state["finished_at"]
    assert "after" in output(rt, cid)                # logs kept flowing after takeover
    _wait_until(lambda: not pid_alive(keeper))


def test_keeper_sigkill_leaves_monitor_in_charge(rt, busybox, tmp_path):
    cid, ctl = _gated(rt, busybox, tmp_path)
    rt.containers.start(cid)
    wait_for_output(rt, cid, "up")
    st = rt.containers.get(cid).state
    os.kill(st["keeper_pid"], signal.SIGKILL)
    (ctl / "go").touch()
    assert rt.containers.wait(cid, timeout=30) == 7


def test_both_supervisors_lost_is_reported_not_hidden(rt, busybox, tmp_path):
    cid, ctl = _gated(rt, busybox, tmp_path)
    rt.containers.start(cid)
    wait_for_output(rt, cid, "up")
    st = rt.containers.get(cid).state
    os.kill(st["keeper_pid"], signal.SIGKILL)
    os.kill(st["monitor_pid"], signal.SIGKILL)
    _wait_until(lambda: not pid_alive(st["monitor_pid"]) and not pid_alive(st["keeper_pid"]))
    rec = rt.containers.get(cid)
    assert rec.status.value == "running" and rec.state.get("supervised") is False
    (ctl / "go").touch()
    _wait_until(lambda: rt.containers.get(cid).status.value == "exited")
    state = rt.containers.get(cid).state
    assert state["exit_code"] == 255 and "supervisor" in state["error"]


def test_restart_on_failure_with_limit_keeps_logs(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sh", "-c", "echo run; exit 3",
                                    restart=RestartPolicy("on-failure", 2)))
    rt.containers.start(cid)
    _wait_until(lambda: rt.containers.get(cid).state.get("restart_count") == 2
                and rt.containers.get(cid).status.value == "exited")
    rec = rt.containers.get(cid)
    assert rec.state["exit_code"] == 3
    assert output(rt, cid).count("run\n") == 3       # logs survive restarts
    assert rt.containers.inspect(cid)["RestartCount"] == 2


def test_restart_always_until_stopped(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sh", "-c", "echo tick; sleep 0.2; exit 0",
                                    restart=RestartPolicy("always")))
    rt.containers.start(cid)
    _wait_until(lambda: output(rt, cid).count("tick") >= 3)
    rt.containers.stop(cid, timeout=5)
    rec = rt.containers.get(cid)
    assert rec.status.value == "exited"
    n = output(rt, cid).count("tick")
    time.sleep(0.5)
    assert output(rt, cid).count("tick") == n        # a stopped container stays stopped


def test_stop_grace_then_sigkill(rt, busybox):
    # busybox sleep as PID 1 has no SIGTERM handler: the kernel drops the signal.
    cid = rt.containers.create(spec(busybox, "sleep", "1000"))
    rt.containers.start(cid)
    rt.containers.stop(cid, timeout=0.5)
    assert rt.containers.get(cid).state["exit_code"] == 137


def test_stop_is_graceful_when_handled(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sh", "-c",
                                    "trap 'echo bye; exit 5' TERM; echo ready; "
                                    "while true; do sleep 0.05; done",
                                    stop_signal="SIGTERM"))
    rt.containers.start(cid)
    wait_for_output(rt, cid, "ready")
    rt.containers.stop(cid, timeout=30)
    assert rt.containers.get(cid).state["exit_code"] == 5
    assert "bye" in output(rt, cid)


def test_logs_rotate_and_tail(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sh", "-c",
                                    "i=0; while [ $i -lt 400 ]; do echo line$i; "
                                    "i=$((i+1)); done",
                                    log=LogConfig(max_size=4096, max_file=3)))
    rt.containers.start(cid)
    assert rt.containers.wait(cid, timeout=30) == 0
    d = rt.containers.get(cid).dir
    logs = sorted(p.name for p in d.iterdir() if "-json.log" in p.name)
    assert logs == [f"{cid}-json.log", f"{cid}-json.log.1", f"{cid}-json.log.2"]
    assert all((d / n).stat().st_size <= 4096 for n in logs)
    lines = [e.data.decode().strip() for e in rt.containers.logs(cid)]
    assert lines[-1] == "line399"
    first = int(lines[0][4:])
    assert lines == [f"line{i}" for i in range(first, 400)]   # oldest rotated away
    assert [e.data for e in rt.containers.logs(cid, tail=2)] == [b"line398\n", b"line399\n"]


def test_logs_follow_until_exit(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sh", "-c",
                                    "echo one; sleep 0.3; echo two >&2; sleep 0.3; echo three"))
    rt.containers.start(cid)
    got = [(e.stream, e.data) for e in rt.containers.logs(cid, follow=True)]
    assert got == [("stdout", b"one\n"), ("stderr", b"two\n"), ("stdout", b"three\n")]


def test_nothing_leaks_after_rm(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sleep", "1000"))
    rt.containers.start(cid)
    st = rt.containers.get(cid).state
    bundle = (rt.containers.get(cid).dir / "bundle.json").read_text()
    import json

    cgroup_dirs = json.loads(bundle)["cgroup"]["paths"]
    assert all(os.path.isdir(p) for p in cgroup_dirs)
    rt.containers.remove(cid, force=True)
    for pid in (st["pid"], st["monitor_pid"], st["keeper_pid"]):
        _wait_until(lambda pid=pid: not pid_alive(pid))
    assert not any(os.path.exists(p) for p in cgroup_dirs)
    with open("/proc/self/mountinfo") as f:
        assert cid not in f.read()
    assert not rt.containers.get.__self__.store.dir(cid).exists()
    assert not any(cid in p.name for p in rt.paths.run_dir.rglob("*"))


def test_fork_server_shims_outlive_the_server(state_paths, busybox, tmp_path):
    from runtime.api import Runtime

    rt2 = Runtime(state_paths, fork_server=True)
    try:
        cid, ctl = _gated(rt2, busybox, tmp_path)
        rt2.containers.start(cid)
        other = rt2.containers.create(spec(busybox, "sh", "-c", "exit 4"))
        rt2.containers.start(other)
        assert rt2.containers.wait(other, timeout=30) == 4
        wait_for_output(rt2, cid, "up")
        server = rt2.containers._fork_server._pid
        rt2.close()                                  # the fork server exits ...
        _wait_until(lambda: not pid_alive(server))
        assert rt2.containers.get(cid).status.value == "running"   # ... the shim does not
        (ctl / "go").touch()
        assert rt2.containers.wait(cid, timeout=30) == 7
        assert "after" in output(rt2, cid)
    finally:
        for rec in rt2.containers.store.records():
            rt2.containers.remove(rec.id, force=True)
