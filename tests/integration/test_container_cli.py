"""``pycompose container ...`` end to end (real containers, the real CLI)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import cli_env, needs_root

pytestmark = [pytest.mark.integration, needs_root]


def test_run_attached_output_and_exit_code(run_cli, busybox):
    res = run_cli("container", "run", "--rm", str(busybox), "sh", "-c",
                  "echo out; echo err >&2; exit 3")
    assert res.returncode == 3, res
    assert res.stdout == "out\n" and res.stderr == "err\n"
    assert run_cli("container", "ls", "-a", "-q").stdout == ""   # --rm removed it


def test_run_interactive_stdin(run_cli, busybox):
    res = run_cli("container", "run", "--rm", "-i", str(busybox), "sh", "-c",
                  "tr a-z A-Z", input="hello\n")
    assert res.returncode == 0, res
    assert res.stdout == "HELLO\n"


def test_missing_command_127_and_name_conflict(run_cli, busybox):
    res = run_cli("container", "run", "--name", "x1", str(busybox), "nope")
    assert res.returncode == 127 and "executable file not found" in res.stderr
    res = run_cli("container", "create", "--name", "x1", str(busybox), "true")
    assert res.returncode == 6 and "already in use" in res.stderr
    # run pre-spawns its shim before creating: a failed create must cancel it cleanly
    res = run_cli("container", "run", "-d", "--name", "x1", str(busybox), "true")
    assert res.returncode == 6 and "already in use" in res.stderr


def test_lifecycle_ls_inspect_logs_rm(run_cli, busybox):
    cid = run_cli("container", "run", "-d", "--name", "web", "-e", "A=1",
                  str(busybox), "sh", "-c", "echo started; sleep 1000").stdout.strip()
    assert len(cid) == 64
    ls = run_cli("container", "ls", "--format", "json")
    rows = [json.loads(line) for line in ls.stdout.splitlines()]
    assert [r["Names"] for r in rows] == ["web"] and rows[0]["State"] == "running"
    assert run_cli("container", "inspect", "-f", "{{.State.Status}} {{.Name}}",
                   cid[:8]).stdout == "running /web\n"
    data = json.loads(run_cli("container", "inspect", "web").stdout)[0]
    assert data["Id"] == cid and "A=1" in data["Config"]["Env"]
    assert data["State"]["Running"] is True and data["State"]["Pid"] > 0
    for _ in range(100):
        if "started" in run_cli("container", "logs", "web").stdout:
            break
        time.sleep(0.05)
    assert run_cli("container", "logs", "-t", "web").stdout.split(" ", 1)[1] == "started\n"
    assert run_cli("container", "rm", "web").returncode == 6       # running: refused
    assert run_cli("container", "stop", "-t", "0", "web").returncode == 0
    ls = run_cli("container", "ls", "-a", "-f", "status=exited", "-q").stdout.split()
    assert ls == [cid[:12]]
    assert run_cli("container", "wait", "web").stdout == "137\n"
    assert run_cli("container", "start", "web").returncode == 0
    assert run_cli("container", "ls", "-q").stdout.split() == [cid[:12]]
    pid = run_cli("container", "inspect", "-f", "{{.State.Pid}}", "web").stdout
    assert run_cli("container", "restart", "-t", "0", "web").returncode == 0
    assert run_cli("container", "inspect", "-f", "{{.State.Status}}", "web").stdout == \
        "running\n"
    assert run_cli("container", "inspect", "-f", "{{.State.Pid}}", "web").stdout != pid
    assert run_cli("container", "rm", "-f", "web").returncode == 0
    assert run_cli("container", "inspect", "web").returncode == 4


def test_prune_removes_stopped_only(run_cli, busybox):
    run_cli("container", "run", "--name", "done", str(busybox), "true")
    run_cli("container", "run", "-d", "--name", "live", str(busybox), "sleep", "1000")
    res = run_cli("container", "prune", "-f")
    assert res.returncode == 0 and "Deleted Containers" in res.stdout
    assert run_cli("container", "ls", "-a", "--format", "json").stdout.count('"Names"') == 1
    run_cli("container", "rm", "-f", "live")


def _pty_run(state_paths, args, send=b"", timeout=30.0):
    """Run the CLI with a real terminal; returns (rc, everything it printed)."""
    master, slave = pty.openpty()
    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    proc = subprocess.Popen([sys.executable, "-m", "compose", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                out += chunk
                if b"ready" in out and send:
                    os.write(master, send)
                    send = b""
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return proc.returncode, out.decode(errors="replace")


def test_tty_run_has_a_terminal_and_ctrl_c_reaches_the_container(state_paths, busybox):
    rc, out = _pty_run(state_paths, [
        "container", "run", "--rm", "-it", str(busybox), "sh", "-c",
        "[ -t 0 ] && echo is-a-tty; stty size; echo $TERM; "
        "trap 'echo got-int; exit 9' INT; echo ready; while true; do sleep 0.05; done"],
        send=b"\x03")
    assert rc == 9, out
    assert "is-a-tty" in out and "xterm" in out and "got-int" in out


def test_tty_input_is_raw_and_echoed_by_the_container(state_paths, busybox):
    rc, out = _pty_run(state_paths, [
        "container", "run", "--rm", "-it", str(busybox), "sh", "-c",
        "echo ready; read line; echo \"you said [$line]\""], send=b"hi there\r")
    assert rc == 0, out
    assert "you said [hi there]" in out
