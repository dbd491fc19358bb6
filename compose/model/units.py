"""Compose's value units: Go-style durations and byte sizes.

* durations as Go's ``time.ParseDuration`` reads them (``1m30s``, ``1.5h``, ``500ms``,
  ``-1s`` is refused: Compose has no negative durations); the result is in seconds.
* byte sizes as docker's ``units.RAMInBytes``: an integer or ``<number>[b|k|m|g|t|p]``
  with an optional ``b``/``ib`` suffix, any case, binary multiples (``1k`` = 1024).

Both raise ``ValueError`` with a message fit for a :class:`~compose.errors.ConfigIssue`.
"""

from __future__ import annotations

import re

_DURATION_UNITS = {
    "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)((?:i?b)?)\s*$", re.IGNORECASE)
_SIZE_MULT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_duration(value: object) -> float:
    """``"1m30s"`` -> ``90.0`` (seconds).  Integers/floats are taken as seconds."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: must not be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}")
    text = value.strip()
    if text in ("0", "+0"):
        return 0.0
    if text.startswith("+"):
        text = text[1:]
    if not text or text.startswith("-"):
        raise ValueError(f"invalid duration {value!r}"
                         + (": must not be negative" if text.startswith("-") else ""))
    total = 0.0
    pos = 0
    for m in _DURATION_PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            raise ValueError(f"invalid duration {value!r}: missing unit (e.g. {text}s)")
        raise ValueError(f"invalid duration {value!r} (expected e.g. 30s, 1m30s, 500ms)")
    return total


def parse_bytes(value: object) -> int:
    """``"512m"`` -> ``536870912``; ``"1gb"`` -> ``1073741824``; ints are bytes."""
    if isinstance(value, bool):
        raise ValueError(f"invalid size {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid size {value!r}: must not be negative")
        return value
    if isinstance(value, float):
        if value < 0:
            raise ValueError(f"invalid size {value!r}: must not be negative")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(f"invalid size {value!r}")
    m = _SIZE.match(value)
    if not m or (m.group(3).lower() == "ib" and not m.group(2)):
        raise ValueError(f"invalid size {value!r} (expected e.g. 512m, 1gb, 1048576)")
    return int(float(m.group(1)) * _SIZE_MULT[m.group(2).lower()])


def format_duration(seconds: float) -> str:
    """Seconds back to a Go duration string (``90.0`` -> ``1m30s``), as compose prints."""
    if seconds == 0:
        return "0s"
    ns = round(seconds * 1e9)
    out = ""
    h, ns = divmod(ns, 3600 * 10**9)
    m, ns = divmod(ns, 60 * 10**9)
    if h:
        out += f"{h}h"
    if h or m:
        out += f"{m}m"
    if ns or not out:
        if not out and ns < 10**9:
            if ns % 10**6 == 0:
                return out + f"{ns // 10**6}ms"
            if ns % 10**3 == 0:
                return out + f"{ns // 10**3}µs"
            return out + f"{ns}ns"
        s = ns / 1e9
        out += (f"{s:.9f}".rstrip("0").rstrip(".")) + "s"
    elif h or m:
        out += "0s"
    return out
