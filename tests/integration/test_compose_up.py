"""``up``/``down`` end to end with real containers, networks and volumes."""

from __future__ import annotations

import json

import pytest

from tests.conftest import needs_root
from tests.integration.compose_fixtures import wait_until, write

pytestmark = [pytest.mark.integration, needs_root]

STACK = """
name: demo
services:
  db:
    image: pcbox:1
    command: ["sh", "-c", "echo db-ready; exec sleep 1000"]
    volumes: ["data:/data"]
  web:
    image: pcbox:1
    command: ["sh", "-c", "nslookup db >/tmp/ns 2>&1 && echo RESOLVED-db; exec sleep 1000"]
    depends_on: [db]
    ports: ["127.0.0.1::8080"]
volumes:
  data: {}
"""


def ps_json(run_cli, f):
    res = run_cli("-f", str(f), "ps", "-a", "--format", "json")
    assert res.returncode == 0, res
    return [json.loads(line) for line in res.stdout.splitlines()]


def test_up_down_roundtrip(run_cli, project_dir):
    f = write(project_dir, STACK)
    res = run_cli("-f", str(f), "up", "-d")
    assert res.returncode == 0, res
    assert res.stdout == ""  # progress goes to stderr, stdout stays clean
    assert "Container demo-web-1" in res.stderr
    rows = {r["Service"]: r for r in ps_json(run_cli, f)}
    assert set(rows) == {"db", "web"}
    assert all(r["State"] == "running" for r in rows.values())
    assert rows["web"]["Name"] == "demo-web-1"
    assert rows["web"]["Publishers"] and rows["web"]["Publishers"][0]["TargetPort"] == 8080

    def resolved():
        out = run_cli("-f", str(f), "logs", "--no-color", "web")
        return "RESOLVED-db" in out.stdout
    wait_until(resolved)
    logs = run_cli("-f", str(f), "logs", "--no-color")
    assert "db-1   | db-ready" in logs.stdout

    # up again with nothing changed: nothing recreated
    ids_before = {r["ID"] for r in ps_json(run_cli, f)}
    res = run_cli("-f", str(f), "up", "-d")
    assert res.returncode == 0, res
    assert {r["ID"] for r in ps_json(run_cli, f)} == ids_before

    ls = run_cli("ls")
    assert "demo" in ls.stdout and "running(2)" in ls.stdout

    res = run_cli("-f", str(f), "down")
    assert res.returncode == 0, res
    assert ps_json(run_cli, f) == []
    assert "Network demo_default Removed" in res.stderr or "Network demo_default" in res.stderr
    # the named volume survives down; down -v removes it
    vols = run_cli("volume", "ls", "-q")
    assert "demo_data" in vols.stdout
    res = run_cli("-f", str(f), "down", "-v")
    assert res.returncode == 0, res
    assert "demo_data" not in run_cli("volume", "ls", "-q").stdout


def test_config_change_recreates_only_that_service(run_cli, project_dir):
    f = write(project_dir, STACK)
    assert run_cli("-f", str(f), "up", "-d").returncode == 0
    before = {r["Service"]: r["ID"] for r in ps_json(run_cli, f)}
    write(project_dir, STACK.replace("echo db-ready", "echo db-ready-v2"))
    res = run_cli("-f", str(f), "up", "-d")
    assert res.returncode == 0, res
    after = {r["Service"]: r["ID"] for r in ps_json(run_cli, f)}
    assert after["db"] != before["db"]
    assert after["web"] == before["web"]
    # the label is what `config --hash` prints (as docker compose)
    hashes = dict(line.split() for line in run_cli("-f", str(f), "config", "--hash",
                                                   "*").stdout.splitlines())
    labels = {r["Service"]: r["Labels"] for r in ps_json(run_cli, f)}
    assert f"com.docker.compose.config-hash={hashes['db']}" in labels["db"]


def test_scale_up_and_down(run_cli, project_dir):
    f = write(project_dir, STACK)
    assert run_cli("-f", str(f), "up", "-d", "--scale", "web=3").returncode == 0
    names = sorted(r["Name"] for r in ps_json(run_cli, f) if r["Service"] == "web")
    assert names == ["demo-web-1", "demo-web-2", "demo-web-3"]
    assert run_cli("-f", str(f), "up", "-d", "--scale", "web=1").returncode == 0
    names = sorted(r["Name"] for r in ps_json(run_cli, f) if r["Service"] == "web")
    assert names == ["demo-web-1"]


