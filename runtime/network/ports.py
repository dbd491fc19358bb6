"""Published-port syntax (compose short/long form, ``docker run -p``) and ``expose``.

Short form: ``[HOST_IP:][HOST[-RANGE]:]CONTAINER[-RANGE][/PROTO]``; an IPv6 host IP is
written in brackets (``[::1]:8080:80``).  A bare container port, or an empty host part
(``127.0.0.1::80``), publishes to a random host port.  Ranges expand to one mapping per
port (``80-82:8080-8082`` is three); a host range with a single container port means
"the first free port of that range" (as Docker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.errors import InvalidInputError
from runtime.spec import PortSpec

__all__ = ["Binding", "PortSpec", "parse", "parse_expose", "parse_long", "parse_short",
           "publish_all"]

PROTOCOLS = ("tcp", "udp", "sctp")


class BadPort(InvalidInputError):
    pass


def _port(text: str, what: str, spec: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise BadPort(f"invalid {what} {text!r} in port spec {spec!r}",
                      hint="ports are numbers 1-65535, e.g. \"8080:80/tcp\"") from None
    if not 0 < n < 65536:
        raise BadPort(f"{what} {n} out of range 1-65535 in {spec!r}")
    return n


def _range(text: str, what: str, spec: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    a = _port(lo, what, spec)
    b = _port(hi, what, spec) if sep else a
    if b < a:
        raise BadPort(f"invalid {what} range {text!r} in {spec!r}")
    return a, b


def _split_proto(spec: str) -> tuple[str, str]:
    body, sep, proto = spec.rpartition("/")
    if not sep:
        return spec, "tcp"
    proto = proto.lower()
    if proto not in PROTOCOLS:
        raise BadPort(f"invalid protocol {proto!r} in port spec {spec!r}",
                      hint="use tcp, udp or sctp")
    return body, proto


def _split_host_ip(body: str, spec: str) -> tuple[str, str]:
    if body.startswith("["):
        end = body.find("]")
        if end < 0 or body[end + 1:end + 2] != ":":
            raise BadPort(f"invalid IPv6 host address in {spec!r}")
        return body[1:end], body[end + 2:]
    parts = body.split(":")
    if len(parts) == 3:
        return parts[0], f"{parts[1]}:{parts[2]}"
    if len(parts) > 3:
        raise BadPort(f"too many ':' in port spec {spec!r}",
                      hint="bracket IPv6 host addresses: [::1]:8080:80")
    return "", body


def _validate_ip(ip: str, spec: str) -> str:
    if not ip:
        return ""
    from ipaddress import ip_address

    try:
        return str(ip_address(ip))
    except ValueError:
        raise BadPort(f"invalid host IP {ip!r} in port spec {spec!r}") from None


def _expand(spec: str, host_ip: str, host: str, cont: str, proto: str) -> list[PortSpec]:
    c_lo, c_hi = _range(cont, "container port", spec)
    if not host:
        return [PortSpec(p, proto, host_ip) for p in range(c_lo, c_hi + 1)]
    h_lo, h_hi = _range(host, "host port", spec)
    if c_lo == c_hi:
        return [PortSpec(c_lo, proto, host_ip, h_lo, h_hi)]
    if h_hi - h_lo != c_hi - c_lo:
        raise BadPort(f"port ranges of different sizes in {spec!r}",
                      hint="host and container ranges need the same length")
    return [PortSpec(c, proto, host_ip, h_lo + i, h_lo + i)
            for i, c in enumerate(range(c_lo, c_hi + 1))]


def parse_short(spec: str | int) -> list[PortSpec]:
    text = str(spec).strip()
    if not text:
        raise BadPort("empty port spec")
    body, proto = _split_proto(text)
    ip, rest = _split_host_ip(body, text)
    host, sep, cont = rest.rpartition(":")
    if not sep:
        host, cont = "", rest
    return _expand(text, _validate_ip(ip, text), host, cont, proto)


def parse_long(entry: dict[str, Any]) -> list[PortSpec]:
    if "target" not in entry:
        raise BadPort(f"port entry {entry!r} has no 'target'")
    spec = repr(entry)
    proto = str(entry.get("protocol") or "tcp").lower()
    if proto not in PROTOCOLS:
        raise BadPort(f"invalid protocol {proto!r} in {spec}")
    published = entry.get("published")
    host = "" if published in (None, "") else str(published)
    return _expand(spec, _validate_ip(str(entry.get("host_ip") or ""), spec), host,
                   str(entry["target"]), proto)


def parse(entries: list[str | int | dict[str, Any]]) -> list[PortSpec]:
    out: list[PortSpec] = []
    for e in entries:
        out.extend(parse_long(e) if isinstance(e, dict) else parse_short(e))
    return out


def parse_expose(entries: list[str | int]) -> list[tuple[int, str]]:
    """``expose``/image ``ExposedPorts``: ``"80"``, ``"80/udp"``, ``"8000-8002"``."""
    out = []
    for e in entries:
        body, proto = _split_proto(str(e).strip())
        lo, hi = _range(body, "exposed port", str(e))
        out.extend((p, proto) for p in range(lo, hi + 1))
    return out


def publish_all(exposed: list[tuple[int, str]]) -> list[PortSpec]:
    """``-P``: every exposed port to a random host port."""
    return [PortSpec(p, proto) for p, proto in exposed]


@dataclass(frozen=True, slots=True)
class Binding:
    """A publication in force: host ``host_ip:host_port`` -> container address."""

    protocol: str
    host_ip: str                # "" = every host address (incl. 127.0.0.1)
    host_port: int
    container_ip: str
    container_port: int

    def to_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "host_ip": self.host_ip,
                "host_port": self.host_port, "container_ip": self.container_ip,
                "container_port": self.container_port}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Binding:
        return cls(d["protocol"], d["host_ip"], int(d["host_port"]), d["container_ip"],
                   int(d["container_port"]))

    def display(self) -> str:
        """``docker port`` style: ``80/tcp -> 0.0.0.0:32768``."""
        ip = self.host_ip or "0.0.0.0"
        host = f"[{ip}]" if ":" in ip else ip
        return f"{self.container_port}/{self.protocol} -> {host}:{self.host_port}"
