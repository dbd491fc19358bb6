"""compose.testing end to end: the Stack API and the pytest plugin on real stacks
(Redis and PostgreSQL built from Debian packages, examples/redis and
examples/webstack/postgres), pytest-xdist workers, failure logs, interrupted sessions.

The Debian base is bootstrapped once per session (``debian_tarball``) and the example
images are built once into a session root (``fx_root``); every test uses its own
project names in that root and must leave nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, needs_root

pytestmark = [pytest.mark.integration, pytest.mark.slow, needs_root,
              pytest.mark.timeout(1200)]

STACK = """
services:
  redis:
    image: pycompose-example/redis:latest
    ports: ["6379:6379"]              # fixed on purpose: the plugin makes it random
    volumes: ["redis-data:/data"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 5s
      timeout: 3s
      retries: 5
      start_interval: 0.1s
      start_period: 10s
  postgres:
    image: pycompose-example/postgres:15
    environment:
      POSTGRES_USER: tester
      POSTGRES_PASSWORD: s3cret
      POSTGRES_DB: things
    ports: ["5432:5432"]
    volumes: ["pg-data:/var/lib/postgresql/data"]
    healthcheck:
      test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "tester", "-d", "things"]
      interval: 5s
      timeout: 3s
      retries: 10
      start_interval: 0.1s
      start_period: 30s
volumes:
  redis-data: {}
  pg-data: {}
"""


@pytest.fixture(scope="session")
def fx_root(tmp_path_factory, debian_tarball):
    """A state root with debian:bookworm-slim and the example images built."""
    import anyio

    from compose.project.context import ProjectContext
    from compose.project.images import ensure_images
    from compose.testing import Stack
    from runtime.build.bootstrap import import_rootfs_tarball
    from runtime.paths import StatePaths
    from tests.integration.test_build import remove_build_network

    d = tmp_path_factory.mktemp("fxroot")
    paths = StatePaths.resolve(d / "root", d / "root" / "run")
    import_rootfs_tarball(paths, debian_tarball, "debian:bookworm-slim")
    stack = Stack.from_files([REPO / "examples" / "webstack" / "compose.yaml"],
                             project_name="prebuild", root=paths.root,
                             run_dir=paths.run_dir)
    ctx = ProjectContext(project=stack.project, paths=paths)
    try:
        anyio.run(lambda: ensure_images(ctx, list(stack.project.services.values()),
                                        pull=None, build=None, quiet_pull=True))
    finally:
        ctx.close()
        stack.close()
        remove_build_network(paths)
    yield paths
    remove_build_network(paths)
    shutil.rmtree(d, ignore_errors=True)


def leftovers(paths, project: str) -> list[str]:
    """What of ``project`` is still on the host: containers, networks, volumes."""
    from compose.project.observe import project_containers
    from runtime.api import Runtime
    from runtime.network.api import Networks
    from runtime.volumes.store import VolumeStore

    rt = Runtime(paths)
    nets = Networks(paths)
    try:
        found = [o.name for o in project_containers(rt.containers, project, oneoff=None)]
        if nets.exists(f"{project}_default"):
            found.append(f"network {project}_default")
    finally:
        nets.close()
        rt.close()
    found += [f"volume {v.name}" for v in VolumeStore(paths).list()
              if v.name.startswith(project + "_")]
    return found


def test_stack_api_redis_and_postgres(fx_root, tmp_path):
    """host_port/url, exec, logs, snapshot/restore and down on real servers, reached
    from the host with Debian's redis-cli and psql."""
    from compose.testing import AsyncStack, PortNotPublished, Stack

    (tmp_path / "compose.yaml").write_text(STACK)
    stack = Stack.from_files([tmp_path / "compose.yaml"], project_name="fxapi",
                             root=fx_root.root, run_dir=fx_root.run_dir, random_ports=True)
    try:
        stack.up()
        rhost, rport = stack.host_port("redis", 6379)
        assert rhost == "127.0.0.1" and rport != 6379
        ping = subprocess.run(["redis-cli", "-h", rhost, "-p", str(rport), "ping"],
                              capture_output=True, text=True, timeout=10)
        assert ping.stdout.strip() == "PONG", ping
        url = stack.url("postgres", 5432, scheme="postgresql", path="things")
        assert url.startswith("postgresql://127.0.0.1:")
        dsn = url.replace("postgresql://", "postgresql://tester:s3cret@")

        def psql(sql: str) -> str:
            res = subprocess.run(["psql", dsn, "-tAc", sql], capture_output=True,
                                 text=True, timeout=30)
            assert res.returncode == 0, res.stderr
            return res.stdout.strip()

        assert psql("SELECT current_database()") == "things"
        with pytest.raises(PortNotPublished):
            stack.host_port("redis", 1234)

        res = stack.exec("redis", ["redis-cli", "set", "k", "v1"])
        assert (res.exit_code, res.stdout) == (0, "OK\n")
        res = stack.exec("postgres", "echo out; echo err >&2; exit 3")
        assert (res.exit_code, res.stdout, res.stderr) == (3, "out\n", "err\n")
        assert "Ready to accept connections" in stack.logs("redis")
        assert "database system is ready to accept connections" in stack.logs()

        # fast reset: the state right after start-up comes back
        stack.snapshot("postgres", "redis")
        psql("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        stack.exec("redis", ["redis-cli", "set", "k", "v2"])
        stack.restore()
        assert psql("SELECT to_regclass('t') IS NULL") == "t"
        assert stack.exec("redis", ["redis-cli", "get", "k"]).stdout == "v1\n"
        psql("CREATE TABLE t (x int)")  # restorable again and again
        stack.restore("postgres")
        assert psql("SELECT to_regclass('t') IS NULL") == "t"

        # the async face of the same stack
        async def use_async() -> str:
            a = AsyncStack(stack)
            return (await a.exec("redis", ["redis-cli", "ping"])).stdout
        import anyio

        assert anyio.run(use_async) == "PONG\n"
    finally:
        stack.down()
        stack.close()
    assert leftovers(fx_root, "fxapi") == []
    assert not (fx_root.root / "testing" / "snapshots" / "fxapi").exists()


# ---- the pytest plugin, run in a child pytest ----------------------------------------

def write_suite(d: Path, tests: str, ini_extra: str = "") -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "compose.yaml").write_text(STACK)
    (d / "pytest.ini").write_text("[pytest]\npycompose_files = compose.yaml\n"
                                  "pycompose_project_name = fxplug\n" + ini_extra)
    (d / "test_inner.py").write_text(tests)


