"""A fast reader for the plain block-style YAML most compose files are written in.

ruamel.yaml's pure-Python scanner costs ~0.7 ms per service; this reader handles the
common subset (block mappings and sequences, plain/quoted one-line scalars, one-line
flow collections, comments) about 10x faster and produces exactly the tree
:mod:`compose.loader.yamlread` builds (same values, same positions).  On anything
else -- anchors, aliases, tags, block scalars, multi-line scalars, documents markers,
tabs, duplicate keys, odd indentation, or anything that looks like an error -- it
gives up (returns None) and the caller uses ruamel, which also produces the error
messages.  Differential tests compare both readers on generated documents.
"""

from __future__ import annotations

from typing import Any

from compose.errors import Pos
from compose.loader.tree import CMap, CSeq
from compose.loader.yamlscalar import resolve_plain


class _Unsupported(Exception):
    pass


_BAD_PLAIN_START = frozenset("&*!|>%@`?,[]{}#'\"")
_DQ_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n",
               "v": "\v", "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"',
               "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
               "P": "\u2029"}
_HEX_LEN = {"x": 2, "u": 4, "U": 8}


def fast_read(text: str, filename: str) -> list[Any] | None:
    """Documents of ``text`` (a one-element list), or None when not in the subset."""
    try:
        return [_Parser(text, filename).document()]
    except (_Unsupported, IndexError, ValueError):
        return None


