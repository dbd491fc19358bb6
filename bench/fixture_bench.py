"""Service fixtures: session start-to-ready, and per-test reset by snapshot vs down/up.

    /work/venv/bin/python bench/fixture_bench.py [--root DIR] [--rounds 5]

Stack: Redis + PostgreSQL 15 from Debian packages (examples/redis and
examples/webstack/postgres), healthchecks, named volumes, random host ports, driven
through ``compose.testing.Stack`` exactly as the pytest plugin does.

* start-to-ready: ``Stack.from_files(...).up()`` returning only when both services are
  healthy, from nothing (a new project: networks, volumes, containers, PostgreSQL's
  initdb), as a test session's first fixture pays it.
* per-test reset: ``stack.restore()`` (kill, swap the snapshotted volumes, start, wait
  healthy) against ``down -v`` + ``up`` (wait healthy) of the same stack.  Restore is
  measured twice: with the background copy of the snapshot finished (a test longer than
  the copy: the usual case) and back to back (the copy is waited for).  Target: >= 5x.
* testcontainers-python's ``DockerCompose`` on the same file when a Docker engine is
  reachable (``docker info``); otherwise said so, and only our numbers are printed.

The root (default ``$PYCOMPOSE_ROOT`` or /var/lib/pycompose) must hold the
debian:bookworm-slim image (``pycompose image bootstrap debian:bookworm-slim``); the
example images are built into it on first use.  Run as root.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import REPO, Candidate, measure, report, save

STACK = (REPO / "tests" / "integration" / "test_testing_stacks.py").read_text()
STACK = STACK[STACK.index('STACK = """') + 11:]
STACK = STACK[:STACK.index('"""')]


def ensure_images(root: Path | None) -> None:
    """Build the Redis and PostgreSQL example images if missing (FROM
    debian:bookworm-slim: bootstrap it first)."""
    import anyio

    from compose.project.context import ProjectContext
    from compose.project.images import ensure_images as ensure
    from compose.testing import Stack

    stack = Stack.from_files([REPO / "examples" / "webstack" / "compose.yaml"],
                             project_name="bench-prebuild", root=root)
    ctx = ProjectContext(project=stack.project, paths=stack.paths)
    try:
        services = [s for n, s in stack.project.services.items() if n in ("db", "cache")]
        anyio.run(lambda: ensure(ctx, services, pull=None, build=None, quiet_pull=True))
    finally:
        ctx.close()
        stack.close()


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=None)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from compose.testing import Stack

    root = Path(args.root) if args.root else None
    ensure_images(root)
    work = Path(tempfile.mkdtemp(prefix="fixture-bench-"))
    compose = work / "compose.yaml"
    compose.write_text(STACK)
    results = []

    def new_stack(name: str) -> Stack:
        return Stack.from_files([compose], project_name=name, root=root, random_ports=True)

    # 1. session start-to-ready (and its teardown)
    cold = Candidate("up (from nothing) until healthy", run=lambda: None)
    teardown = Candidate("down -v", run=lambda: None)
    for i in range(args.rounds):
        s = new_stack(f"fxbench-cold{i}")
        t0 = time.perf_counter()
        try:
            s.up()
            cold.samples.append(time.perf_counter() - t0)
        finally:
            t1 = time.perf_counter()
            s.down()
            teardown.samples.append(time.perf_counter() - t1)
            s.close()
    results.append(report("Redis + PostgreSQL: session start-to-ready", [cold, teardown],
                           unit="s"))

    # 2. per-test reset
    snap = new_stack("fxbench-snap")
    full = new_stack("fxbench-full")
    try:
        snap.up()
        snap.snapshot("redis", "postgres")
        full.up()

        def dirty(s: Stack) -> None:  # what a test does: write to both stores
            s.exec("redis", ["redis-cli", "set", "k", "v"])
            s.exec("postgres", ["psql", "-U", "tester", "-d", "things", "-c",
                                "CREATE TABLE IF NOT EXISTS t (x int); "
                                "INSERT INTO t VALUES (1)"])

        def settle() -> None:
            dirty(snap)
            snap._snapshots._join()   # the background copy done, as after a real test

        restore = Candidate("restore snapshot (copy staged)", run=snap.restore,
                            setup=settle)
        restore_b2b = Candidate("restore snapshot (back to back)", run=snap.restore,
                                setup=lambda: dirty(snap))

        def down_up() -> None:
            full.down()
            full.up()

        downup = Candidate("down -v + up until healthy", run=down_up,
                           setup=lambda: dirty(full))
        measure([restore, restore_b2b, downup], rounds=args.rounds, warmup=1)
        results.append(report("Redis + PostgreSQL: per-test reset",
                              [downup, restore, restore_b2b],
                              baseline="down -v + up until healthy", unit="s"))
        speedup = downup.median / restore.median
        print(f"\nreset by snapshot: {speedup:.1f}x faster than down/up (median; "
              f"target >= 5x: {'met' if speedup >= 5 else 'NOT met'}); back to back: "
              f"{downup.median / restore_b2b.median:.1f}x")
    finally:
        for s in (snap, full):
            s.down()
            s.close()
        shutil.rmtree(work, ignore_errors=True)

    if docker_available():
        print("\ntestcontainers-python: a Docker engine is reachable but the side-by-side "
              "run is not implemented in this script yet")
    else:
        print("\ntestcontainers-python (DockerCompose): no Docker-compatible engine on this "
              "host (`docker info` fails or docker is not installed): not measured; "
              "pycompose's own numbers only")
    print(f"saved {save('fixture_bench', results)}")


if __name__ == "__main__":
    main()
