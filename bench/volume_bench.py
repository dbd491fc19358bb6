"""Volume I/O vs the host filesystem, and copy-up time for a 10k-file image directory.

    sudo /work/venv/bin/python bench/volume_bench.py [--rounds 5]

* write/read throughput: the same ``busybox dd`` script (same sizes, bs=1M) run (a)
  inside a real pycompose container on a named volume, (b) in a container on a bind
  mount of a plain host directory, (c) directly on the host in that directory (all on
  the same filesystem).  Writes end with ``conv=fsync`` (data on
  disk); reads are page-cache reads of the file just written, repeated READS times.
  The script times itself with ``adjtimex`` (read-only; microseconds: busybox ``date``
  has no %N), so container start-up is not in the figure.  Rounds are interleaved, medians reported.
  Target: volume within 5% of the host.
* copy-up: ``runtime.volumes.copyup.copy_up`` of an image layer directory holding 10,000
  files (100 dirs x 100 files of 1 KiB, varied owners/modes) into an empty volume,
  against ``cp -a`` of the same tree as the anchor.

Everything is created under a temporary root in /var/tmp and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from runtime.api import Runtime  # noqa: E402
from runtime.paths import StatePaths  # noqa: E402
from runtime.spec import ContainerSpec, Mount, Process, RootFS  # noqa: E402
from runtime.volumes.copyup import copy_up  # noqa: E402
from runtime.volumes.mounts import volume_mount  # noqa: E402
from runtime.volumes.store import VolumeStore  # noqa: E402
from tests.rootfs import BUSYBOX, busybox_rootfs  # noqa: E402

TIMES_RE = re.compile(r"^T ([0-9.]+) ([0-9.]+) ([0-9.]+)$", re.M)
MiB = 1024 * 1024
READS = 8
CANDIDATES = ("volume", "bind", "host")
SCRIPT = ("now() {{ adjtimex | awk '/tv_sec/{{s=$2}} /tv_usec/{{u=$2}} "
          "END{{printf \"%d.%06d\", s, u}}'; }}; t0=$(now); "
          "dd if=/dev/zero of=f bs=1M count={size} conv=fsync 2>/dev/null; t1=$(now); "
          "i=0; while [ $i -lt {reads} ]; do dd if=f of=/dev/null bs=1M 2>/dev/null; "
          "i=$((i+1)); done; t2=$(now); rm f; echo \"T $t0 $t1 $t2\" >&2")


def script_times(stderr: str) -> tuple[float, float]:
    """(write seconds, read seconds for READS passes)."""
    m = TIMES_RE.search(stderr)
    if not m:
        raise RuntimeError(f"unexpected benchmark output: {stderr!r}")
    t0, t1, t2 = (float(x) for x in m.groups())
    return t1 - t0, t2 - t1


def in_container(rt: Runtime, image: Path, mount, script: str) -> str:
    spec = ContainerSpec(image="busybox", image_id="", rootfs=RootFS((image,)),
                         process=Process(args=("sh", "-c", script)), mounts=(mount,))
    cid = rt.containers.create(spec)
    try:
        rt.containers.start(cid)
        code = rt.containers.wait(cid, timeout=300)
        err = "".join(e.data.decode() for e in rt.containers.logs(cid) if e.stream == "stderr")
        if code != 0:
            raise RuntimeError(f"container failed ({code}): {err}")
        return err
    finally:
        rt.containers.remove(cid, force=True)


def on_host(script: str, cwd: Path) -> str:
    res = subprocess.run([str(BUSYBOX), "sh", "-c", script], cwd=cwd, capture_output=True,
                         text=True, check=True)
    return res.stderr


def io_bench(rt: Runtime, store: VolumeStore, image: Path, host_dir: Path,
             sizes_mib: list[int], rounds: int) -> list[tuple]:
    """MB/s per candidate: volume (container), bind (container, host dir), host (no
    container).  volume vs bind isolates the volume itself from container effects."""
    vol = store.create("bench-io")
    vmount = volume_mount(vol, "/vol", nocopy=True)
    bmount = Mount(type="bind", source=str(host_dir), target="/vol")
    rows = []
    for size in sizes_mib:
        script = SCRIPT.format(size=size, reads=READS)
        samples: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            for where in CANDIDATES:
                if where == "host":
                    out = on_host(script, host_dir)
                else:
                    m = vmount if where == "volume" else bmount
                    out = in_container(rt, image, m, f"cd /vol && {script}")
                w, r = script_times(out)
                samples.setdefault((where, "write"), []).append(w)
                samples.setdefault((where, "read"), []).append(r / READS)
        for op in ("write", "read"):
            med = {c: size / statistics.median(samples[(c, op)]) for c in CANDIDATES}
            best = {c: size / min(samples[(c, op)]) for c in CANDIDATES}
            rows.append((op, size, med, best))
    store.remove("bench-io")
    return rows


def make_tree(root: Path, dirs: int = 100, files: int = 100) -> None:
    payload = os.urandom(1024)
    for d in range(dirs):
        sub = root / "data" / f"d{d:03d}"
        sub.mkdir(parents=True)
        for f in range(files):
            p = sub / f"f{f:03d}"
            p.write_bytes(payload)
            if f % 10 == 0:
                os.chown(p, 1000, 1000)
                os.chmod(p, 0o600)


def copyup_bench(work: Path, rounds: int) -> tuple[float, float]:
    layer = work / "layer"
    make_tree(layer)
    ours, cp = [], []
    for i in range(rounds):
        dest = work / f"vol{i}"
        dest.mkdir()
        t0 = time.perf_counter()
        assert copy_up((layer,), "/data", dest)
        ours.append(time.perf_counter() - t0)
        shutil.rmtree(dest)
        t0 = time.perf_counter()
        subprocess.run(["cp", "-a", str(layer / "data"), str(work / f"cp{i}")], check=True)
        cp.append(time.perf_counter() - t0)
        shutil.rmtree(work / f"cp{i}")
    return statistics.median(ours), statistics.median(cp)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--sizes", default="256,1024", help="MiB, comma separated")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("volume_bench needs root (real containers)")
    work = Path(tempfile.mkdtemp(prefix="pycompose-volbench-", dir="/var/tmp"))
    try:
        paths = StatePaths.resolve(work / "root", work / "run")
        rt, store = Runtime(paths), VolumeStore(paths)
        image = busybox_rootfs(work / "busybox")
        host_dir = work / "hostdir"
        host_dir.mkdir()
        sizes = [int(s) for s in args.sizes.split(",")]
        print(f"volume I/O vs host ({args.rounds} interleaved rounds, median, "
              f"fs under {work})")
        print("MB/s = median; 'best' columns compare each candidate's fastest round")
        print(f"{'op':<6}{'size':>8}{'volume MB/s':>13}{'bind MB/s':>11}{'host MB/s':>11}"
              f"{'vol/host':>10}{'vol/bind':>10}{'best v/h':>10}")
        worst = 1.0
        for op, size, med, best in io_bench(rt, store, image, host_dir, sizes, args.rounds):
            v, b, h = (med[c] * MiB / 1e6 for c in CANDIDATES)
            bv, bh = best["volume"], best["host"]
            worst = min(worst, v / h)
            print(f"{op:<6}{size:>6}Mi{v:>13.0f}{b:>11.0f}{h:>11.0f}{v / h:>10.1%}"
                  f"{v / b:>10.1%}{bv / bh:>10.1%}")
        print(f"worst median volume/host ratio: {worst:.1%} (target >= 95%); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        ours, cp = copyup_bench(work / "copyup", max(3, args.rounds // 2))
        print(f"copy-up of 10,000 files (1 KiB each, 100 dirs): {ours:.2f}s "
              f"(cp -a: {cp:.2f}s, ratio {ours / cp:.2f}x)")
    finally:
        for v in VolumeStore(StatePaths.resolve(work / "root", work / "run")).list():
            VolumeStore(StatePaths.resolve(work / "root", work / "run")).remove(v.name,
                                                                              force=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
