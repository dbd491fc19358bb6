"""Host ports for publications: choose and check them by binding.

A port is free when a socket can be bound to it (``SO_REUSEADDR`` for TCP, so only a
listener conflicts) and no other pycompose container has it.  With kernel NAT the probe
socket is closed at once (the DNAT rule does the work); the userland proxy keeps it and
inherits it, so a busy port fails here, in the caller, before anything changed.
"""

from __future__ import annotations

import errno
import socket

from runtime.errors import ConflictError
from runtime.network.ports import Binding, PortSpec


def reserve(specs: list[PortSpec], ip: str, ip6: str | None,
            taken: dict[tuple[str, int], str], keep: bool
            ) -> tuple[list[Binding], list[socket.socket]]:
    """Bindings for ``specs`` to the container address ``ip`` (and its IPv6 twin for
    all-address publications).  ``taken``: (proto, host port) -> host IP of ours.
    All-or-nothing: raises ConflictError naming the first unavailable port."""
    out: list[Binding] = []
    held: list[socket.socket] = []
    try:
        for spec in specs:
            port, sock = pick_port(spec, taken)
            if keep:
                held.append(sock)
            else:
                sock.close()
            taken[(spec.protocol, port)] = spec.host_ip
            out.append(Binding(spec.protocol, spec.host_ip, port, ip, spec.target))
            if ip6 and not spec.host_ip:
                out.append(Binding(spec.protocol, "", port, ip6, spec.target))
    except BaseException:
        for s in held:
            s.close()
        raise
    return out, held


def pick_port(spec: PortSpec, taken: dict[tuple[str, int], str]
              ) -> tuple[int, socket.socket]:
    """The first usable host port for ``spec`` and the socket that proved it."""

    def ours(port: int) -> bool:
        ip = taken.get((spec.protocol, port))
        return ip is not None and (not ip or not spec.host_ip or ip == spec.host_ip)

    candidates: range | list[int]
    if spec.random:
        candidates = [0] * 32
    else:
        assert spec.host_port_min is not None and spec.host_port_max is not None
        candidates = range(spec.host_port_min, spec.host_port_max + 1)
    last_err: OSError | None = None
    for port in candidates:
        if port and ours(port):
            last_err = OSError(errno.EADDRINUSE, "in use by another pycompose container")
            continue
        try:
            sock = bind(spec.protocol, spec.host_ip, port)
        except OSError as exc:
            last_err = exc
            continue
        real = sock.getsockname()[1]
        if not port and ours(real):
            sock.close()
            continue
        return real, sock
    ip = spec.host_ip or "0.0.0.0"
    if spec.random:
        where = f"{ip}:<any>"
    elif spec.host_port_min == spec.host_port_max:
        where = f"{ip}:{spec.host_port_min}"
    else:
        where = f"{ip}:{spec.host_port_min}-{spec.host_port_max}"
    why = last_err.strerror if last_err and last_err.strerror else "in use"
    raise ConflictError(f"cannot publish port {spec.target}/{spec.protocol}: host port "
                        f"{where}/{spec.protocol} is not available ({why})",
                        hint="stop whatever uses it, or choose another host port")


def bind(protocol: str, host_ip: str, port: int) -> socket.socket:
    """A socket bound (and for TCP listening) on ``host_ip:port`` ("" = all addresses)."""
    fam = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    s = socket.socket(fam, kind, socket.IPPROTO_SCTP if protocol == "sctp" else 0)
    try:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host_ip or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), port))
        if kind == socket.SOCK_STREAM:
            s.listen(128)
    except OSError:
        s.close()
        raise
    return s

