"""Build benchmark: a 10-step Dockerfile, cold (``--no-cache``) and warm (all cached).

``pycompose image build`` (whole CLI process, temporary state root) side by side with
``podman build`` when podman is installed, on the same busybox base (tests/rootfs.py,
imported into both stores), the same context and ``--network=host`` for both; then the
cold build once more with each tool's default RUN network (ours: bridge + NAT).
Targets (issue #8): warm < 0.5 s and >= 3x faster than podman; cold within 1.2x.

    /work/venv/bin/python bench/build_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    Candidate,
    command,
    have,
    measure,
    pycompose_argv,
    pycompose_env,
    report,
    save,
)

BASE = "localhost/pycompose-bench-busybox:1"
DOCKERFILE = f"""FROM {BASE}
ENV APP=/app
WORKDIR /app
COPY a.txt .
RUN cat a.txt > a.copy
COPY dir/ ./dir/
RUN ls dir > listing
LABEL stage=bench
RUN echo built > built.txt
COPY b.txt .
CMD ["cat", "built.txt"]
"""


def make_context(d: Path) -> Path:
    ctx = d / "ctx"
    (ctx / "dir").mkdir(parents=True)
    (ctx / "a.txt").write_text("a\n" * 1000)
    (ctx / "b.txt").write_text("b\n")
    for i in range(50):
        (ctx / "dir" / f"f{i}.txt").write_text(f"{i}\n" * 100)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return ctx


def base_tarball(d: Path) -> Path:
    from tests.rootfs import busybox_rootfs

    rootfs = busybox_rootfs(d / "busybox")
    tar = d / "busybox.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(rootfs, arcname=".")
    return tar


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="build-bench-"))
    try:
        run(tmp, args.rounds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp: Path, rounds: int) -> None:
    from runtime.images.reference import parse
    from runtime.images.store import ImageStore
    from runtime.paths import StatePaths

    ctx = make_context(tmp)
    tar = base_tarball(tmp)
    paths = StatePaths.resolve(tmp / "root", tmp / "run")
    with open(tar, "rb") as f:
        ImageStore(paths).import_rootfs(io.BytesIO(f.read()), parse(BASE))
    env = pycompose_env(PYCOMPOSE_ROOT=str(paths.root), PYCOMPOSE_RUN_DIR=str(paths.run_dir))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure as installed: cached bytecode
    pyc = pycompose_argv("image", "build", "-q", "--network", "host", "-t", "bench:1",
                         str(ctx))
    pyc_cold = [*pyc[:-1], "--no-cache", str(ctx)]
    warm = [Candidate("pycompose image build (warm, all cached)", command(pyc, env=env))]
    cold = [Candidate("pycompose image build --no-cache (cold)", command(pyc_cold, env=env))]
    pyc_bridge = pycompose_argv("image", "build", "-q", "--no-cache", "-t", "bench:1",
                                str(ctx))
    cold_default = [Candidate("pycompose --no-cache, default network (bridge+NAT)",
                              command(pyc_bridge, env=env))]
    podman = have("podman")
    if podman:
        subprocess.run(["podman", "import", "-q", str(tar), BASE], check=True,
                       stdout=subprocess.DEVNULL)
        pod = ["podman", "build", "-q", "--network", "host", "-t", "pycompose-bench:1",
               str(ctx)]
        warm.append(Candidate("podman build (warm, all cached)", command(pod)))
        cold.append(Candidate("podman build --no-cache (cold)",
                              command([*pod[:-1], "--no-cache", str(ctx)])))
        cold_default.append(Candidate("podman build --no-cache, default network",
                                      command(["podman", "build", "-q", "--no-cache", "-t",
                                               "pycompose-bench:1", str(ctx)])))
    try:
        measure(warm, rounds=rounds, warmup=1)
        measure(cold, rounds=max(3, rounds // 2), warmup=1)
        measure(cold_default, rounds=max(3, rounds // 2), warmup=1)
        baseline_w = "podman build (warm, all cached)" if podman else None
        baseline_c = "podman build --no-cache (cold)" if podman else None
        results = [report("10-step Dockerfile, warm rebuild (nothing changed)", warm,
                          baseline_w),
                   report("10-step Dockerfile, cold build (--no-cache)", cold, baseline_c),
                   report("10-step Dockerfile, cold build, each tool's default RUN network",
                          cold_default, "podman build --no-cache, default network"
                          if podman else None)]
        if not podman:
            print("\n(podman is not installed: no anchor)")
        path = save("build_bench", results)
        print(f"\nresults: {path}")
    finally:
        from runtime.network.api import Networks

        nets = Networks(paths)  # the default RUN network lives in the temporary root
        try:
            if nets.exists("pycompose-build"):
                nets.remove("pycompose-build", force=True)
        finally:
            nets.close()
        if podman:
            subprocess.run(["podman", "rmi", "-f", "pycompose-bench:1", BASE],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["podman", "image", "prune", "-f"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
