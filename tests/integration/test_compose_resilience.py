"""Orphans, an interrupted ``up`` (SIGKILL) and Ctrl-C in attached mode: what is left
is always something ``down`` cleans up completely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import cli_env, needs_root
from tests.integration.compose_fixtures import wait_until, write

pytestmark = [pytest.mark.integration, needs_root]

TWO = """
name: {name}
services:
  a:
    image: pcbox:1
    command: ["sh", "-c", "echo a-up; exec sleep 1000"]
    stop_signal: SIGKILL
  b:
    image: pcbox:1
    command: ["sh", "-c", "echo b-up; exec sleep 1000"]
    stop_signal: SIGKILL
"""


def _popen(state_paths, *args):
    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    return subprocess.Popen([sys.executable, "-m", "compose", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_orphans_found_and_removed(run_cli, project_dir):
    f = write(project_dir, TWO.format(name="orph"))
    assert run_cli("-f", str(f), "up", "-d").returncode == 0
    write(project_dir, TWO.format(name="orph").split("  b:")[0])
    res = run_cli("-f", str(f), "down")
    assert res.returncode == 0, res
    assert "orphan containers (orph-b-1)" in res.stderr
    assert "orph-b-1" in run_cli("-f", str(f), "ps", "-a", "-q").stdout or \
        "orph-b-1" in run_cli("container", "ls", "-a").stdout
    res = run_cli("-f", str(f), "down", "--remove-orphans")
    assert res.returncode == 0, res
    assert "orph-b-1" not in run_cli("container", "ls", "-a").stdout


def test_sigkill_during_up_then_down_cleans_everything(run_cli, project_dir, state_paths):
    f = write(project_dir, TWO.format(name="crash"))
    proc = _popen(state_paths, "-f", str(f), "up", "-d")
    # Kill as soon as the first container exists (mid-up).
    wait_until(lambda: "crash-" in run_cli("container", "ls", "-a").stdout or
               proc.poll() is not None, timeout=30, interval=0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    res = run_cli("-f", str(f), "down", "-v", "-t", "0")
    assert res.returncode == 0, res
    assert "crash-" not in run_cli("container", "ls", "-a").stdout
    assert "crash_default" not in run_cli("network", "ls").stdout
    # and the project is usable again
    assert run_cli("-f", str(f), "up", "-d").returncode == 0
    assert run_cli("-f", str(f), "down", "-t", "0").returncode == 0


def test_attached_up_stops_on_sigint(run_cli, project_dir, state_paths):
    f = write(project_dir, TWO.format(name="att"))
    proc = _popen(state_paths, "--ansi", "never", "-f", str(f), "up")
    try:
        try:
            wait_until(lambda: proc.poll() is not None or
                       run_cli("-f", str(f), "ps", "-q").stdout.count("\n") == 2,
                       timeout=60)
        except AssertionError:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate(timeout=30)
            raise AssertionError(f"attached up did not start both services:\n{out}\n{err}"
                                 ) from None
        assert proc.poll() is None, proc.communicate(timeout=30)
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert "Attaching to a-1, b-1" in out
    assert "a-1  | a-up" in out and "b-1  | b-up" in out
    assert "Gracefully Stopping" in err
    assert run_cli("-f", str(f), "ps", "-q").stdout == ""  # stopped, not removed
    assert run_cli("-f", str(f), "ps", "-a", "-q").stdout.count("\n") == 2


def test_named_volume_data_survives_sigkill_mid_recreate(run_cli, project_dir, state_paths):
    f = write(project_dir, """
name: keep
services:
  db:
    image: pcbox:1
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    volumes: ["data:/data"]
  other:
    image: pcbox:1
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
volumes:
  data: {}
""")
    assert run_cli("-f", str(f), "up", "-d").returncode == 0
    assert run_cli("-f", str(f), "exec", "-T", "db", "sh", "-c",
                   "echo precious > /data/file").returncode == 0
    for delay in (0.05, 0.2, 0.4):
        proc = _popen(state_paths, "-f", str(f), "up", "-d", "--force-recreate")
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        res = run_cli("-f", str(f), "up", "-d")
        assert res.returncode == 0, res
        res = run_cli("-f", str(f), "exec", "-T", "db", "cat", "/data/file")
        assert res.stdout == "precious\n", res
    assert run_cli("-f", str(f), "down", "-v", "-t", "0").returncode == 0
    assert "keep_data" not in run_cli("volume", "ls", "-q").stdout
