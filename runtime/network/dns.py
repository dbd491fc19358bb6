"""Per-network DNS server (like podman's aardvark-dns), and containers' resolv.conf.

One server process per network that has containers, listening on the bridge gateway
address, port 53, in the host namespace (UDP and TCP; the sockets are bound by the
caller and inherited).  It answers from the network state files:

* names: container name, hostname, and aliases (compose adds the service name), with
  every current IP (all replicas of a scaled service); A, AAAA and PTR;
* scope: the querying container (found by its source address) sees the names of every
  network it is attached to, its own network first, as Docker's embedded DNS does;
* other names: forwarded to the upstream resolvers (network option ``dns_upstreams``,
  else the host's ``/etc/resolv.conf``; a ``127.0.0.x`` resolver works because the
  server runs in the host namespace); single-label names that are not ours get
  NXDOMAIN without leaving the host.

It follows containers as they connect and disconnect: the network layer rewrites the
state file and sends SIGHUP (the server touches ``ready`` once its handler is in place,
and only then is it signalled, so no update is ever lost).

Run as ``python -m runtime.network.dns NETWORKS_DIR NET_ID READY_FILE UDP_FD TCP_FD``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import sys
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from runtime.network.resolvconf import host_nameservers, host_search, resolv_conf

__all__ = ["Records", "Server", "host_nameservers", "host_search", "resolv_conf",
           "serve", "split_upstream"]

TTL = 0  # answers track containers coming and going; resolvers must not cache them


class Records:
    """Name tables built from the network state files."""

    def __init__(self, networks_dir: Path, net_id: str) -> None:
        self.net_id = net_id
        self.nets: dict[str, dict[str, Any]] = {}
        for p in networks_dir.glob("*.json"):
            if p.name == "host.json":
                continue
            with contextlib.suppress(OSError, ValueError):
                d = json.loads(p.read_text())
                self.nets[d["id"]] = d
        own = self.nets.get(net_id, {})
        gateways = {s.get("gateway") for s in own.get("subnets", [])}
        # internal networks resolve their own names only: nothing leaves the host
        self.upstreams = [] if own.get("internal") else [
            u for u in (own.get("options", {}).get("dns_upstreams") or host_nameservers())
            if split_upstream(u)[0] not in gateways]

    def scope(self, client: str) -> list[dict[str, Any]]:
        own = self.nets.get(self.net_id)
        if own is None:
            return []
        cid = next((c for c, ep in own.get("endpoints", {}).items()
                    if client in (ep.get("ip"), ep.get("ip6"))), None)
        out = [own]
        if cid is not None:
            out += [n for i, n in sorted(self.nets.items())
                    if i != self.net_id and cid in n.get("endpoints", {})]
        return out

    def lookup(self, client: str, name: str) -> tuple[list[str], list[str]] | None:
        """(IPv4s, IPv6s) for ``name`` in the first network of the client's scope
        that knows it, or None."""
        for net in self.scope(client):
            v4: list[str] = []
            v6: list[str] = []
            for ep in net.get("endpoints", {}).values():
                if ep.get("active", True) is False:
                    continue  # a stopped container: no longer resolvable
                if name in (n.lower() for n in ep.get("names", [])):
                    if ep.get("ip"):
                        v4.append(ep["ip"])
                    if ep.get("ip6"):
                        v6.append(ep["ip6"])
            if v4 or v6:
                return v4, v6
        return None

    def reverse(self, client: str, addr: str) -> str | None:
        for net in self.scope(client):
            for ep in net.get("endpoints", {}).values():
                if addr in (ep.get("ip"), ep.get("ip6")) and ep.get("names") and \
                        ep.get("active", True) is not False:
                    return ep["names"][0]
        return None


def split_upstream(up: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT`` or ``[IPv6]:PORT`` -> (ip, port)."""
    if up.startswith("["):
        host, _, port = up[1:].partition("]:")
        return host, int(port or 53)
    if up.count(":") == 1:
        host, _, port = up.partition(":")
        return host, int(port)
    return up, 53


def _ptr_to_ip(name: str) -> str | None:
    try:
        if name.endswith(".in-addr.arpa"):
            return str(ip_address(".".join(reversed(name[:-13].split(".")))))
        if name.endswith(".ip6.arpa"):
            nibbles = "".join(reversed(name[:-9].split(".")))
            return str(ip_address(":".join(nibbles[i:i + 4] for i in range(0, 32, 4))))
    except ValueError:
        return None
    return None


