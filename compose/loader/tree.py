"""The loader's working tree: dicts and lists that remember where each value came from.

While files are interpolated, included, extended and merged, every mapping is a
:class:`CMap` and every sequence a :class:`CSeq`.  They are ordinary ``dict``/``list``
subclasses that also hold the :class:`~compose.errors.Pos` of each child (value and
key) and the ``!reset``/``!override`` tag a child carried in YAML.  Scalars stay plain
Python values, so their positions live in the parent container.  Merging copies child
positions along with the values, which is how a value taken from an override file keeps
the override file's position.  :func:`to_plain` turns the finished tree into plain
dicts/lists plus a :class:`PositionMap`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from compose.errors import Pos

RESET = "!reset"
OVERRIDE = "!override"

Path = tuple[str | int, ...]


class CMap(dict):
    """A mapping with per-key positions (``kpos``: the key, ``vpos``: the value)."""

    __slots__ = ("kpos", "pos", "tags", "vpos")

    def __init__(self, pos: Pos | None = None) -> None:
        super().__init__()
        self.pos = pos
        self.kpos: dict[str, Pos] = {}
        self.vpos: dict[str, Pos] = {}
        self.tags: dict[str, str] = {}

    def put(self, key: str, value: Any, vpos: Pos | None, kpos: Pos | None = None,
            tag: str | None = None) -> None:
        self[key] = value
        if vpos is not None:
            self.vpos[key] = vpos
        if kpos is not None:
            self.kpos[key] = kpos
        if tag:
            self.tags[key] = tag
        elif self.tags:
            self.tags.pop(key, None)

    def copy_entry(self, src: CMap, key: str, value: Any = None, *, keep: bool = True) -> None:
        """Set ``key`` to ``value`` (default: src's value) with src's positions for it."""
        self[key] = src[key] if keep and value is None else value
        p = src.vpos.get(key)
        if p is not None:
            self.vpos[key] = p
        p = src.kpos.get(key)
        if p is not None:
            self.kpos[key] = p

    def remove(self, key: str) -> None:
        self.pop(key, None)
        self.vpos.pop(key, None)
        self.kpos.pop(key, None)
        self.tags.pop(key, None)


class CSeq(list):
    """A sequence with per-item positions."""

    __slots__ = ("ipos", "pos", "tags")

    def __init__(self, pos: Pos | None = None) -> None:
        super().__init__()
        self.pos = pos
        self.ipos: list[Pos | None] = []
        self.tags: dict[int, str] = {}

    def add(self, value: Any, pos: Pos | None, tag: str | None = None) -> None:
        if tag:
            self.tags[len(self)] = tag
        self.append(value)
        self.ipos.append(pos)


def pos_of(container: CMap | CSeq, key: str | int) -> Pos | None:
    if isinstance(container, CMap):
        return container.vpos.get(key)  # type: ignore[arg-type]
    try:
        return container.ipos[key]  # type: ignore[index]
    except (IndexError, TypeError):
        return None


def format_path(path: Path) -> str:
    """``("services", "web", "ports", 0)`` -> ``services.web.ports[0]``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(("." if out else "") + part)
    return "".join(out)


class PositionMap:
    """Where each value of the loaded tree came from (file:line:col).

    ``pm[path]`` / ``pm.get(path)``: position of the value at ``path``;
    ``pm.key_pos(path)``: position of the mapping key naming it;
    ``pm.nearest(path)``: position of the closest existing ancestor (for "missing
    property" errors, or paths created by normalization).
    """

    __slots__ = ("_default", "_keys", "_values")

    def __init__(self, values: dict[Path, Pos], keys: dict[Path, Pos],
                 default: Pos | None = None) -> None:
        self._values = values
        self._keys = keys
        self._default = default

    def __getitem__(self, path: Path) -> Pos:
        return self._values[tuple(path)]

    def __contains__(self, path: object) -> bool:
        return path in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Path]:
        return iter(self._values)

    def get(self, path: Path, default: Pos | None = None) -> Pos | None:
        return self._values.get(tuple(path), default)

    def key_pos(self, path: Path) -> Pos | None:
        """Position of the key whose value is at ``path`` (the item itself for lists)."""
        path = tuple(path)
        return self._keys.get(path) or self._values.get(path)

    def issue(self, path: Path, message: str, hint: str | None = None, *,
              at_key: bool = False):
        """A :class:`~compose.errors.ConfigIssue` for ``path``, located at its value (or
        its key with ``at_key``), else at the closest existing ancestor."""
        from compose.errors import ConfigIssue

        path = tuple(path)
        pos = (self.key_pos(path) if at_key else self.get(path)) or self.nearest(path)
        return ConfigIssue(pos, format_path(path), message, hint)

    def nearest(self, path: Path) -> Pos | None:
        """Position of ``path`` or of its closest ancestor that exists."""
        path = tuple(path)
        while True:
            p = self._keys.get(path) or self._values.get(path)
            if p is not None:
                return p
            if not path:
                return self._default
            path = path[:-1]


def to_plain(tree: Any, default: Pos | None = None) -> tuple[Any, PositionMap]:
    """Turn a CMap/CSeq tree into plain dicts/lists and a :class:`PositionMap`."""
    values: dict[Path, Pos] = {}
    keys: dict[Path, Pos] = {}

    def walk(node: Any, path: Path) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            vpos = getattr(node, "vpos", None)
            kpos = getattr(node, "kpos", None)
            for k, v in node.items():
                sub = (*path, k)
                if vpos:
                    p = vpos.get(k)
                    if p is not None:
                        values[sub] = p
                if kpos:
                    p = kpos.get(k)
                    if p is not None:
                        keys[sub] = p
                out[k] = walk(v, sub) if isinstance(v, (dict, list)) else v
            return out
        if isinstance(node, list):
            ipos = getattr(node, "ipos", None)
            lst: list[Any] = []
            for i, v in enumerate(node):
                sub = (*path, i)
                if ipos and i < len(ipos) and ipos[i] is not None:
                    values[sub] = ipos[i]
                lst.append(walk(v, sub) if isinstance(v, (dict, list)) else v)
            return lst
        return node

    root_pos = getattr(tree, "pos", None)
    if root_pos is not None:
        values[()] = root_pos
    plain = walk(tree, ())
    return plain, PositionMap(values, keys, default or root_pos)