def test_completed_successfully_gates_dependent(run_cli, project_dir):
    f = write(project_dir, """
name: gate
services:
  migrate:
    image: pcbox:1
    command: ["sh", "-c", "sleep 0.5; echo migrated"]
  app:
    image: pcbox:1
    command: ["sh", "-c", "echo app-started; exec sleep 1000"]
    depends_on:
      migrate: {condition: service_completed_successfully}
""")
    res = run_cli("-f", str(f), "up", "-d")
    assert res.returncode == 0, res
    rows = {r["Service"]: r for r in ps_json(run_cli, f)}
    assert rows["migrate"]["State"] == "exited" and rows["migrate"]["ExitCode"] == 0
    assert rows["app"]["State"] == "running"


def test_failed_dependency_stops_dependents(run_cli, project_dir):
    f = write(project_dir, """
name: failgate
services:
  migrate:
    image: pcbox:1
    command: ["sh", "-c", "exit 3"]
  app:
    image: pcbox:1
    command: ["sleep", "1000"]
    depends_on:
      migrate: {condition: service_completed_successfully}
""")
    res = run_cli("-f", str(f), "up", "-d")
    assert res.returncode == 1, res
    assert "exit 3" in res.stderr and "app" in res.stderr
    rows = {r["Service"]: r for r in ps_json(run_cli, f)}
    assert "app" not in rows


def test_attached_exit_code_from(run_cli, project_dir):
    f = write(project_dir, """
name: attached
services:
  job:
    image: pcbox:1
    command: ["sh", "-c", "echo job-output; exit 7"]
  side:
    image: pcbox:1
    command: ["sleep", "1000"]
""")
    res = run_cli("-f", str(f), "--ansi", "never", "up", "--exit-code-from", "job",
                  "-t", "1")
    assert res.returncode == 7, res
    assert "job-1   | job-output" in res.stdout
    assert "job-1 exited with code 7" in res.stdout


def test_two_projects_with_same_service_names_stay_apart(run_cli, project_dir):
    f1 = write(project_dir, STACK.replace("name: demo", "name: one"), "one.yaml")
    f2 = write(project_dir, STACK.replace("name: demo", "name: two"), "two.yaml")
    try:
        assert run_cli("-f", str(f1), "up", "-d").returncode == 0
        assert run_cli("-f", str(f2), "up", "-d").returncode == 0
        assert {r["Name"] for r in ps_json(run_cli, f1)} == {"one-db-1", "one-web-1"}
        assert run_cli("-f", str(f1), "down").returncode == 0
        assert {r["Name"] for r in ps_json(run_cli, f2)} == {"two-db-1", "two-web-1"}
    finally:
        run_cli("-f", str(f1), "down", "-v", "-t", "1")
        run_cli("-f", str(f2), "down", "-v", "-t", "1")


def test_run_one_off_passes_exit_code_and_leaves_nothing(run_cli, project_dir):
    f = write(project_dir, STACK)
    res = run_cli("-f", str(f), "run", "--rm", "web", "sh", "-c",
                  "nslookup db >/dev/null && echo found-db; exit 5")
    assert res.returncode == 5, res
    assert "found-db" in res.stdout
    rows = ps_json(run_cli, f)
    assert [r["Service"] for r in rows] == ["db"]  # dependency started, one-off removed
    res = run_cli("-f", str(f), "down", "-t", "1")
    assert res.returncode == 0, res
    assert "still in use" not in res.stderr  # the --rm container released its endpoint


def test_exec_top_cp_pause(run_cli, project_dir, tmp_path):
    f = write(project_dir, STACK)
    assert run_cli("-f", str(f), "up", "-d").returncode == 0
    res = run_cli("-f", str(f), "exec", "-T", "web", "sh", "-c", "hostname; echo $0; exit 4")
    assert res.returncode == 4, res
    res = run_cli("-f", str(f), "exec", "-T", "db", "ls", "/data")
    assert res.returncode == 0, res
    top = run_cli("-f", str(f), "top", "db")
    assert top.returncode == 0 and "demo-db-1" in top.stdout and "sleep 1000" in top.stdout
    (tmp_path / "hello.txt").write_text("hi there\n")
    assert run_cli("-f", str(f), "cp", str(tmp_path / "hello.txt"), "db:/data/").returncode == 0
    res = run_cli("-f", str(f), "exec", "-T", "db", "cat", "/data/hello.txt")
    assert res.stdout == "hi there\n", res
    assert run_cli("-f", str(f), "cp", "db:/data/hello.txt",
                   str(tmp_path / "back.txt")).returncode == 0
    assert (tmp_path / "back.txt").read_text() == "hi there\n"
    assert run_cli("-f", str(f), "pause", "db").returncode == 0
    assert ps_json(run_cli, f)[0]["State"] == "paused"
    assert run_cli("-f", str(f), "unpause", "db").returncode == 0
    assert {r["State"] for r in ps_json(run_cli, f)} == {"running"}
    res = run_cli("-f", str(f), "exec", "nope", "true")
    assert res.returncode == 4 and "no such service: nope" in res.stderr


