"""Benchmark: compose config loading.

1. In-process: load + validate + normalize a generated 200-service file
   (``compose.project_loader.load_project``, no cache involved: with jsonschema-rs the
   schema check costs ~0.2 ms), with its parts; target < 150 ms.
2. Whole process: ``pycompose config -q`` on a 10-service file next to ``python -c pass``,
   measured in the same run, interleaved: unchanged project (the ``config -q`` result
   cache answers) and first run (``PYCOMPOSE_NO_CACHE=1``: full load); target < 8x.

Modules are byte-compiled first (as an installation does; ``PYTHONDONTWRITEBYTECODE``
is dropped for the measured processes).  The machine's load average is printed: on a
busy machine the medians mostly measure the other processes; the minimums are closer
to the code's own cost.

Run: ``/work/venv/bin/python bench/config_bench.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def compose_text(n: int) -> str:
    lines = ["services:"]
    for i in range(n):
        lines += [
            f"  svc{i}:",
            f"    image: registry.example.com/team/app{i}:1.{i}",
            f"    command: [\"/bin/app\", \"--port\", \"{8000 + i}\"]",
            "    restart: unless-stopped",
            "    environment:",
            f"      SERVICE_ID: \"{i}\"",
            "      LOG_LEVEL: ${LOG_LEVEL:-info}",
            "      DEBUG: \"false\"",
            "    ports:",
            f"      - \"{10000 + i}:8080\"",
            "    volumes:",
            f"      - ./data/svc{i}:/data",
            "      - shared:/shared:ro",
            "    healthcheck:",
            "      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:8080/health\"]",
            "      interval: 30s",
            "      timeout: 5s",
            "      retries: 3",
            "    mem_limit: 256m",
            "    labels:",
            f"      - com.example.svc=svc{i}",
        ]
        if i:
            lines += ["    depends_on:", f"      svc{i - 1}:",
                      "        condition: service_healthy"]
    lines += ["volumes:", "  shared: {}", ""]
    return "\n".join(lines)


def stats(samples: list[float]) -> str:
    return (f"min {min(samples) * 1000:7.1f} ms   median "
            f"{statistics.median(samples) * 1000:7.1f} ms")


def in_process(path: Path, runs: int) -> dict[str, list[float]]:
    from compose.loader import LoadOptions, load_config
    from compose.project_loader import build_project, load_project
    from compose.validate.schema import validate_schema

    opts = LoadOptions(files=(str(path),), environ={}, working_dir=str(path.parent))
    os.environ["PYCOMPOSE_NO_CACHE"] = "1"
    out: dict[str, list[float]] = {k: [] for k in
                                   ("load_config", "schema", "model+checks", "load_project")}
    load_project(opts)  # warm imports
    for _ in range(runs):
        t0 = time.perf_counter()
        cfg = load_config(opts)
        t1 = time.perf_counter()
        validate_schema(cfg.data, cfg.positions)
        t2 = time.perf_counter()
        build_project(cfg.data, cfg.positions, project_name=cfg.project_name,
                      project_dir=cfg.project_dir, environment=cfg.environment,
                      validate=False)
        t3 = time.perf_counter()
        out["load_config"].append(t1 - t0)
        out["schema"].append(t2 - t1)
        out["model+checks"].append(t3 - t2)
        t0 = time.perf_counter()
        load_project(opts)
        out["load_project"].append(time.perf_counter() - t0)
    del os.environ["PYCOMPOSE_NO_CACHE"]
    return out


def whole_process(path: Path, runs: int, cache_dir: str) -> dict[str, list[float]]:
    py = sys.executable
    env = dict(os.environ, PYTHONPATH=str(REPO), PYCOMPOSE_CACHE_DIR=cache_dir)
    # measure an installed program: modules compiled once (pip writes .pyc files at
    # install), not re-compiled from source on every start
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    import compileall

    for pkg in ("compose", "runtime"):
        compileall.compile_dir(str(REPO / pkg), quiet=1)
    env_nc = dict(env, PYCOMPOSE_NO_CACHE="1")
    cmd = [py, "-m", "compose", "-f", str(path), "config", "-q"]
    cmds = {"python -c pass": ([py, "-c", "pass"], env),
            "config -q (unchanged)": (cmd, env),
            "config -q (first run)": (cmd, env_nc)}
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)  # fill the cache
    if r.returncode != 0:
        raise SystemExit(f"config -q failed: {r.stderr}")
    out: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(runs):
        for name, (argv, e) in cmds.items():  # interleaved
            t0 = time.perf_counter()
            subprocess.run(argv, env=e, stdout=subprocess.DEVNULL, check=True)
            out[name].append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    with tempfile.TemporaryDirectory() as d:
        big = Path(d) / "big" / "compose.yaml"
        big.parent.mkdir()
        big.write_text(compose_text(200))
        small = Path(d) / "small" / "compose.yaml"
        small.parent.mkdir()
        small.write_text(compose_text(10))
        os.environ["PYCOMPOSE_CACHE_DIR"] = str(Path(d) / "cache")

        print(f"200-service file ({big.stat().st_size // 1024} KiB), in-process, "
              f"{args.runs} runs:")
        res = in_process(big, args.runs)
        for k, v in res.items():
            print(f"  {k:22s} {stats(v)}")
        med = statistics.median(res["load_project"]) * 1000
        low = min(res["load_project"]) * 1000
        print(f"  target < 150 ms: median {med:.0f} ms {'OK' if med < 150 else 'MISSED'}, "
              f"min {low:.0f} ms {'OK' if low < 150 else 'MISSED'}")

        print(f"\nwhole process, 10-service file, {args.runs} interleaved runs:")
        wp = whole_process(small, args.runs, str(Path(d) / "cache"))
        for k, v in wp.items():
            print(f"  {k:22s} {stats(v)}")
        base = statistics.median(wp["python -c pass"])
        for k in ("config -q (unchanged)", "config -q (first run)"):
            ratio = statistics.median(wp[k]) / base
            bmin = min(wp[k]) / min(wp["python -c pass"])
            print(f"  {k}: {ratio:.1f}x python -c pass (median), {bmin:.1f}x (min); "
                  f"target < 8x: {'OK' if ratio < 8 else 'MISSED'}")


if __name__ == "__main__":
    main()
