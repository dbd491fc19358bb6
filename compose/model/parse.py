"""Short-syntax parsers: one compose string in, long-form values out.

Pure functions; each raises ``ValueError`` with a message that names what is wrong, and
the model builder turns it into a located :class:`~compose.errors.ConfigIssue`.
"""

from __future__ import annotations

import re
from typing import Any

PROTOCOLS = ("tcp", "udp", "sctp")
_PORT_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
VOLUME_MODES = {
    "ro", "rw", "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave", "private",
    "rprivate", "consistent", "cached", "delegated",
}
PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")


def _port_range(text: str, what: str) -> tuple[int, int]:
    m = _PORT_RANGE.match(text)
    if not m:
        raise ValueError(f"invalid {what} port {text!r}")
    lo = int(m.group(1))
    hi = int(m.group(2) or lo)
    for p in (lo, hi):
        if not 0 < p <= 65535:
            raise ValueError(f"invalid {what} port {p}: must be between 1 and 65535")
    if hi < lo:
        raise ValueError(f"invalid {what} port range {text!r}: end before start")
    return lo, hi


def parse_port(spec: Any) -> list[dict[str, Any]]:
    """``"127.0.0.1:8080-8081:80-81/udp"`` -> one dict per port, keys of the long form
    (``target``, ``published`` (str or None), ``host_ip``, ``protocol``)."""
    if isinstance(spec, bool):
        raise ValueError(f"invalid port {spec!r}")
    if isinstance(spec, int):
        _port_range(str(spec), "container")
        return [{"target": spec, "published": None, "host_ip": None, "protocol": "tcp"}]
    if isinstance(spec, float):
        raise ValueError(f"invalid port {spec!r}")
    text = str(spec).strip()
    if not text:
        raise ValueError("empty port")
    body, _, proto = text.partition("/")
    proto = proto or "tcp"
    if proto.lower() not in PROTOCOLS:
        raise ValueError(f"invalid protocol {proto!r} in port {text!r} "
                         f"(expected one of {', '.join(PROTOCOLS)})")
    host_ip: str | None = None
    if body.startswith("["):                         # [::1]:8080:80
        end = body.find("]")
        if end < 0 or body[end + 1:end + 2] != ":":
            raise ValueError(f"invalid port {text!r}: unterminated IPv6 address")
        host_ip = body[1:end]
        rest = body[end + 2:].split(":")
        if len(rest) != 2:
            raise ValueError(f"invalid port {text!r}: expected [IP]:HOST:CONTAINER")
        host, container = rest
    else:
        parts = body.split(":")
        if len(parts) == 1:
            host, container = "", parts[0]
        elif len(parts) == 2:
            host, container = parts
        else:
            host_ip = ":".join(parts[:-2])
            host, container = parts[-2], parts[-1]
    if host_ip is not None and not host_ip:
        host_ip = None
    if not container:
        raise ValueError(f"invalid port {text!r}: missing container port")
    c_lo, c_hi = _port_range(container, "container")
    out: list[dict[str, Any]] = []
    if not host:
        for p in range(c_lo, c_hi + 1):
            out.append({"target": p, "published": None, "host_ip": host_ip,
                        "protocol": proto.lower()})
        return out
    h_lo, h_hi = _port_range(host, "host")
    if c_lo == c_hi:                                # one container port, maybe a host range
        published = str(h_lo) if h_lo == h_hi else f"{h_lo}-{h_hi}"
        return [{"target": c_lo, "published": published, "host_ip": host_ip,
                 "protocol": proto.lower()}]
    if h_hi - h_lo != c_hi - c_lo:
        raise ValueError(f"invalid port {text!r}: host range {host} and container range "
                         f"{container} have different sizes")
    for i in range(c_hi - c_lo + 1):
        out.append({"target": c_lo + i, "published": str(h_lo + i), "host_ip": host_ip,
                    "protocol": proto.lower()})
    return out


def parse_published(value: Any) -> str | None:
    """The long syntax's ``published`` (int or "8080" or "8000-8010") -> str or None."""
    if value is None or value == "":
        return None
    lo, hi = _port_range(str(value).strip(), "published")
    return str(lo) if lo == hi else f"{lo}-{hi}"


def is_bind_source(src: str) -> bool:
    return src.startswith((".", "/", "~")) or src in ("", ".")


