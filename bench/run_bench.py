"""Container start-up and supervision cost: pycompose vs podman and crun.

    /work/venv/bin/python bench/run_bench.py [--rounds 20] [--with-crun] [--trace]

1. end to end: ``pycompose container run --rm --network none <busybox rootfs> true``
   (the venv's interpreter, not a pyenv shim) vs ``podman run --rm --network none
   localhost/bb true`` (runc, podman's default here) and ``--runtime crun``;
2. in one process: ``Runtime.containers.start()`` (spawn the shim .. exec of PID 1
   observed) and create+start+wait+remove, vs ``crun run`` of an OCI bundle of the same
   rootfs;
3. host memory our supervision costs per running container (keeper + monitor PSS,
   USS), for 1 and for 20 containers.

Interleaved rounds, min and median (bench/harness.py).  podman needs the anchors setup
(``/work/shared/research/recipes/anchors/setup.sh``: image localhost/bb, OCI bundles in
/tmp/anchors).  crun 1.8 refuses hybrid cgroup hosts whose cgroup2 mount holds any
controller; ``--with-crun`` moves such controllers to v1 mounts for the measurement and
restores them afterwards (as the anchors harness does) - it changes host state other
work may observe, so it is opt-in.
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

ANCHORS = Path("/tmp/anchors")
CG = Path("/sys/fs/cgroup")


def _bb_rootfs(scratch: Path) -> Path:
    from tests.rootfs import busybox_rootfs

    return busybox_rootfs(scratch / "busybox")


def _podman_ready() -> bool:
    if not have("podman"):
        return False
    res = subprocess.run(["podman", "image", "exists", "localhost/bb"], capture_output=True)
    return res.returncode == 0


# -- crun on a hybrid host ----------------------------------------------------------
def _v2_controllers() -> list[str]:
    try:
        return (CG / "unified" / "cgroup.controllers").read_text().split()
    except OSError:
        return []


def _move_v2_controllers_to_v1() -> list[Path]:
    mounted = []
    for c in _v2_controllers():
        target = CG / c
        if os.path.ismount(target):
            continue
        target.mkdir(exist_ok=True)
        res = subprocess.run(["mount", "-t", "cgroup", "-o", c, "cgroup", str(target)])
        if res.returncode == 0:
            mounted.append(target)
    return mounted


def _prune(root: Path) -> None:
    """rmdir every child cgroup (podman leaves libpod_parent/conmon behind)."""
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        try:
            d.rmdir()
        except OSError:
            pass


def _count(controller: str) -> int:
    for line in Path("/proc/cgroups").read_text().splitlines():
        f = line.split()
        if f and f[0] == controller:
            return int(f[2])
    return 0


def _restore(mounted: list[Path]) -> None:
    """Give the controllers back to cgroup2.  The kernel frees an unmounted v1
    hierarchy only if no child cgroup (dying ones included) is left at umount time."""
    for target in mounted:
        c = target.name
        for _attempt in range(5):
            if not os.path.ismount(target):
                target.mkdir(exist_ok=True)
                subprocess.run(["mount", "-t", "cgroup", "-o", c, "cgroup", str(target)],
                               check=False)
            _prune(target)
            for _ in range(100):
                if _count(c) <= 1:
                    break
                time.sleep(0.1)
            subprocess.run(["umount", str(target)], check=False)
            for _ in range(25):
                if c in (CG / "unified" / "cgroup.controllers").read_text().split():
                    break
                time.sleep(0.2)
            else:
                continue
            break
        else:
            print(f"# WARNING: controller {c} did not return to cgroup2")
        try:
            target.rmdir()
        except OSError:
            pass


def _crun_bundle(scratch: Path, rootfs: Path) -> Path | None:
    if not have("crun"):
        return None
    bundle = scratch / "crun-bundle"
    bundle.mkdir(exist_ok=True)
    subprocess.run(["crun", "spec"], cwd=bundle, check=True, capture_output=True)
    import json

    cfg = json.loads((bundle / "config.json").read_text())
    cfg["root"] = {"path": str(rootfs), "readonly": True}
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    cfg["linux"]["namespaces"] = [{"type": t} for t in ("pid", "network", "ipc", "uts",
                                                         "mount", "cgroup")]
    (bundle / "config.json").write_text(json.dumps(cfg))
    return bundle


# -- memory --------------------------------------------------------------------------
def _smaps(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].endswith(":") and parts[1].isdigit():
                out[parts[0][:-1]] = int(parts[1])
    return out


def supervision_memory(rt, rootfs: Path, n: int) -> dict[str, float]:
    from runtime.spec import ContainerSpec, Process, RootFS

    ids = []
    try:
        for _ in range(n):
            cid = rt.containers.create(ContainerSpec(
                image=str(rootfs), image_id="", rootfs=RootFS((rootfs,)),
                process=Process(args=("sleep", "100000"))))
            rt.containers.start(cid)
            ids.append(cid)
        time.sleep(0.5)
        pss = uss = rss = 0
        for cid in ids:
            st = rt.containers.get(cid).state
            for pid in (st["keeper_pid"], st["monitor_pid"]):
                m = _smaps(pid)
                pss += m["Pss"]
                rss += m["Rss"]
                uss += m["Private_Clean"] + m["Private_Dirty"]
        return {"containers": n, "pss_kib_per_container": pss / n,
                "uss_kib_per_container": uss / n, "rss_kib_per_container": rss / n}
    finally:
        for cid in ids:
            rt.containers.remove(cid, force=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--with-crun", action="store_true")
    ap.add_argument("--memory-n", type=int, default=20)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")

    from runtime.api import Runtime
    from runtime.paths import StatePaths
    from runtime.spec import ContainerSpec, Process, RootFS

    scratch = Path(tempfile.mkdtemp(prefix="pycompose-bench-"))
    results: dict = {}
    mounted: list[Path] = []
    try:
        rootfs = _bb_rootfs(scratch)
        paths = StatePaths.resolve(scratch / "root", scratch / "run")
        env = pycompose_env(PYCOMPOSE_ROOT=str(paths.root), PYCOMPOSE_RUN_DIR=str(paths.run_dir))
        rt = Runtime(paths)
        crun_bundle = _crun_bundle(scratch, rootfs)
        crun_ok = False
        if crun_bundle and a.with_crun:
            mounted = _move_v2_controllers_to_v1()
        if crun_bundle:
            probe = subprocess.run(["crun", "--root", str(scratch / "crun"), "run",
                                    "bench-probe"], cwd=crun_bundle, capture_output=True,
                                   text=True)
            crun_ok = probe.returncode == 0
            if not crun_ok:
                print(f"# crun unavailable here: {probe.stderr.strip()[:160]}"
                      + ("" if a.with_crun else " (try --with-crun)"))

        # 1. end to end ---------------------------------------------------------------
        e2e = [Candidate("pycompose container run --rm --network none",
                         command(pycompose_argv("container", "run", "--rm", "--network",
                                                "none", str(rootfs), "true"), env=env))]
        if _podman_ready():
            e2e.append(Candidate("podman run --rm --network none (runc)",
                                 command(["podman", "run", "--rm", "--network", "none",
                                          "localhost/bb", "true"])))
            if crun_ok:
                e2e.append(Candidate("podman run --rm --network none (crun)",
                                     command(["podman", "--runtime", "crun", "run", "--rm",
                                              "--network", "none", "localhost/bb", "true"])))
        else:
            print("# podman or localhost/bb missing: run the anchors setup.sh")
        counter = [0]

        def crun_run() -> None:
            counter[0] += 1
            subprocess.run(["crun", "--root", str(scratch / "crun"), "run",
                            f"bench-{counter[0]}"], cwd=crun_bundle, check=True,
                           stdout=subprocess.DEVNULL)

        if crun_ok:
            e2e.append(Candidate("crun run (OCI bundle, same rootfs)", crun_run))
        measure(e2e, rounds=a.rounds, warmup=a.warmup)
        base = next((c.name for c in e2e if c.name.startswith("podman")), None)
        results["end_to_end"] = report("end to end: run --rm --network none true", e2e,
                                       baseline=base)

        # 2. in one process -----------------------------------------------------------
        spec = ContainerSpec(image=str(rootfs), image_id="", rootfs=RootFS((rootfs,)),
                             process=Process(args=("true",)))
        state: dict = {}

        def prep() -> None:
            state["cid"] = rt.containers.create(spec)

        def start_only() -> None:
            rt.containers.start(state["cid"])

        def finish() -> None:
            rt.containers.wait(state["cid"])
            rt.containers.remove(state["cid"])

        def full() -> None:
            cid = rt.containers.create(spec)
            rt.containers.start(cid)
            rt.containers.wait(cid)
            rt.containers.remove(cid)

        rt_fs = Runtime(paths, fork_server=True)
        fs_state: dict = {}

        def fs_prep() -> None:
            fs_state["cid"] = rt_fs.containers.create(spec)

        def fs_start() -> None:
            rt_fs.containers.start(fs_state["cid"])

        def fs_finish() -> None:
            rt_fs.containers.wait(fs_state["cid"])
            rt_fs.containers.remove(fs_state["cid"])

        inproc = [Candidate("Runtime.start(): spawn shim .. exec observed", start_only,
                            setup=prep, teardown=finish),
                  Candidate("Runtime(fork_server=True).start()", fs_start, setup=fs_prep,
                            teardown=fs_finish),
                  Candidate("Runtime create+start+wait+remove", full)]
        if crun_ok:
            inproc.append(Candidate("crun run (OCI bundle, same rootfs)", crun_run))
        measure(inproc, rounds=a.rounds, warmup=a.warmup)
        rt_fs.close()
        results["in_process"] = report("in one process (API)", inproc,
                                       baseline="crun run (OCI bundle, same rootfs)"
                                       if crun_ok else None)

        # 3. supervision memory -----------------------------------------------------
        mem = [supervision_memory(rt, rootfs, 1), supervision_memory(rt, rootfs, a.memory_n)]
        print("\n## supervision memory (keeper + monitor per running container)")
        for m in mem:
            print(f"{m['containers']:>3} containers: PSS {m['pss_kib_per_container'] / 1024:.2f} "
                  f"MiB, USS {m['uss_kib_per_container'] / 1024:.2f} MiB, RSS "
                  f"{m['rss_kib_per_container'] / 1024:.2f} MiB per container")
        results["supervision_memory"] = mem
        print(f"\nsaved {save('container_start', results)}")
    finally:
        _restore(mounted)
        if crun_bundle := scratch / "crun":
            subprocess.run(["rm", "-rf", str(crun_bundle)])
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
