"""The host's resolver settings and the text of a container's ``/etc/resolv.conf``
(kept apart from the DNS server so the CLI and the start path need no asyncio)."""

from __future__ import annotations

import contextlib
from pathlib import Path


def host_nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    out = []
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                out.append(parts[1])
    return out


def host_search(path: str = "/etc/resolv.conf") -> list[str]:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            parts = line.split()
            if parts and parts[0] in ("search", "domain"):
                return parts[1:]
    return []


def resolv_conf(nameservers: list[str], search: list[str], options: list[str]) -> str:
    """``/etc/resolv.conf`` text.  ``ndots:0`` unless set: a bare service name is looked
    up as is first, not after a round of host search domains."""
    lines = [f"nameserver {ns}" for ns in nameservers]
    if search:
        lines.append("search " + " ".join(search))
    if not any(o.startswith("ndots:") for o in options):
        options = [*options, "ndots:0"]
    lines.append("options " + " ".join(options))
    return "\n".join(lines) + "\n"
