"""How a plain (unquoted) YAML scalar becomes a Python value, the way Compose reads it.

Compose's reference parser (go-yaml v3 under compose-go) follows YAML 1.2 with a few
YAML 1.1 leftovers, and differs from PyYAML's YAML 1.1 defaults:

* only ``true``/``false`` (any letter case) are booleans: ``yes``/``no``/``on``/``off``
  stay strings;
* ``~``, ``null`` and the empty scalar are null;
* integers: decimal, ``0x`` hex, ``0o`` octal, ``0b`` binary, and leading-zero octal
  (``0440`` is 288, as file modes are meant); ``_`` separators are ignored;
* no base-60 numbers: ``22:22`` is the string ``"22:22"``; timestamps stay strings;
* floats: ``1.5``, ``1e3``, ``.inf``, ``-.inf``, ``.nan``.
"""

from __future__ import annotations

import re
from typing import Any

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)\Z")
_SPECIAL_FLOATS = {
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
_NUMERIC_START = frozenset("0123456789+-.")


def resolve_plain(text: str) -> Any:
    """Value of an unquoted scalar."""
    if text in _NULLS:
        return None
    first = text[0]
    if first in "tTfF" and len(text) in (4, 5):
        low = text.lower()
        if low == "true":
            return True
        if low == "false":
            return False
        return text
    if first not in _NUMERIC_START:
        return text
    plain = text.replace("_", "") if "_" in text else text
    if _INT.match(plain):
        return _to_int(plain)
    if _FLOAT.match(plain):
        try:
            return float(plain)
        except ValueError:  # pragma: no cover - the regex only admits valid floats
            return text
    special = _SPECIAL_FLOATS.get(text)
    if special is not None:
        return special
    return text


def _to_int(plain: str) -> int | float:
    sign = 1
    body = plain
    if body[0] in "+-":
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if len(body) > 1 and body[0] == "0":
        kind = body[1]
        if kind in "xX":
            return sign * int(body[2:], 16)
        if kind in "oO":
            return sign * int(body[2:], 8)
        if kind in "bB":
            return sign * int(body[2:], 2)
        if all(c in "01234567" for c in body):
            return sign * int(body, 8)
        return sign * float(body)  # "08": not octal, read as a float like go-yaml does
    return sign * int(body, 10)


def resolve_tagged(tag: str, text: str) -> tuple[Any, bool]:
    """Value of a scalar with an explicit standard tag; ``(value, ok)``."""
    short = tag.rsplit(":", 1)[-1] if tag.startswith("tag:yaml.org,2002:") else None
    if short is None:
        return text, False
    if short == "str" or short in ("binary", "timestamp"):
        return text, True
    if short == "null":
        return None, True
    if short == "bool":
        low = text.lower()
        if low in ("true", "false"):
            return low == "true", True
        return text, False
    if short == "int":
        plain = text.replace("_", "")
        if _INT.match(plain):
            return _to_int(plain), True
        return text, False
    if short == "float":
        if text in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[text], True
        try:
            return float(text.replace("_", "")), True
        except ValueError:
            return text, False
    return text, False
