"""Pull and layer-extraction benchmark against a local registry.

* Generates a ~200 MB (uncompressed) 4-layer image from files of this host (libraries,
  /usr/share, the Python stdlib: a realistic mix of sizes), pushes it with pycompose to
  Debian's ``docker-registry`` on 127.0.0.1 (started and stopped here, by PID).
* Pull: pycompose (API, fresh store each round: download + verify + unpack) vs
  ``skopeo copy docker://… dir:`` (download + verify only) and vs ``skopeo`` followed by
  ``tar -xzf`` of every layer (the same work as pycompose) when skopeo is installed.
* Extraction: every layer, pycompose's extractor vs GNU ``tar -x`` (gzip and plain).

    /work/venv/bin/python bench/pull_bench.py [--rounds N] [--tmpfs] [--mb 200]

Targets (issue): pull within 1.5x of skopeo; extraction within 1.3x of tar.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Candidate, command, have, measure, report, save
from runtime.images import ImageStore, parse_reference
from runtime.images.extract import extract_layer
from runtime.images.platform import host_platform
from runtime.images.pull import Puller
from runtime.images.push import push
from runtime.paths import StatePaths
from tests.registryfix import Registry

SOURCES = [  # (directory, share of the total)
    ("/usr/lib/x86_64-linux-gnu", 0.40),
    ("/usr/share", 0.30),
    (sys.base_prefix + "/lib/python3.11", 0.20),
    ("/usr/bin", 0.10),
]


def _cpu() -> float:
    import resource

    a = resource.getrusage(resource.RUSAGE_SELF)
    b = resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def pick_files(root: str, budget: int) -> list[str]:
    out, total = [], 0
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not (os.path.isfile(p) or os.path.islink(p)) or st.st_size > 8 << 20:
                continue
            out.append(p.lstrip("/"))
            total += st.st_size
            if total >= budget:
                return out
    return out


def make_layers(work: Path, total_mb: int) -> list[tuple[Path, Path]]:
    layers = []
    for i, (src, share) in enumerate(SOURCES):
        if not os.path.isdir(src):
            continue
        files = pick_files(src, int(total_mb * share * 1e6))
        lst = work / f"l{i}.list"
        lst.write_text("\n".join(files) + "\n")
        tar = work / f"l{i}.tar"
        subprocess.run(["tar", "--numeric-owner", "--no-recursion", "-C", "/", "-cf", str(tar),
                        "-T", str(lst)], check=True, stderr=subprocess.DEVNULL)
        gz = work / f"l{i}.tar.gz"
        with open(gz, "wb") as out:
            subprocess.run(["gzip", "-n", "-6", "-c", str(tar)], check=True, stdout=out)
        layers.append((tar, gz))
    return layers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--tmpfs", action="store_true", help="extract into /dev/shm (CPU only)")
    args = ap.parse_args()
    import signal

    # SIGTERM (timeout, Ctrl-C from a wrapper) must still run the cleanup below
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    if not have("docker-registry"):
        sys.exit("docker-registry is not installed (apt-get install docker-registry)")
    base = Path(tempfile.mkdtemp(prefix="pull-bench-", dir="/var/tmp"))
    out_base = Path(tempfile.mkdtemp(prefix="pull-bench-", dir="/dev/shm")) if args.tmpfs \
        else base
    reg = None
    results = {}
    try:
        print(f"generating a ~{args.mb} MB image from host files ...", flush=True)
        layers = make_layers(base, args.mb)
        tar_total = sum(t.stat().st_size for t, _ in layers)
        gz_total = sum(g.stat().st_size for _, g in layers)
        entries = sum(len((base / f"l{i}.list").read_text().splitlines())
                      for i in range(len(layers)))
        print(f"{len(layers)} layers, {tar_total / 1e6:.0f} MB tar, {gz_total / 1e6:.0f} MB gz,"
              f" {entries} entries")
        reg = Registry(base / "registry")
        seed = ImageStore(StatePaths.resolve(base / "seed", base / "seed-run"))
        infos = []
        parent = None
        for _, gz in layers:
            with open(gz, "rb") as f:
                info = seed.add_layer(f, parent)
            from runtime.images.digest import chain_ids

            infos.append(info)
            parent = chain_ids([i.diff_id for i in infos])[-1]
        p = host_platform()
        seed.create_image({"architecture": p.architecture, "os": "linux",
                           "config": {"Cmd": ["sh"]}}, infos, [parse_reference("bench:1")])
        ref = f"{reg.addr}/bench/big:1"
        push(seed, "bench:1", ref)

        dst_root = out_base / "dst"

        def clean_dst() -> None:
            shutil.rmtree(dst_root, ignore_errors=True)

        def py_pull() -> None:
            store = ImageStore(StatePaths.resolve(dst_root / "root", dst_root / "run"))
            Puller(store, max_concurrent=3).pull(ref)

        def py_fetch() -> None:
            """The same HTTP client and digest check, blobs only (what skopeo dir: does)."""
            import hashlib
            import json as _json

            from runtime.images.pull import Registries
            from runtime.images.reference import parse

            store = ImageStore(StatePaths.resolve(dst_root / "root", dst_root / "run"))
            client = Registries(store).clients(parse(ref))[0]
            m = _json.loads(client.get_manifest("1").data)
            dst_root.mkdir(parents=True, exist_ok=True)
            for desc in [m["config"], *m["layers"]]:
                resp, _ = client.open_blob(desc["digest"])
                h = hashlib.sha256()
                with open(dst_root / desc["digest"].split(":")[1], "wb") as out:
                    while chunk := resp.read(1 << 20):
                        h.update(chunk)
                        out.write(chunk)
                resp.close()
                assert "sha256:" + h.hexdigest() == desc["digest"]

        cands = [Candidate("pycompose pull (download+verify+unpack)", py_pull, clean_dst,
                           clean_dst),
                 Candidate("pycompose client, blobs only (download+verify)", py_fetch,
                           clean_dst, clean_dst)]
        if have("skopeo"):
            sk_dir = out_base / "skopeo"

            def clean_sk() -> None:
                shutil.rmtree(sk_dir, ignore_errors=True)

            sk = command(["skopeo", "copy", "-q", "--src-tls-verify=false",
                          f"docker://{ref}", f"dir:{sk_dir}"])
            cands.append(Candidate("skopeo copy -> dir: (download+verify)", sk, clean_sk,
                                   clean_sk))

            def sk_unpack() -> None:
                sk()
                import json

                m = json.loads((sk_dir / "manifest.json").read_text())
                for i, lay in enumerate(m["layers"]):
                    d = sk_dir / f"rootfs{i}"
                    d.mkdir()
                    subprocess.run(["tar", "--numeric-owner", "-xzf",
                                    str(sk_dir / lay["digest"].split(":")[1]), "-C", str(d)],
                                   check=True)
            cands.append(Candidate("skopeo copy + tar -xzf each layer", sk_unpack, clean_sk,
                                   clean_sk))
        else:
            print("skopeo not installed: pull compared with nothing"
                  " (apt-get install skopeo)")
        measure(cands, rounds=args.rounds, warmup=1)
        results["pull"] = report(f"pull of a {tar_total / 1e6:.0f} MB / {len(layers)}-layer"
                                 " image from 127.0.0.1", cands,
                                 baseline=cands[2].name if len(cands) > 2 else None, unit="s")

        ex_dir = out_base / "extract"

        def clean_ex() -> None:
            shutil.rmtree(ex_dir, ignore_errors=True)
            ex_dir.mkdir(parents=True)

        def ours(kind):
            def run() -> None:
                for i, (t, g) in enumerate(layers):
                    with open(g if kind == "gz" else t, "rb") as f:
                        extract_layer(f, ex_dir / f"L{i}")
            return run

        def gnu(kind):
            def run() -> None:
                for i, (t, g) in enumerate(layers):
                    d = ex_dir / f"T{i}"
                    d.mkdir()
                    subprocess.run(["tar", "--numeric-owner", "-xzf" if kind == "gz" else "-xf",
                                    str(g if kind == "gz" else t), "-C", str(d)], check=True)
            return run

        for kind in ("gz", "tar"):
            cands = [Candidate(f"GNU tar -x ({kind})", gnu(kind), clean_ex, clean_ex),
                     Candidate(f"pycompose extract ({kind}, verifies digests)", ours(kind),
                               clean_ex, clean_ex)]
            measure(cands, rounds=args.rounds, warmup=1)
            cpu = {}
            for c in cands:           # CPU seconds (user+sys, threads and children)
                c.setup()
                before = _cpu()
                c.run()
                cpu[c.name] = _cpu() - before
                c.teardown()
            results[f"extract_{kind}_cpu_s"] = cpu
            results[f"extract_{kind}"] = report(
                f"extraction of all layers ({kind}, {tar_total / 1e6:.0f} MB,"
                f" {entries} entries, {'tmpfs' if args.tmpfs else 'disk'})",
                cands, baseline=cands[0].name, unit="s")
            base_cpu = cpu[cands[0].name]
            for name, v in cpu.items():
                print(f"CPU time (user+sys) {name:<44} {v:6.2f}s  {v / base_cpu:5.2f}x")
        path = save("pull_bench" + ("_tmpfs" if args.tmpfs else ""), results)
        print(f"\nresults: {path}")
    finally:
        if reg is not None:
            reg.stop()
        shutil.rmtree(base, ignore_errors=True)
        if out_base != base:
            shutil.rmtree(out_base, ignore_errors=True)


if __name__ == "__main__":
    main()
