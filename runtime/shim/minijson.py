"""JSON through the C accelerator ``_json`` only.

``import json`` pulls in ``re`` and ``enum`` (~2 MB of heap in a fresh interpreter);
the long-lived monitor of every container cannot afford that.  The C scanner and
encoder behind ``json`` need neither.  Output is compact; input is any JSON document.
"""

from __future__ import annotations

import _json

_WS = " \t\n\r"


class _Ctx:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None
    memo: dict = {}


def _constant(name: str) -> float:
    return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


_Ctx.parse_constant = staticmethod(_constant)
_scan = _json.make_scanner(_Ctx())
_encode = _json.make_encoder(None, None, _json.encode_basestring, None, ":", ",", True,
                             False, True)


def loads(data: bytes | str) -> object:
    s = data.decode() if isinstance(data, bytes) else data
    i = 0
    while i < len(s) and s[i] in _WS:
        i += 1
    try:
        obj, end = _scan(s, i)
    except StopIteration as e:
        raise ValueError(f"invalid JSON at {e.value}") from None
    if s[end:].strip(_WS):
        raise ValueError(f"extra data at {end}")
    return obj


def dumps(obj: object) -> str:
    return "".join(_encode(obj, 0))


def string(s: str) -> str:
    """One JSON string literal (non-ASCII kept as is, like ``ensure_ascii=False``)."""
    return _json.encode_basestring(s)