def parse_volume(spec: str) -> dict[str, Any]:
    """``"./data:/var/lib/data:ro,z"`` -> long-form dict (``type``, ``source``,
    ``target``, ``read_only``, ``bind``/``volume`` options)."""
    text = spec.strip()
    if not text:
        raise ValueError("empty volume specification")
    parts = text.split(":")
    if len(parts) > 3:
        raise ValueError(f"invalid volume {spec!r}: too many ':' (expected "
                         "[SOURCE:]TARGET[:MODE])")
    if len(parts) == 1:
        target = parts[0]
        if not target.startswith("/"):
            raise ValueError(f"invalid volume {spec!r}: the target must be an absolute path")
        return {"type": "volume", "source": None, "target": target, "read_only": False}
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    if not source:
        raise ValueError(f"invalid volume {spec!r}: empty source")
    if not target:
        raise ValueError(f"invalid volume {spec!r}: empty target")
    if not target.startswith("/"):
        raise ValueError(f"invalid volume {spec!r}: the target {target!r} must be an "
                         "absolute path")
    opts = [o for o in mode.split(",") if o] if mode else []
    for o in opts:
        if o not in VOLUME_MODES:
            raise ValueError(f"invalid volume {spec!r}: unknown mode {o!r} (expected "
                             "ro, rw, z, Z, nocopy or a propagation like rshared)")
    if "ro" in opts and "rw" in opts:
        raise ValueError(f"invalid volume {spec!r}: both ro and rw")
    out: dict[str, Any] = {"source": source, "target": target, "read_only": "ro" in opts}
    if is_bind_source(source):
        out["type"] = "bind"
        bind: dict[str, Any] = {"create_host_path": True}
        for o in opts:
            if o in PROPAGATIONS:
                bind["propagation"] = o
            elif o in ("z", "Z"):
                bind["selinux"] = o
        out["bind"] = bind
    else:
        if not re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", source):
            raise ValueError(f"invalid volume {spec!r}: {source!r} is neither a path "
                             "(starting with ., / or ~) nor a volume name")
        out["type"] = "volume"
        if "nocopy" in opts:
            out["volume"] = {"nocopy": True}
    if any(o in ("consistent", "cached", "delegated") for o in opts):
        out["consistency"] = next(o for o in opts if o in ("consistent", "cached",
                                                           "delegated"))
    return out


def parse_key_values(value: Any, *, sep: str = "=") -> dict[str, str | None]:
    """A ``KEY=VAL`` list or a map -> dict; a bare ``KEY`` (or ``KEY: null``) -> None."""
    out: dict[str, str | None] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out[str(k)] = None if v is None else scalar_str(v)
        return out
    for item in value or ():
        item = str(item)
        k, found, v = item.partition(sep)
        out[k] = v if found else None
    return out


def scalar_str(v: Any) -> str:
    """How Compose turns a YAML scalar into a string: ``true`` not ``True``,
    ``1.5`` stays ``1.5``, integral floats lose their ``.0``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return str(v)


def parse_extra_hosts(value: Any) -> list[tuple[str, str]]:
    """``["host=ip", "host:ip"]`` or ``{host: ip | [ips]}`` -> ``[(host, ip), ...]``."""
    out: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for host, ips in value.items():
            for ip in ips if isinstance(ips, list) else [ips]:
                out.append((str(host), _strip_brackets(str(ip))))
        return out
    for item in value or ():
        item = str(item)
        if "=" in item:
            host, _, ip = item.partition("=")
        else:
            host, sep, ip = item.partition(":")
            if not sep:
                raise ValueError(f"invalid extra_hosts entry {item!r} (expected HOST=IP)")
        if not host or not ip:
            raise ValueError(f"invalid extra_hosts entry {item!r} (expected HOST=IP)")
        out.append((host, _strip_brackets(ip)))
    return out


def _strip_brackets(ip: str) -> str:
    return ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip


def parse_device(spec: str) -> dict[str, str]:
    """``/dev/sda:/dev/xvda:rwm`` -> ``{source, target, permissions}`` (CDI names kept)."""
    parts = spec.split(":")
    if len(parts) > 3 or not parts[0]:
        raise ValueError(f"invalid device {spec!r} (expected HOST[:CONTAINER[:PERMISSIONS]])")
    source = parts[0]
    target = parts[1] if len(parts) > 1 and parts[1] else source
    perms = parts[2] if len(parts) > 2 else "rwm"
    if len(parts) == 2 and re.fullmatch(r"[rwm]+", parts[1]) and not parts[1].startswith("/"):
        target, perms = source, parts[1]
    return {"source": source, "target": target, "permissions": perms}


def parse_file_mode(value: Any) -> int:
    """``0440`` (already octal from the YAML reader), ``"0440"`` or ``"440"`` -> int."""
    if isinstance(value, bool):
        raise ValueError(f"invalid file mode {value!r}")
    if isinstance(value, int):
        if not 0 <= value <= 0o7777:
            raise ValueError(f"invalid file mode {value!r}")
        return value
    text = str(value).strip()
    try:
        mode = int(text[2:] if text.lower().startswith("0o") else text, 8)
    except ValueError:
        raise ValueError(f"invalid file mode {value!r} (expected octal, e.g. 0440)") from None
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"invalid file mode {value!r}")
    return mode


# Go's strconv.ParseBool, plus YAML 1.1's yes/no/on/off that Compose still accepts
# (with a warning) in boolean fields
_TRUE = {"1", "t", "true", "yes", "y", "on"}
_FALSE = {"0", "f", "false", "no", "n", "off"}


def to_bool(value: Any) -> bool:
    """A boolean, or a string as Go's ``strconv.ParseBool`` reads it."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise ValueError(f"expected a boolean (true or false), got {value!r}")


def to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected an integer, got {value!r}")


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a number, got {value!r}")


def split_command(value: Any) -> tuple[str, ...] | None:
    """``command``/``entrypoint``: a list stays, a string is split like a shell would
    (no shell runs it); ``null`` means "keep the image's"."""
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(scalar_str(v) for v in value)
    import shlex

    try:
        return tuple(shlex.split(str(value)))
    except ValueError as err:
        raise ValueError(f"cannot split command {value!r}: {err}") from None