def test_service_healthy_gates_dependent_and_ps_shows_health(run_cli, project_dir):
    f = write(project_dir, """
name: health
services:
  db:
    image: pcbox:1
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 1000"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      start_interval: 100ms
      start_period: 10s
      retries: 3
  app:
    image: pcbox:1
    command: ["sh", "-c", "echo app-started; exec sleep 1000"]
    stop_signal: SIGKILL
    depends_on:
      db: {condition: service_healthy}
""")
    res = run_cli("-f", str(f), "up", "-d")
    assert res.returncode == 0, res
    assert "Container health-db-1 Healthy" in res.stderr
    assert res.stderr.index("Container health-db-1 Healthy") < \
        res.stderr.index("Container health-app-1 Started")
    rows = {r["Service"]: r for r in ps_json(run_cli, f)}
    assert rows["db"]["Health"] == "healthy" and rows["db"]["Status"].endswith("(healthy)")
    table = run_cli("-f", str(f), "ps").stdout.splitlines()
    assert table[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS",
                                "PORTS"]
    assert "(healthy)" in next(line for line in table if line.startswith("health-db-1"))


def test_unhealthy_dependency_fails_up(run_cli, project_dir):
    f = write(project_dir, """
name: unhealthy
services:
  db:
    image: pcbox:1
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    healthcheck:
      test: ["CMD-SHELL", "exit 1"]
      interval: 100ms
      retries: 2
  app:
    image: pcbox:1
    command: ["sleep", "1000"]
    depends_on:
      db: {condition: service_healthy}
""")
    res = run_cli("-f", str(f), "up", "-d")
    assert res.returncode == 1, res
    assert "unhealthy" in res.stderr and "app" in res.stderr


def test_events_json_stream(run_cli, project_dir, state_paths):
    import subprocess
    import sys

    from tests.conftest import cli_env

    f = write(project_dir, STACK)
    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    proc = subprocess.Popen([sys.executable, "-m", "compose", "-f", str(f), "events",
                             "--json"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        import time

        time.sleep(1.0)  # the watcher takes its first snapshot
        assert run_cli("-f", str(f), "up", "-d").returncode == 0
        seen = []
        while len(seen) < 4:
            seen.append(json.loads(proc.stdout.readline()))
    finally:
        proc.kill()
        proc.wait()
    assert {(e["service"], e["action"]) for e in seen} >= {("db", "create"), ("db", "start"),
                                                           ("web", "create"), ("web", "start")}


def test_independent_services_start_concurrently_dependents_after(run_cli, project_dir):
    services = "".join(f"""
  s{i}:
    image: pcbox:1
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
""" for i in range(1, 5))
    f = write(project_dir, f"""
name: conc
services:{services}
  after:
    image: pcbox:1
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
    depends_on: [s1, s2, s3, s4]
""")
    res = run_cli("-f", str(f), "--progress", "plain", "up", "-d")
    assert res.returncode == 0, res
    lines = res.stderr.splitlines()

    def at(text):
        return next(i for i, line in enumerate(lines) if line.strip() == text)

    starting = [at(f"Container conc-s{i}-1 Starting") for i in range(1, 5)]
    started = [at(f"Container conc-s{i}-1 Started") for i in range(1, 5)]
    # Overlap: some independent service began starting before another finished.
    assert min(started) > sorted(starting)[1], "\n".join(lines)
    # The dependent is created only once every dependency has started.
    assert at("Container conc-after-1 Creating") > max(started)
    rows = ps_json(run_cli, f)
    assert len(rows) == 5 and {r["State"] for r in rows} == {"running"}


def test_abort_on_container_exit_stops_everything(run_cli, project_dir):
    f = write(project_dir, """
name: abort
services:
  job:
    image: pcbox:1
    command: ["sh", "-c", "sleep 0.5; exit 3"]
  side:
    image: pcbox:1
    command: ["sleep", "1000"]
    stop_signal: SIGKILL
""")
    res = run_cli("-f", str(f), "--ansi", "never", "up", "--abort-on-container-exit")
    assert res.returncode == 3, res
    assert "Aborting on container exit..." in res.stderr
    assert "job-1 exited with code 3" in res.stdout
    assert {r["State"] for r in ps_json(run_cli, f)} == {"exited"}