def child_cmd(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-p", "compose.testing.plugin",
            "-p", "xdist.plugin", "-p", "no:cacheprovider", f"--pycompose-root={root}",
            *args]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"   # the outer pytest may have it installed
    for k in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_ADDOPTS",
              "PYCOMPOSE_ROOT", "PYCOMPOSE_RUN_DIR"):
        env.pop(k, None)
    return env


def run_child(d: Path, root: Path, *args: str, timeout: float = 600,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(child_cmd(root, *args), cwd=d, env={**child_env(), **(env or {})},
                          text=True, capture_output=True, timeout=timeout)


RECORDING_TESTS = """
import json, os

def record(stack, test):
    with open(os.environ["FX_OUT"], "a") as f:
        f.write(json.dumps({"test": test, "worker": os.environ.get("PYTEST_XDIST_WORKER"),
                            "project": stack.name,
                            "redis": list(stack.host_port("redis", 6379)),
                            "postgres": list(stack.host_port("postgres", 5432))}) + "\\n")

def test_a(pycompose):
    assert pycompose.exec("redis", ["redis-cli", "ping"]).stdout == "PONG\\n"
    record(pycompose, "a")

def test_b(pycompose):
    res = pycompose.exec("postgres", ["psql", "-U", "tester", "-d", "things", "-tAc", "select 1"])
    assert res.stdout == "1\\n", res
    record(pycompose, "b")

def test_c(pycompose_stack):
    record(pycompose_stack, "c")

def test_d(pycompose_stack):
    record(pycompose_stack, "d")
"""


def test_plugin_xdist_workers_get_separate_projects_and_ports(fx_root, tmp_path):
    d = tmp_path / "suite"
    write_suite(d, RECORDING_TESTS)
    out = tmp_path / "records.jsonl"
    res = run_child(d, fx_root.root, "-n", "2", "-q", "--dist", "load",
                    env={"FX_OUT": str(out)})
    assert res.returncode == 0, res.stdout + res.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4
    by_worker: dict[str, set] = {}
    for r in rows:
        by_worker.setdefault(r["worker"], set()).add(
            (r["project"], tuple(r["redis"]), tuple(r["postgres"])))
    assert set(by_worker) == {"gw0", "gw1"}, rows
    (p0,), (p1,) = by_worker.values()      # one stack per worker, reused by its tests
    assert p0[0] != p1[0] and p0[0].startswith("fxplug-gw")
    assert {p0[1][1], p0[2][1]}.isdisjoint({p1[1][1], p1[2][1]})
    assert 6379 not in (p0[1][1], p1[1][1]) and 5432 not in (p0[2][1], p1[2][1])
    for project in (p0[0], p1[0]):
        assert leftovers(fx_root, project) == []
    assert list((fx_root.root / "testing" / "stacks").glob("fxplug-*")) == []


def test_plugin_failing_test_reports_the_services_logs(fx_root, tmp_path):
    d = tmp_path / "suite"
    write_suite(d, """
def test_passes(pycompose):
    pass

def test_fails(pycompose):
    assert pycompose.exec("redis", ["redis-cli", "get", "nope"]).stdout == "something"
""")
    res = run_child(d, fx_root.root, "-q", "-rN")
    assert res.returncode == 1, res.stdout + res.stderr
    out = res.stdout
    section = out[out.index("pycompose logs"):]
    assert "1 failed, 1 passed" in out
    assert "fxplug-main-" in section
    assert "redis-1" in section and "Ready to accept connections" in section
    assert "postgres-1" in section and "database system is ready" in section
    # only the failing test gets the section
    assert out.count("pycompose logs (") == 1


SLEEPER = """
import os, time

def test_sleeps(pycompose_stack):
    with open(os.environ["FX_MARK"], "w") as f:
        f.write(pycompose_stack.name)
    time.sleep(300)
"""


def start_sleeper(d: Path, root: Path, mark: Path) -> tuple[subprocess.Popen, str]:
    env = child_env()
    env["FX_MARK"] = str(mark)
    proc = subprocess.Popen(child_cmd(root, "-q", "-s"), cwd=d, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while not mark.exists() or not mark.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"child pytest did not start the stack:\n"
                                 f"{proc.communicate()[0]}")
        time.sleep(0.2)
    return proc, mark.read_text()


def test_plugin_sigint_leaves_nothing_behind(fx_root, tmp_path):
    d = tmp_path / "suite"
    write_suite(d, SLEEPER)
    proc, project = start_sleeper(d, fx_root.root, tmp_path / "mark")
    assert leftovers(fx_root, project) != []          # it is really up
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 2, out                  # pytest: interrupted
    assert "KeyboardInterrupt" in out
    assert leftovers(fx_root, project) == []
    assert not (fx_root.root / "testing" / "stacks" / f"{project}.json").exists()


def test_plugin_sigkill_then_next_session_reaps_the_stale_stack(fx_root, tmp_path):
    d = tmp_path / "suite"
    write_suite(d, SLEEPER)
    proc, project = start_sleeper(d, fx_root.root, tmp_path / "mark")
    proc.kill()                                       # no teardown at all
    proc.communicate(timeout=60)
    stale = leftovers(fx_root, project)
    assert any(x.startswith(f"{project}-redis-1") for x in stale), stale
    assert (fx_root.root / "testing" / "stacks" / f"{project}.json").exists()

    d2 = tmp_path / "next"
    write_suite(d2, "def test_quick(pycompose):\n    assert pycompose.services\n")
    res = run_child(d2, fx_root.root, "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    assert leftovers(fx_root, project) == []
    assert list((fx_root.root / "testing" / "stacks").glob("*.json")) == []


def test_plugin_keep_leaves_the_stack_up(fx_root, tmp_path):
    from compose.testing.sessions import records, remove_record
    from compose.testing.stack import Stack

    d = tmp_path / "suite"
    write_suite(d, "def test_quick(pycompose):\n    assert pycompose.services\n")
    res = run_child(d, fx_root.root, "-q", "--pycompose-keep")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "left up (--pycompose-keep)" in res.stdout
    kept = [r for r in records(fx_root) if r.project.startswith("fxplug-main-")]
    assert len(kept) == 1 and kept[0].keep
    try:
        assert leftovers(fx_root, kept[0].project) != []
    finally:
        Stack.from_record(kept[0], fx_root).down()
        remove_record(fx_root, kept[0].project)
    assert leftovers(fx_root, kept[0].project) == []


def test_example_test_suite_passes(fx_root):
    """examples/tests: the webstack (built web app + PostgreSQL + Redis) with reset."""
    d = REPO / "examples" / "tests"
    res = subprocess.run(child_cmd(fx_root.root, "-q", "-p", "anyio.pytest_plugin"),
                         cwd=d, env=child_env(), text=True, capture_output=True,
                         timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "5 passed" in res.stdout
    assert list((fx_root.root / "testing" / "stacks").glob("webstack-tests-*")) == []