class _Parser:
    __slots__ = ("file", "lines", "n")

    def __init__(self, text: str, filename: str) -> None:
        self.file = filename
        lines: list[list[Any]] = []
        seen_start = False
        for no, raw in enumerate(text.split("\n"), 1):
            if raw.endswith("\r"):
                raw = raw[:-1]
            content = raw.lstrip(" ")
            if not content or content[0] == "#":
                if "\t" in raw and raw.strip(" \t\r") and content[:1] != "#":
                    raise _Unsupported
                continue
            if "\r" in content:
                raise _Unsupported  # a lone CR: let ruamel decide
            indent = len(raw) - len(content)
            c0 = content[0]
            if c0 == "\t" or "\t" in content[:2]:
                raise _Unsupported
            if indent == 0 and (c0 in "%" or content.startswith(("---", "..."))):
                if not lines and not seen_start and (
                        content == "---" or content.startswith(("--- #", "---\t#"))):
                    seen_start = True  # a leading document start marker is harmless
                    continue
                raise _Unsupported
            lines.append([no, indent, content])
        self.lines = lines
        self.n = len(lines)

    def pos(self, line: int, col0: int) -> Pos:
        return Pos(self.file, line, col0 + 1)

    def document(self) -> Any:
        if not self.lines:
            raise _Unsupported  # empty documents: let ruamel decide
        value, i = self.block(0, self.lines[0][1])
        if i != self.n:
            raise _Unsupported
        return value

    def block(self, i: int, indent: int) -> tuple[Any, int]:
        content = self.lines[i][2]
        if content[0] == "-" and (len(content) == 1 or content[1] == " "):
            return self.sequence(i, indent)
        return self.mapping(i, indent)

    # --- block collections ----------------------------------------------------------
    def sequence(self, i: int, indent: int) -> tuple[CSeq, int]:
        lines = self.lines
        no, _, _ = lines[i]
        seq = CSeq(self.pos(no, indent))
        while i < self.n:
            no, ind, content = lines[i]
            if ind < indent:
                break
            if ind > indent:
                raise _Unsupported
            if not (content[0] == "-" and (len(content) == 1 or content[1] == " ")):
                break
            rest = content[1:].lstrip(" ")
            if not rest or rest[0] == "#":
                raise _Unsupported  # item on the next lines, or an empty item
            col = indent + (len(content) - len(rest))
            if rest[0] == "-" and (len(rest) == 1 or rest[1] == " "):
                raise _Unsupported  # "- - x"
            if _is_entry(rest):
                lines[i] = [no, col, rest]
                value, i = self.mapping(i, col)
                seq.add(value, value.pos)
                continue
            value = self.inline(rest, no, col)
            seq.add(value, self.pos(no, col))
            i += 1
        return seq, i

    def mapping(self, i: int, indent: int) -> tuple[CMap, int]:
        lines = self.lines
        m = CMap(self.pos(lines[i][0], indent))
        while i < self.n:
            no, ind, content = lines[i]
            if ind < indent:
                break
            if ind > indent:
                raise _Unsupported
            if content[0] == "-" and (len(content) == 1 or content[1] == " "):
                break
            key, rest, vcol = self.key(content, indent)
            if key in m or key == "<<":
                raise _Unsupported
            kpos = self.pos(no, indent)
            i += 1
            if not rest or rest[0] == "#":
                if i < self.n:
                    _, nind, ncontent = lines[i]
                    if nind > indent:
                        value, i = self.block(i, nind)
                        m.put(key, value, value.pos, kpos)
                        continue
                    if nind == indent and ncontent[0] == "-" and (
                            len(ncontent) == 1 or ncontent[1] == " "):
                        value, i = self.sequence(i, indent)
                        m.put(key, value, value.pos, kpos)
                        continue
                m.put(key, None, kpos, kpos)
                continue
            m.put(key, self.inline(rest, no, vcol), self.pos(no, vcol), kpos)
        return m, i

    def key(self, content: str, indent: int) -> tuple[str, str, int]:
        """Split ``key: rest``; returns (key, rest, column of rest)."""
        c0 = content[0]
        if c0 in "\"'":
            key, end = self.quoted(content, 0)
            if end >= len(content) or content[end] != ":":
                raise _Unsupported
            after = end + 1
        else:
            if c0 in _BAD_PLAIN_START or c0 in "-:":
                raise _Unsupported
            colon = _find_colon(content)
            if colon < 0:
                raise _Unsupported
            key = content[:colon].rstrip(" ")
            if " #" in key or not key or not isinstance(resolve_plain(key), str):
                raise _Unsupported  # null or non-string keys: ruamel path reports them
            after = colon + 1
        if after < len(content) and content[after] != " ":
            raise _Unsupported
        rest = content[after:].lstrip(" ")
        return key, rest, indent + len(content) - len(rest)

    # --- scalars and flow -------------------------------------------------------------
    def inline(self, text: str, no: int, col: int) -> Any:
        c0 = text[0]
        if c0 in "\"'":
            value, end = self.quoted(text, 0)
            _only_comment(text, end)
            return value
        if c0 in "[{":
            value, end = self.flow(text, 0, no, col)
            _only_comment(text, end)
            return value
        if c0 in _BAD_PLAIN_START or (c0 in "-:" and (len(text) == 1 or text[1] == " ")):
            raise _Unsupported
        plain = _cut_comment(text)
        if ": " in plain or plain.endswith(":") or "\t" in plain:
            raise _Unsupported
        return resolve_plain(plain)

    def quoted(self, text: str, start: int) -> tuple[str, int]:
        q = text[start]
        if q == "'":
            out: list[str] = []
            i = start + 1
            while True:
                j = text.index("'", i)
                out.append(text[i:j])
                if j + 1 < len(text) and text[j + 1] == "'":
                    out.append("'")
                    i = j + 2
                    continue
                return "".join(out), j + 1
        out = []
        i = start + 1
        n = len(text)
        while i < n:
            c = text[i]
            if c == '"':
                return "".join(out), i + 1
            if c == "\\":
                e = text[i + 1]
                if e in _DQ_ESCAPES:
                    out.append(_DQ_ESCAPES[e])
                    i += 2
                    continue
                size = _HEX_LEN.get(e)
                if size is None:
                    raise _Unsupported
                out.append(chr(int(text[i + 2:i + 2 + size], 16)))
                i += 2 + size
                continue
            out.append(c)
            i += 1
        raise _Unsupported  # multi-line quoted scalar

    def flow(self, text: str, i: int, no: int, col0: int) -> tuple[Any, int]:
        """Parse the flow collection at ``text[i]``; returns (value, index after it)."""
        opener = text[i]
        closer = "]" if opener == "[" else "}"
        base = col0 - 0
        if opener == "[":
            out: Any = CSeq(self.pos(no, base + i))
        else:
            out = CMap(self.pos(no, base + i))
        i += 1
        n = len(text)
        while True:
            while i < n and text[i] == " ":
                i += 1
            if i >= n:
                raise _Unsupported  # continues on the next line
            c = text[i]
            if c == closer:
                return out, i + 1
            if opener == "{":
                if c in "\"'":
                    key, i = self.quoted(text, i)
                    kstart = None
                else:
                    kstart = i
                    key, i = _flow_plain(text, i, key=True)
                    if not key or not isinstance(resolve_plain(key), str):
                        raise _Unsupported
                kcol = base + (kstart if kstart is not None else i)
                if i >= n or text[i] != ":" or key in out or key == "<<":
                    raise _Unsupported
                i += 1
                while i < n and text[i] == " ":
                    i += 1
                if i < n and text[i] in ",}":
                    raise _Unsupported  # `{a: }` -- empty value
                vstart = i
                value, i = self.flow_value(text, i, no, col0)
                out.put(key, value, self.pos(no, base + vstart), self.pos(no, kcol))
            else:
                vstart = i
                value, i = self.flow_value(text, i, no, col0)
                out.add(value, self.pos(no, base + vstart))
            while i < n and text[i] == " ":
                i += 1
            if i >= n:
                raise _Unsupported
            if text[i] == ",":
                i += 1
            elif text[i] != closer:
                raise _Unsupported

    def flow_value(self, text: str, i: int, no: int, col0: int) -> tuple[Any, int]:
        c = text[i]
        if c in "[{":
            return self.flow(text, i, no, col0)
        if c in "\"'":
            return self.quoted(text, i)
        raw, j = _flow_plain(text, i, key=False)
        if not raw:
            raise _Unsupported
        return resolve_plain(raw), j


