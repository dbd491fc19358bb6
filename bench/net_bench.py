"""Network benchmarks: published port vs direct, and endpoint attach time.

* throughput: a host client streams data to a sink in a container namespace, straight
  to the container IP vs through ``127.0.0.1:<published port>`` (kernel NAT), and
  through the userland proxy backend (a second state root with ``PYCOMPOSE_NAT=proxy``).
* connect latency: TCP connect + 1-byte echo round trip, same three paths.
* attach: ``Networks.connect`` for 1 and for 20 containers (netns handles made before,
  not timed), per endpoint; anchor: podman's netavark spends ~50 ms per attach here
  (bench notes in perf-anchors.md).  Targets: NAT >= 90% of direct, proxy >= 50%,
  attach < 10 ms.

Run as root: ``/work/venv/bin/python bench/net_bench.py [--mb 300] [--rounds 15]``.
All traffic stays on this host (loopback and namespaces made here).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Candidate, measure, report, save
from runtime.network import netns
from runtime.network.api import Networks
from runtime.network.ports import parse_short
from runtime.paths import StatePaths

SERVER = textwrap.dedent("""
    import socket, sys, threading
    def sink(c):
        buf = bytearray(1 << 20); n = 0
        while True:
            k = c.recv_into(buf)
            if not k: break
            n += k
        c.sendall(str(n).encode()); c.close()
    def echo(c):
        while (d := c.recv(64)):
            c.sendall(d)
        c.close()
    def serve(port, fn):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port)); s.listen(64)
        while True:
            c, _ = s.accept()
            threading.Thread(target=fn, args=(c,), daemon=True).start()
    threading.Thread(target=serve, args=(5001, sink), daemon=True).start()
    threading.Thread(target=serve, args=(5002, echo), daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
""")


def stream(host: str, port: int, mb: int) -> float:
    """Seconds to push ``mb`` MiB and get the sink's byte count back."""
    chunk = b"\0" * (1 << 20)
    t0 = time.perf_counter()
    with socket.create_connection((host, port)) as s:
        for _ in range(mb):
            s.sendall(chunk)
        s.shutdown(socket.SHUT_WR)
        got = int(s.recv(64))
    dt = time.perf_counter() - t0
    assert got == mb << 20, got
    return dt


def iperf3(host: str, port: int, seconds: int) -> float:
    """Received MiB/s of an iperf3 TCP test (client on the host)."""
    import json

    out = subprocess.run(["iperf3", "-c", host, "-p", str(port), "-t", str(seconds), "-J"],
                         capture_output=True, text=True, timeout=seconds + 30)
    data = json.loads(out.stdout)
    if "error" in data:
        raise RuntimeError(data["error"])
    return data["end"]["sum_received"]["bits_per_second"] / 8 / (1 << 20)


def echo_once(host: str, port: int) -> None:
    with socket.create_connection((host, port)) as s:
        s.sendall(b"x")
        assert s.recv(1) == b"x"


class Stack:
    """One state root with a network, a server container and published ports."""

    def __init__(self, tmp: Path, name: str) -> None:
        self.paths = StatePaths.resolve(tmp / name / "root", tmp / name / "run")
        self.nets = Networks(self.paths)
        self.nets.create(f"bench-{name}")
        self.handle = netns.handle_path(self.paths.run_dir, "server")
        netns.create(self.handle)
        self.ep = self.nets.connect(f"bench-{name}", "server", str(self.handle))
        self.proc = subprocess.Popen(
            ["nsenter", f"--net={self.handle}", sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout and self.proc.stdout.readline().strip() == "ready"
        self.iperf = None
        ports = parse_short("5001") + parse_short("5002")
        if shutil.which("iperf3"):
            self.iperf = subprocess.Popen(["nsenter", f"--net={self.handle}", "iperf3", "-s",
                                           "-p", "5201"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
            ports += parse_short("5201")
        b = self.nets.publish("server", ports)
        self.sink_port, self.echo_port = b[0].host_port, b[1].host_port
        self.iperf_port = b[2].host_port if self.iperf else None

    def close(self) -> None:
        for p in (self.proc, self.iperf):
            if p is not None:
                p.kill()
                p.wait()
        self.nets.cleanup_container("server")
        netns.delete(self.handle)
        for n in self.nets.list():
            self.nets.remove(n["Id"], force=True)
        self.nets.close()


def _tput_table(samples: dict[str, list[float]]) -> dict:
    out = {}
    base = None
    for name, vals in samples.items():
        med = sorted(vals)[len(vals) // 2]
        base = base or med
        out[name] = {"median": med, "best": max(vals), "ratio_vs_direct": med / base}
        print(f"{name:<44} {med:9.0f} MiB/s (median)  {max(vals):9.0f} MiB/s (best)  "
              f"{med / base:6.1%} of direct (median)")
    return out


def attach_bench(tmp: Path, n: int, rounds: int) -> dict:
    paths = StatePaths.resolve(tmp / f"attach{n}" / "root", tmp / f"attach{n}" / "run")
    nets = Networks(paths)
    nets.create("attach")
    handles = [netns.handle_path(paths.run_dir, f"c{i}") for i in range(n)]
    per_ep: list[float] = []
    totals: list[float] = []
    first: list[float] = []
    try:
        for _ in range(rounds):
            for h in handles:
                netns.create(h)
            t0 = time.perf_counter()
            for i, h in enumerate(handles):
                t = time.perf_counter()
                nets.connect("attach", f"c{i}", str(h), name=f"c{i}", aliases=["svc"])
                (first if i == 0 else per_ep).append(time.perf_counter() - t)
            totals.append(time.perf_counter() - t0)
            for i, h in enumerate(handles):
                nets.cleanup_container(f"c{i}")
                netns.delete(h)
    finally:
        for i, h in enumerate(handles):
            nets.cleanup_container(f"c{i}")
            netns.delete(h)
        nets.remove("attach", force=True)
        nets.close()
    med = sorted(per_ep)[len(per_ep) // 2] if per_ep else None
    best = min(per_ep) if per_ep else None
    return {"n": n, "total_min_ms": min(totals) * 1e3,
            "total_median_ms": sorted(totals)[len(totals) // 2] * 1e3,
            "first_endpoint_median_ms": sorted(first)[len(first) // 2] * 1e3,
            "other_endpoints_median_ms": med * 1e3 if med else None,
            "other_endpoints_min_ms": best * 1e3 if best else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=300, help="MiB per throughput sample")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--seconds", type=int, default=2, help="iperf3 test length")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("net_bench needs root (bridges, namespaces)")
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="pc-netbench-") as tmpdir:
        tmp = Path(tmpdir)
        nat_stack = Stack(tmp, "nat")
        os.environ["PYCOMPOSE_NAT"] = "proxy"
        try:
            proxy_stack = Stack(tmp, "proxy")
        finally:
            del os.environ["PYCOMPOSE_NAT"]
        try:
            backend = nat_stack.nets._backend()
            print(f"kernel NAT backend: {backend}; fallback stack: "
                  f"{proxy_stack.nets._backend()}")
            paths = {
                "direct (container IP)": (nat_stack.ep.ip, 5001, 5002),
                f"published 127.0.0.1 ({backend} DNAT)": ("127.0.0.1", nat_stack.sink_port,
                                                         nat_stack.echo_port),
                "published 127.0.0.1 (userland proxy)": ("127.0.0.1", proxy_stack.sink_port,
                                                         proxy_stack.echo_port),
            }
            tput = [Candidate(name, lambda h=h, p=p: stream(h, p, args.mb))
                    for name, (h, p, _) in paths.items()]
            measure(tput, rounds=max(3, args.rounds // 3), warmup=1)
            print(f"\n## throughput, Python client, {args.mb} MiB per sample "
                  "(client-bound; higher is better)")
            results["throughput_python_mib_s"] = _tput_table(
                {c.name: [args.mb / s for s in c.samples] for c in tput})
            if shutil.which("iperf3"):
                ip_paths = {
                    "direct (container IP)": (nat_stack.ep.ip, 5201),
                    f"published 127.0.0.1 ({backend} DNAT)": ("127.0.0.1",
                                                             nat_stack.iperf_port),
                    "published 127.0.0.1 (userland proxy)": ("127.0.0.1",
                                                             proxy_stack.iperf_port),
                }
                samples: dict[str, list[float]] = {k: [] for k in ip_paths}
                for _ in range(max(3, args.rounds // 3)):
                    for name, (h, p) in ip_paths.items():
                        samples[name].append(iperf3(h, p, args.seconds))
                print(f"\n## throughput, iperf3 -t {args.seconds} (higher is better)")
                results["throughput_iperf3_mib_s"] = _tput_table(samples)
            lat = [Candidate(name, lambda h=h, p=p: echo_once(h, p))
                   for name, (h, _, p) in paths.items()]
            measure(lat, rounds=args.rounds * 10, warmup=5)
            results["connect_latency"] = report("TCP connect + 1-byte echo", lat,
                                                baseline="direct (container IP)")
        finally:
            nat_stack.close()
            proxy_stack.close()
        results["attach"] = [attach_bench(tmp, n, max(3, args.rounds // 3)) for n in (1, 20)]
        print("\n## network connect (attach) time; anchor: netavark ~50 ms per attach")
        for r in results["attach"]:
            other = (f"each other endpoint {r['other_endpoints_median_ms']:.1f} ms median "
                     f"(min {r['other_endpoints_min_ms']:.1f})"
                     if r["other_endpoints_median_ms"] else "")
            print(f"{r['n']:>2} endpoint(s): total {r['total_median_ms']:.1f} ms median "
                  f"(min {r['total_min_ms']:.1f}); first {r['first_endpoint_median_ms']:.1f} ms"
                  f" (starts the DNS server); {other}")
    load = os.getloadavg()[0]
    results["loadavg_1min"] = load
    print(f"\nload average during the run: {load:.1f} on {os.cpu_count()} CPUs "
          "(attach times grow with rtnl/filesystem contention from other work)")
    print(f"saved {save('net_bench', results)}")


if __name__ == "__main__":
    main()
