"""The container runtime's entry points into the network layer.

``on_start`` runs in ``runtime.container.start`` for a ``bridge`` container, after its
netns handle exists and before PID 1 does ("netns first"): it connects the spec's
network attachments (idempotent, so a restart reuses the endpoints), publishes its
ports, and writes what depends on the addresses: ``resolv.conf`` (our DNS server),
``hosts`` (own address + ``host-gateway``) and ``network.json`` (``NetworkSettings``
for ``inspect``).  Everything is undone if any step fails.  ``on_stop`` (after an
explicit stop) takes the container's names out of DNS; ``rm`` calls
``Networks.cleanup_container``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.fsutil import atomic_write_bytes, atomic_write_json
from runtime.paths import StatePaths
from runtime.spec import ContainerSpec


def on_start(paths: StatePaths, cid: str, name: str, spec: ContainerSpec, netns_path: str,
             cdir: Path) -> dict[str, Any] | None:
    """Wire a bridge-mode container; returns its ``NetworkSettings`` (None when the
    spec names no network: the container keeps a netns with only ``lo``)."""
    attachments = spec.network.attachments
    if not attachments:
        return None
    from runtime.network.api import Networks
    from runtime.network.ports import parse_expose, publish_all

    nets = Networks(paths)
    try:
        try:
            hostname = spec.hostname or cid[:12]
            eps = [nets.connect(a.network, cid, netns_path, name=name, hostname=hostname,
                                aliases=a.aliases, ipv4_address=a.ipv4_address,
                                ipv6_address=a.ipv6_address,
                                mac=a.mac_address, priority=a.priority)
                   for a in attachments]
            ports = list(spec.ports)
            if spec.publish_all:
                have = {(p.target, p.protocol) for p in ports}
                ports += [p for p in publish_all(parse_expose(
                    [f"{p}/{proto}" for p, proto in spec.expose]))
                    if (p.target, p.protocol) not in have]
            nets.set_active(cid, True)  # back in DNS after a stop/start
            if ports and not nets.port(cid):
                nets.publish(cid, ports, network=eps[0].network_id)
            settings = _settings(nets, cid, netns_path)
            _write_etc(nets, cid, spec, cdir, hostname)
            atomic_write_json(cdir / "network.json", settings)
            return settings
        except BaseException:
            nets.cleanup_container(cid)
            raise
    finally:
        nets.close()


def on_stop(paths: StatePaths, cid: str) -> None:
    """After an explicit stop: the container's names leave DNS (endpoints stay)."""
    if not paths.networks.is_dir():
        return
    from runtime.network.api import Networks

    nets = Networks(paths)
    try:
        nets.set_active(cid, False)
    finally:
        nets.close()


def _write_etc(nets: Any, cid: str, spec: ContainerSpec, cdir: Path, hostname: str) -> None:
    atomic_write_bytes(cdir / "resolv.conf", nets.resolv_conf(
        cid, spec.dns, spec.dns_search, spec.dns_options).encode())
    hosts_file = cdir / "hosts"
    try:
        lines = hosts_file.read_text().splitlines()
    except FileNotFoundError:
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
    gw = nets.host_gateway(cid)
    out = []
    for line in lines:
        ip, _, rest = line.partition("\t")
        if ip == "host-gateway" and gw:
            line = f"{gw}\t{rest}"
        out.append(line)
    full = f"{hostname}.{spec.domainname}" if spec.domainname else ""
    for ep in nets.endpoints(cid):
        names = " ".join(x for x in (full, hostname) if x)
        out.append(f"{ep.ip}\t{names}")
        if ep.ip6:
            out.append(f"{ep.ip6}\t{names}")
    atomic_write_bytes(hosts_file, ("\n".join(out) + "\n").encode())


def _settings(nets: Any, cid: str, netns_path: str) -> dict[str, Any]:
    """Docker's ``NetworkSettings`` shape."""
    eps = nets.endpoints(cid)
    ports: dict[str, list[dict[str, str]]] = {}
    for b in nets.port(cid):
        if ":" in b.container_ip:
            continue  # the IPv6 twin of a binding: same host port
        ports.setdefault(f"{b.container_port}/{b.protocol}", []).append(
            {"HostIp": b.host_ip or "0.0.0.0", "HostPort": str(b.host_port)})
    networks = {
        ep.network: {"NetworkID": ep.network_id, "EndpointID": ep.host_ifname,
                     "IPAddress": ep.ip, "IPPrefixLen": ep.prefixlen,
                     "Gateway": ep.gateway or "", "MacAddress": ep.mac,
                     "GlobalIPv6Address": ep.ip6 or "",
                     "GlobalIPv6PrefixLen": ep.prefixlen6 or 0,
                     "IPv6Gateway": ep.gateway6 or "", "Aliases": list(ep.aliases),
                     "Interface": ep.ifname, "GwPriority": ep.priority}
        for ep in eps}
    first = eps[0] if eps else None
    return {"Networks": networks, "SandboxKey": netns_path, "Ports": ports,
            "IPAddress": first.ip if first else "",
            "Gateway": (first.gateway or "") if first else "",
            "MacAddress": first.mac if first else ""}
