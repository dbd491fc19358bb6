"""``exec`` latency and what healthchecks cost the supervision.

    /work/venv/bin/python bench/exec_bench.py [--rounds 20] [--memory-n 10]

1. ``exec <ctr> true``: the API (``Runtime.containers.exec``, spawns the lean setns
   helper) and the CLI (``pycompose container exec``), side by side with
   ``podman exec`` on a running ``localhost/bb`` container when podman and the anchors
   image are there (interleaved rounds, min and median, ratios);
2. host memory of the supervision (keeper + monitor PSS/USS) per running container,
   without a healthcheck and with one probing every 0.2 s (measured after probes ran:
   the probe forks are transient and never resident between probes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    Candidate,
    command,
    measure,
    pycompose_argv,
    pycompose_env,
    report,
    save,
)
from bench.run_bench import _bb_rootfs, _podman_ready, _smaps


def memory(rt, rootfs: Path, n: int, healthcheck) -> dict[str, float]:
    from runtime.spec import ContainerSpec, Process, RootFS

    ids = []
    try:
        for _ in range(n):
            cid = rt.containers.create(ContainerSpec(
                image=str(rootfs), image_id="", rootfs=RootFS((rootfs,)),
                process=Process(args=("sleep", "100000")), healthcheck=healthcheck))
            rt.containers.start(cid)
            ids.append(cid)
        time.sleep(1.5)      # several probes have run by now
        pss = uss = 0
        for cid in ids:
            st = rt.containers.get(cid).state
            for pid in (st["keeper_pid"], st["monitor_pid"]):
                m = _smaps(pid)
                pss += m["Pss"]
                uss += m["Private_Clean"] + m["Private_Dirty"]
        probes = len((rt.containers.inspect(ids[0])["State"].get("Health") or {})
                     .get("Log") or [])
        return {"containers": n, "pss_kib_per_container": pss / n,
                "uss_kib_per_container": uss / n, "probe_log_entries": probes}
    finally:
        for cid in ids:
            rt.containers.remove(cid, force=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--memory-n", type=int, default=10)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    from runtime.api import Runtime
    from runtime.paths import StatePaths
    from runtime.spec import ContainerSpec, Healthcheck, Process, RootFS

    scratch = Path(tempfile.mkdtemp(prefix="pycompose-execbench-"))
    results: dict = {}
    podman_ctr = None
    rt = None
    cid = None
    try:
        rootfs = _bb_rootfs(scratch)
        paths = StatePaths.resolve(scratch / "root", scratch / "run")
        env = pycompose_env(PYCOMPOSE_ROOT=str(paths.root), PYCOMPOSE_RUN_DIR=str(paths.run_dir))
        rt = Runtime(paths)
        cid = rt.containers.create(ContainerSpec(
            image=str(rootfs), image_id="", rootfs=RootFS((rootfs,)),
            process=Process(args=("sleep", "100000"))))
        rt.containers.start(cid)

        def api_exec() -> None:
            res = rt.containers.exec(cid, ["true"])
            assert res.exit_code == 0, res

        cands = [Candidate("Runtime.containers.exec(true)", api_exec),
                 Candidate("pycompose container exec true",
                           command(pycompose_argv("container", "exec", cid, "true"), env=env))]
        if _podman_ready():
            podman_ctr = subprocess.run(
                ["podman", "run", "-d", "--rm", "--network", "none", "localhost/bb", "sleep",
                 "100000"], capture_output=True, text=True, check=True).stdout.strip()
            cands.append(Candidate("podman exec true",
                                   command(["podman", "exec", podman_ctr, "true"])))
        else:
            print("# podman or localhost/bb missing: run the anchors setup.sh")
        measure(cands, rounds=a.rounds, warmup=a.warmup)
        results["exec"] = report("exec of `true` in a running container", cands,
                                 baseline="podman exec true" if podman_ctr else None)

        print("\n## supervision memory per running container (keeper + monitor)")
        plain = memory(rt, rootfs, a.memory_n, None)
        hc = memory(rt, rootfs, a.memory_n, Healthcheck(("CMD", "true"), interval=0.2))
        for name, m in (("no healthcheck", plain), ("healthcheck every 0.2s", hc)):
            print(f"{name:<26} PSS {m['pss_kib_per_container'] / 1024:5.2f} MiB   "
                  f"USS {m['uss_kib_per_container'] / 1024:5.2f} MiB   "
                  f"(n={m['containers']}, probes logged: {m['probe_log_entries']})")
        cost = (hc["pss_kib_per_container"] - plain["pss_kib_per_container"]) / 1024
        print(f"healthcheck cost: {cost:+.2f} MiB PSS per container")
        results["memory"] = {"plain": plain, "healthcheck": hc}
        print(f"\nsaved {save('exec_bench', results)}")
    finally:
        if podman_ctr:
            subprocess.run(["podman", "rm", "-f", "-t", "0", podman_ctr], capture_output=True)
        if rt is not None and cid is not None:
            rt.containers.remove(cid, force=True)
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
