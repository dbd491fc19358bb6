"""``up -d`` / ``down`` of generated stacks, side by side with podman-compose.

    /work/venv/bin/python bench/up_bench.py [--ns 1,5,20,50] [--rounds 5]

Stacks: N independent services (``sleep 3600`` on a busybox image, default bridge
network) and a 10-deep dependency chain.  Each round runs ``up -d`` then ``down -t 0``
for pycompose and then for podman-compose (installed by
``shared/research/recipes/anchors/setup.sh``; its image ``localhost/bb``), interleaved.
Also: the CLI's own start-up (``version``, ``ps`` on an empty project) against
``python -c pass``, and an ``up -d`` that finds nothing to change.  Run as root.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Candidate, command, measure, pycompose_argv, report, save

PODMAN_COMPOSE = Path("/tmp/anchors-venv/bin/podman-compose")


def stack(n: int, image: str, chain: bool = False) -> str:
    lines = ["services:"]
    for i in range(1, n + 1):
        lines += [f"  s{i}:", f"    image: {image}", "    command: sleep 3600",
                  "    stop_signal: SIGKILL"]
        if chain and i > 1:
            lines += ["    depends_on:", f"      - s{i - 1}"]
    return "\n".join(lines) + "\n"


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    res = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{argv!r} failed: {res.stderr.decode()[-600:]}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="1,5,20,50")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-podman", action="store_true")
    a = ap.parse_args()
    from tests.integration.compose_fixtures import rootfs_tar

    work = Path(tempfile.mkdtemp(prefix="pc-upbench-"))
    root = work / "root"
    env = dict(os.environ, PYCOMPOSE_ROOT=str(root), PYCOMPOSE_RUN_DIR=str(work / "run"),
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    pc = pycompose_argv()
    subprocess.run([*pc, "image", "import", str(rootfs_tar(work)), "bb:bench"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    podman = PODMAN_COMPOSE.exists() and shutil.which("podman") and not a.no_podman
    results = {}
    try:
        cases = [(f"N={n}", n, False) for n in map(int, a.ns.split(","))]
        cases.append(("chain-10", 10, True))
        for label, n, chain in cases:
            d = work / label
            d.mkdir()
            (d / "pc.yaml").write_text(stack(n, "bb:bench", chain))
            (d / "podman.yaml").write_text(stack(n, "localhost/bb", chain))
            ours_up = Candidate(f"pycompose up -d ({label})", run=lambda: None)
            ours_down = Candidate(f"pycompose down -t 0 ({label})", run=lambda: None)
            theirs_up = Candidate(f"podman-compose up -d ({label})", run=lambda: None)
            theirs_down = Candidate(f"podman-compose down -t 0 ({label})", run=lambda: None)
            for _ in range(a.rounds):
                ours_up.samples.append(timed([*pc, "-p", "bench", "-f", "pc.yaml", "up",
                                              "-d"], env, d))
                ours_down.samples.append(timed([*pc, "-p", "bench", "-f", "pc.yaml", "down",
                                                "-t", "0"], env, d))
                if podman:
                    pcargs = [str(PODMAN_COMPOSE), "-p", "bench", "-f", "podman.yaml"]
                    theirs_up.samples.append(timed([*pcargs, "up", "-d"], os.environ, d))
                    theirs_down.samples.append(timed([*pcargs, "down", "-t", "0"],
                                                     os.environ, d))
            ups = [ours_up] + ([theirs_up] if podman else [])
            downs = [ours_down] + ([theirs_down] if podman else [])
            results[f"up {label}"] = report(f"up -d, {label}", ups, baseline=theirs_up.name
                                            if podman else None)
            results[f"down {label}"] = report(f"down -t 0, {label}", downs,
                                              baseline=theirs_down.name if podman else None)
            per = ours_up.median / n * 1000
            print(f"pycompose up -d: {per:.1f} ms per service ({label})")

        # Start-up and the no-change up.
        d = work / "N=5"
        subprocess.run([*pc, "-p", "bench", "-f", "pc.yaml", "up", "-d"], env=env, cwd=d,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cands = [
            Candidate("python -c pass", command([sys.executable, "-c", "pass"])),
            Candidate("pycompose version", command([*pc, "version"], env=env)),
            Candidate("pycompose ps (empty project)",
                      command([*pc, "-p", "empty", "-f", str(d / "pc.yaml"), "ps"], env=env)),
            Candidate("pycompose up -d (nothing to change, N=5)",
                      command([*pc, "-p", "bench", "-f", str(d / "pc.yaml"), "up", "-d"],
                              env=env)),
        ]
        measure(cands, rounds=max(10, a.rounds * 2))
        results["startup"] = report("CLI start-up", cands, baseline="python -c pass")
        subprocess.run([*pc, "-p", "bench", "-f", "pc.yaml", "down", "-t", "0"], env=env,
                       cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        for label in os.listdir(work):
            if (work / label / "pc.yaml").exists():
                subprocess.run([*pc, "-p", "bench", "-f", "pc.yaml", "down", "-t", "0"],
                               env=env, cwd=work / label, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nresults: {save('up_bench', results)}")


if __name__ == "__main__":
    main()
