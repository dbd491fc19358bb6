"""Shared timing harness for the benchmarks in ``bench/``.

Candidates are measured in *interleaved* rounds (A B C, A B C, ...) so that drift in
machine load hits them all alike; we report min and median and the ratio of each
candidate to a baseline.  Never used by pass/fail tests.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Candidate:
    name: str
    run: Callable[[], object]            # one measured execution
    setup: Callable[[], object] | None = None     # before each round, not timed
    teardown: Callable[[], object] | None = None  # after each round, not timed
    samples: list[float] = field(default_factory=list)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def command(argv: Sequence[str], *, env: dict[str, str] | None = None,
            check: bool = True) -> Callable[[], None]:
    """A runnable that executes ``argv`` with output discarded."""

    def run() -> None:
        res = subprocess.run(list(argv), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        if check and res.returncode != 0:
            raise RuntimeError(f"{argv!r} failed ({res.returncode}): {res.stderr[-400:]!r}")

    return run


def pycompose_argv(*args: str) -> list[str]:
    """The project's CLI through the venv's own interpreter (not the pyenv shim)."""
    script = VENV_BIN / "pycompose"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "compose", *args]


def pycompose_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def have(binary: str) -> bool:
    return shutil.which(binary) is not None


def measure(candidates: Sequence[Candidate], rounds: int = 20, warmup: int = 2) -> None:
    for _ in range(warmup):
        for c in candidates:
            if c.setup:
                c.setup()
            c.run()
            if c.teardown:
                c.teardown()
    for _ in range(rounds):
        for c in candidates:
            if c.setup:
                c.setup()
            t0 = time.perf_counter()
            c.run()
            c.samples.append(time.perf_counter() - t0)
            if c.teardown:
                c.teardown()


def report(title: str, candidates: Sequence[Candidate], baseline: str | None = None,
           unit: str = "ms") -> dict:
    scale = 1000.0 if unit == "ms" else 1.0
    base = next((c for c in candidates if c.name == baseline), None)
    print(f"\n## {title}")
    print(f"{'candidate':<44} {'min':>9} {'median':>9}  ratio(median)")
    rows = {}
    for c in candidates:
        ratio = c.median / base.median if base and base.median else None
        ratio_s = f"{ratio:6.2f}x vs {base.name}" if ratio is not None else ""
        print(f"{c.name:<44} {c.min * scale:8.1f}{unit} {c.median * scale:8.1f}{unit}  {ratio_s}")
        rows[c.name] = {"min": c.min, "median": c.median, "n": len(c.samples),
                        "ratio_vs_baseline": ratio}
    return {"title": title, "baseline": baseline, "results": rows}


def save(name: str, data: object) -> Path:
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(data, indent=2))
    return path