def _flow_plain(text: str, i: int, *, key: bool) -> tuple[str, int]:
    c0 = text[i]
    if c0 in _BAD_PLAIN_START or (c0 in "-:" and (i + 1 >= len(text) or text[i + 1] in " ,[]{}")):
        raise _Unsupported
    j = i
    n = len(text)
    while j < n:
        c = text[j]
        if c in ",[]{}":
            break
        if c == ":" and (j + 1 >= n or text[j + 1] in " ,[]{}"):
            if not key:
                raise _Unsupported  # a single-pair mapping inside a flow sequence
            break
        if c == "#" and text[j - 1] == " ":
            raise _Unsupported
        j += 1
    return text[i:j].rstrip(" "), j


def _find_colon(content: str) -> int:
    i = content.find(":")
    n = len(content)
    while i >= 0:
        if i + 1 >= n or content[i + 1] == " ":
            return i
        i = content.find(":", i + 1)
    return -1


def _is_entry(text: str) -> bool:
    """Does a sequence item start a mapping (``- key: value``)?"""
    c0 = text[0]
    if c0 in "\"'":
        q = text.find(c0, 1)
        return q > 0 and text[q + 1:q + 2] == ":" and (q + 2 >= len(text) or text[q + 2] == " ")
    if c0 in "[{":
        return False
    colon = _find_colon(text)
    if colon < 0:
        return False
    hash_at = text.find(" #")
    return hash_at < 0 or hash_at > colon


def _cut_comment(text: str) -> str:
    at = text.find(" #")
    if at >= 0:
        text = text[:at]
    return text.rstrip(" ")


def _only_comment(text: str, end: int) -> None:
    rest = text[end:].lstrip(" ")
    if rest and (rest[0] != "#" or end == len(text) - len(rest)):
        raise _Unsupported