def state_signature(networks_dir: Path) -> tuple[tuple[str, int, int, int], ...]:
    """Identity of every state file (name, inode, mtime, size): state files are replaced
    by rename, so any change gives a new inode."""
    out = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(networks_dir):
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                with contextlib.suppress(OSError):
                    st = entry.stat()
                    out.append((entry.name, st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(sorted(out))


class Server:
    """Answers from :class:`Records`, rebuilt on SIGHUP and, so that a query sent right
    after a container connected or left never sees the old names (the signal may be
    handled after an already queued query), whenever the state files changed."""

    def __init__(self, networks_dir: Path, net_id: str) -> None:
        self.networks_dir = networks_dir
        self.net_id = net_id
        self.signature: tuple[tuple[str, int, int, int], ...] = ()
        self.records = Records(networks_dir, net_id)

    def reload(self) -> None:
        self.signature = state_signature(self.networks_dir)
        self.records = Records(self.networks_dir, self.net_id)

    def refresh(self) -> None:
        if state_signature(self.networks_dir) != self.signature:
            self.reload()

    def answer(self, data: bytes, client: str) -> bytes | None:
        """A reply for a local name, or None when the query must be forwarded."""
        from dnslib import AAAA, PTR, QTYPE, RCODE, RR, A, DNSRecord

        try:
            req = DNSRecord.parse(data)
        except Exception:
            return b""  # unparsable: drop
        self.refresh()
        q = req.q
        name = str(q.qname).rstrip(".").lower()
        reply = req.reply()
        reply.header.ra = 1
        if q.qtype == QTYPE.PTR:
            ip = _ptr_to_ip(name)
            target = self.records.reverse(client, ip) if ip else None
            if target:
                reply.add_answer(RR(q.qname, QTYPE.PTR, rdata=PTR(target + "."), ttl=TTL))
                return reply.pack()
            return None
        found = self.records.lookup(client, name)
        if found is None:
            if "." not in name:
                reply.header.rcode = RCODE.NXDOMAIN
                return reply.pack()
            return None
        v4, v6 = found
        if q.qtype in (QTYPE.A, QTYPE.ANY):
            for ip in v4:
                reply.add_answer(RR(q.qname, QTYPE.A, rdata=A(ip), ttl=TTL))
        if q.qtype in (QTYPE.AAAA, QTYPE.ANY):
            for ip in v6:
                reply.add_answer(RR(q.qname, QTYPE.AAAA, rdata=AAAA(ip), ttl=TTL))
        return reply.pack()  # NOERROR, possibly no data (e.g. AAAA of a v4-only name)

    def forward(self, data: bytes) -> bytes:
        from dnslib import RCODE, DNSRecord

        for up in self.records.upstreams:
            host, port = split_upstream(up)
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            with socket.socket(fam, socket.SOCK_DGRAM) as s:
                s.settimeout(3)
                try:
                    s.sendto(data, (host, port))
                    reply, _ = s.recvfrom(65535)
                    return reply
                except OSError:
                    continue
        try:
            r = DNSRecord.parse(data).reply()
            r.header.rcode = RCODE.SERVFAIL
            return r.pack()
        except Exception:
            return b""

    async def handle(self, data: bytes, client: str) -> bytes:
        out = self.answer(data, client)
        if out is None:
            out = await asyncio.to_thread(self.forward, data)
        return out


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.pending: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        out = self.server.answer(data, addr[0])
        if out is not None:
            if out:
                self.transport.sendto(out, addr)  # type: ignore[attr-defined]
            return

        async def go() -> None:
            reply = await asyncio.to_thread(self.server.forward, data)
            if reply:
                self.transport.sendto(reply, addr)  # type: ignore[attr-defined]

        task = asyncio.ensure_future(go())
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)


async def _tcp_client(server: Server, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
    client = writer.get_extra_info("peername")[0]
    try:
        while True:
            head = await reader.readexactly(2)
            data = await reader.readexactly(struct.unpack("!H", head)[0])
            out = await server.handle(data, client)
            writer.write(struct.pack("!H", len(out)) + out)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(networks_dir: Path, net_id: str, ready: Path, udp_fd: int, tcp_fd: int
                ) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    server = Server(networks_dir, net_id)
    loop.add_signal_handler(signal.SIGHUP, server.reload)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    ready.touch()
    server.reload()  # after "ready": any later change is signalled
    udp = socket.socket(fileno=udp_fd)
    tcp = socket.socket(fileno=tcp_fd)
    transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(server), sock=udp)
    srv = await asyncio.start_server(lambda r, w: _tcp_client(server, r, w), sock=tcp)
    await stop.wait()
    transport.close()
    srv.close()


def main(argv: list[str]) -> None:
    networks_dir, net_id, ready, udp_fd, tcp_fd = argv
    asyncio.run(serve(Path(networks_dir), net_id, Path(ready), int(udp_fd), int(tcp_fd)))


if __name__ == "__main__":
    main(sys.argv[1:])
