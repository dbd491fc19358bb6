"""The variables a compose project uses (``config --variables``).

Read from the *uninterpolated* tree: every ``$NAME`` / ``${NAME...}`` in a value, with
what the template says about it: a default (``:-`` / ``-``), an alternate value
(``:+`` / ``+``), or that it is required (``:?`` / ``?``).  ``$$`` is a literal dollar.
Nested templates inside a default are reported too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_TEMPLATE = re.compile(r"\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])"
                       r"((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    required: bool = False
    default: str | None = None
    alternate: str | None = None


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _scan(text: str, out: dict[str, Variable]) -> None:
    for m in _TEMPLATE.finditer(text):
        if m.group(1):  # $$
            continue
        name = m.group(2) or m.group(5)
        op, arg = m.group(3), m.group(4)
        var = Variable(name)
        if op in (":-", "-"):
            var = Variable(name, default=arg)
            _scan(arg or "", out)
        elif op in (":+", "+"):
            var = Variable(name, alternate=arg)
            _scan(arg or "", out)
        elif op in (":?", "?"):
            var = Variable(name, required=True)
        old = out.get(name)
        if old is None:
            out[name] = var
        else:  # the most informative mention wins
            out[name] = Variable(name, old.required or var.required,
                                 old.default if old.default is not None else var.default,
                                 old.alternate if old.alternate is not None else var.alternate)


def variables_of(data: Any) -> list[Variable]:
    """Every variable used in the values of ``data``, sorted by name."""
    out: dict[str, Variable] = {}
    for s in _strings(data):
        if "$" in s:
            _scan(s, out)
    return [out[k] for k in sorted(out)]
