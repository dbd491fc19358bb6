"""IP address management: subnets for networks, addresses for endpoints.

Default pools (as Docker's ``default-address-pools``): ``172.17.0.0/16`` ...
``172.31.0.0/16`` as /16 networks, then ``192.168.0.0/16`` cut into /20 networks.  They
can be replaced with ``$PYCOMPOSE_NETWORK_POOLS="BASE/LEN:SIZE,..."`` (for example
``10.200.0.0/16:24``).  A subnet is never handed out when it overlaps a host route, a
host address or another pycompose network.

IPv6 (``enable_ipv6`` without an explicit subnet): a ULA ``/64`` derived from the
network id (``fdXX:XXXX:XXXX:XXXX::/64``, RFC 4193 style), again checked for overlap.

Addresses inside a subnet are handed out round-robin from ``ip_range`` (or the whole
subnet), skipping the network, broadcast and gateway addresses and current leases, so a
released address is not reused immediately (stale DNS caches then miss, not mislead).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from ipaddress import (
    IPv4Network,
    IPv6Network,
    ip_address,
    ip_network,
)

from runtime.errors import ConflictError, InvalidInputError, RuntimeFailure

Network = IPv4Network | IPv6Network

DEFAULT_POOLS: tuple[tuple[str, int], ...] = (
    ("172.17.0.0/16", 16), ("172.18.0.0/16", 16), ("172.19.0.0/16", 16),
    ("172.20.0.0/14", 16), ("172.24.0.0/14", 16), ("172.28.0.0/14", 16),
    ("192.168.0.0/16", 20),
)


class BadAddress(InvalidInputError):
    pass


def pools_from_env(env: str | None = None) -> tuple[tuple[str, int], ...]:
    raw = os.environ.get("PYCOMPOSE_NETWORK_POOLS", "") if env is None else env
    if not raw.strip():
        return DEFAULT_POOLS
    out = []
    for item in raw.split(","):
        base, _, size = item.strip().partition(":")
        try:
            net = ip_network(base, strict=True)
            size_i = int(size) if size else net.prefixlen
        except ValueError as exc:
            raise BadAddress(f"bad address pool {item!r} in PYCOMPOSE_NETWORK_POOLS",
                             hint="use BASE/LEN:SIZE, e.g. 10.200.0.0/16:24") from exc
        if size_i < net.prefixlen or size_i > 30:
            raise BadAddress(f"bad pool size {size_i} for {net}")
        out.append((str(net), size_i))
    return tuple(out)


def parse_subnet(text: str) -> Network:
    try:
        return ip_network(text, strict=True)
    except ValueError as exc:
        raise BadAddress(f"invalid subnet {text!r}: {exc}",
                         hint="write it as ADDRESS/PREFIX with host bits zero, "
                              "e.g. 172.30.0.0/16") from exc


def _overlaps(net: Network, others: Iterable[Network]) -> Network | None:
    for o in others:
        if o.version == net.version and net.overlaps(o):
            return o
    return None


def _parse_used(used: Iterable[str]) -> list[Network]:
    out: list[Network] = []
    for u in used:
        try:
            n = ip_network(u, strict=False)
        except ValueError:
            continue
        if n.prefixlen == 0 or n.is_loopback or n.is_link_local:
            continue  # the default route and lo/link-local never conflict with a bridge
        out.append(n)
    return out


def allocate_subnet(used: Iterable[str], pools: tuple[tuple[str, int], ...]) -> IPv4Network:
    """First pool subnet overlapping nothing in ``used`` (host routes/addresses and our
    networks, as CIDR strings)."""
    taken = _parse_used(used)
    for base, size in pools:
        for cand in ip_network(base).subnets(new_prefix=size):
            if _overlaps(cand, taken) is None:
                return cand  # type: ignore[return-value]
    raise RuntimeFailure("no free subnet left in the address pools",
                         hint="remove unused networks (pycompose network prune) or pass "
                              "--subnet; pools: $PYCOMPOSE_NETWORK_POOLS")


def allocate_subnet6(network_id: str, used: Iterable[str]) -> IPv6Network:
    taken = _parse_used(used)
    for salt in range(64):
        h = hashlib.sha256(f"{network_id}:{salt}".encode()).digest()
        cand = IPv6Network((b"\xfd" + h[:7] + bytes(8), 64))
        if _overlaps(cand, taken) is None:
            return cand
    raise RuntimeFailure("cannot find a free IPv6 subnet", hint="pass an IPv6 --subnet")


def check_subnet(net: Network, used: Iterable[str], ours: Iterable[str]) -> None:
    """An explicit subnet must not overlap another network of ours or a host route."""
    clash = _overlaps(net, _parse_used(ours))
    if clash is not None:
        raise ConflictError(f"subnet {net} overlaps the subnet {clash} of another network",
                            hint="choose another --subnet")
    clash = _overlaps(net, _parse_used(used))
    if clash is not None:
        raise ConflictError(f"subnet {net} overlaps the host route/address {clash}",
                            hint="choose another --subnet")


def default_gateway(net: Network) -> str:
    return str(next(net.hosts()) if net.num_addresses > 2 else net.network_address + 1)


def check_in_subnet(addr: str, net: Network, what: str) -> str:
    try:
        ip = ip_address(addr)
    except ValueError as exc:
        raise BadAddress(f"invalid {what} {addr!r}") from exc
    if ip.version != net.version or ip not in net:
        raise BadAddress(f"{what} {addr} is not in subnet {net}")
    if ip == net.network_address or (net.version == 4 and ip == net.broadcast_address
                                      and net.prefixlen < 31):
        raise BadAddress(f"{what} {addr} is the network or broadcast address of {net}")
    return str(ip)


def allocate_ip(subnet: Network, ip_range: Network | None, gateway: str,
                leased: Iterable[str], last: str | None = None) -> str:
    """Next free address after ``last`` (wrapping), inside ``ip_range`` if given."""
    pool = ip_range or subnet
    skip = {ip_address(x) for x in leased} | {ip_address(gateway), subnet.network_address}
    if subnet.version == 4:
        skip.add(subnet.broadcast_address)
    first = int(pool.network_address) + (0 if pool != subnet or pool.prefixlen >= 31 else 1)
    end = int(pool.broadcast_address)
    size = end - first + 1
    if size > 1 << 20:
        size = 1 << 20  # IPv6 /64: never scan more than a million candidates
    start = 0
    if last is not None and pool.version == ip_address(last).version:
        start = (int(ip_address(last)) - first + 1) % size
    for i in range(size):
        cand = ip_address(first + (start + i) % size)
        if cand not in skip and cand in subnet:
            return str(cand)
    raise ConflictError(f"no free address left in {pool}",
                        hint="use a larger subnet or ip_range")


def mac_for_ip(ip: str) -> str:
    """Docker's deterministic MAC: 02:42 followed by the four IPv4 bytes."""
    b = ip_address(ip).packed
    return "02:42:" + ":".join(f"{x:02x}" for x in b[-4:])
