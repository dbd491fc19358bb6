"""Loader benchmark: ``compose.loader.load_config`` on generated projects.

In process: a 200-service file through the fast reader and through ruamel (the
fallback), and a 200-service project split over a base file and an override with
extends (merge + extends work).  As whole processes: load of a 10-service file next to
``python -c pass`` measured in the same rounds.  (``bench/config_bench.py`` measures
load + validate + normalize and ``pycompose config -q``.)

    /work/venv/bin/python bench/loader_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Candidate, measure, report, save


def service(i: int) -> list[str]:
    return [f"  svc{i}:", f"    image: registry.example/app{i}:1.{i}",
            "    ports:", f'      - "{8000 + i}:80"', "      - 9000",
            "    environment:", "      FOO: bar", f"      N: '{i}'", "      URL: ${URL:-http://x}",
            "    depends_on:", f"      - svc{max(i - 1, 0)}",
            "    volumes:", "      - ./data:/data:ro", f"      - vol{i}:/var/lib/x",
            '    command: ["sh", "-c", "echo hi"]',
            "    healthcheck:", '      test: ["CMD", "true"]', "      interval: 10s",
            "    labels: [a=b, c=d]", "    restart: unless-stopped"]


def write_project(d: Path, n: int) -> tuple[Path, Path]:
    lines = ["services:"]
    for i in range(n):
        lines += service(i)
    lines.append("volumes:")
    lines += [f"  vol{i}: {{}}" for i in range(n)]
    base = d / "compose.yaml"
    base.write_text("\n".join(lines) + "\n")
    over = ["services:"]
    for i in range(n):
        over += [f"  svc{i}:", "    environment: [FOO=baz]", '    ports: ["7000:70"]']
    over += ["  extra:", "    extends: svc0", "    image: other"]
    override = d / "compose.override.yaml"
    override.write_text("\n".join(over) + "\n")
    return base, override


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    from bench.harness import command
    from compose.loader import LoadOptions, load_config
    from compose.loader.tree import to_plain
    from compose.loader.yamlread import read_yaml

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        big, over = write_project(d, 200)
        small_dir = d / "small"
        small_dir.mkdir()
        small, _ = write_project(small_dir, 10)
        text = big.read_text()
        env = {"URL": "http://y"}
        one = LoadOptions(files=(str(big),), environ=env)
        two = LoadOptions(files=(str(big), str(over)), environ=env)
        inproc = [
            Candidate("load_config 200 services", lambda: load_config(one)),
            Candidate("load_config 200 services + override", lambda: load_config(two)),
            Candidate("read 200 services, fast reader",
                      lambda: to_plain(read_yaml(text, "f")[0])),
            Candidate("read 200 services, ruamel", lambda: to_plain(
                read_yaml(text, "f", fast=False)[0])),
        ]
        measure(inproc, rounds=args.rounds)
        r1 = report("in process (target for load+validate+normalize: < 150 ms)", inproc,
                    baseline="read 200 services, ruamel")
        repo = str(Path(__file__).resolve().parent.parent)
        code = (f"import sys; sys.path.insert(0, {repo!r}); from compose.loader import "
                f"load_config, LoadOptions; load_config(LoadOptions(files=({str(small)!r},)))")
        procs = [Candidate("python -c pass", command([sys.executable, "-c", "pass"])),
                 Candidate("python: import + load_config 10 services",
                           command([sys.executable, "-c", code]))]
        measure(procs, rounds=args.rounds)
        r2 = report("whole process", procs, baseline="python -c pass")
        print(f"\nsaved {save('loader_bench', [r1, r2])}")


if __name__ == "__main__":
    main()
