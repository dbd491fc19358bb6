"""``.env`` / ``env_file`` parser with compose-go's ``dotenv`` semantics.

* ``KEY=VALUE``, ``KEY: VALUE`` (YAML-ish), optional ``export`` prefix; spaces around
  the separator are ignored; key characters: letters, digits, ``_ . - [ ]``.
* A bare ``KEY`` line takes its value from ``lookup`` (the process environment) and is
  left out when that has none.
* ``#`` starts a comment line; in an unquoted value `` #`` starts an inline comment.
* Single quotes: literal (``\\'`` escapes the quote).  Double quotes: ``\\n``, ``\\t``,
  ``\\r``, ``\\\\``, ``\\"`` escapes, then variable substitution.  Both may span lines.
* Unquoted and double-quoted values are interpolated; a referenced variable is taken
  from ``lookup`` first, then from the lines read so far.
* A UTF-8 BOM is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from compose.loader.template import TemplateError, substitute

_EXPORT = re.compile(r"export[ \t]+")
_SPACE = frozenset("\t\v\f\r \x85\xa0")
_KEY_EXTRA = frozenset("_.-[]")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "a": "\a",
            "b": "\b", "f": "\f", "v": "\v"}


class DotenvError(ValueError):
    """A syntax error in a dotenv file; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


def parse_dotenv(text: str, lookup: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """Parse dotenv ``text``; ``lookup`` resolves bare keys and variable references."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return _Parser(text, lookup or (lambda _k: None)).parse()


def read_dotenv(path: str | Path, lookup: Callable[[str], str | None] | None = None
                ) -> dict[str, str]:
    """Parse the dotenv file at ``path`` (raises OSError, DotenvError)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        return parse_dotenv(fh.read(), lookup)


def environment_lookup(env: Mapping[str, str]) -> Callable[[str], str | None]:
    return env.get


class _Parser:
    def __init__(self, src: str, lookup: Callable[[str], str | None]) -> None:
        self.src = src
        self.i = 0
        self.lookup = lookup
        self.out: dict[str, str] = {}

    def line(self) -> int:
        return self.src.count("\n", 0, self.i) + 1

    def parse(self) -> dict[str, str]:
        src, n = self.src, len(self.src)
        while True:
            # statement start: skip whitespace (newlines included) and comment lines
            while self.i < n:
                c = src[self.i]
                if c.isspace():
                    self.i += 1
                elif c == "#":
                    nl = src.find("\n", self.i)
                    self.i = n if nl < 0 else nl
                else:
                    break
            if self.i >= n:
                return self.out
            key, inherited = self.key()
            if inherited:
                v = self.lookup(key)
                if v is not None:
                    self.out[key] = v
                continue
            self.out[key] = self.value()

    def key(self) -> tuple[str, bool]:
        src, n = self.src, len(self.src)
        m = _EXPORT.match(src, self.i)
        if m:
            self.i = m.end()
        start = self.i
        j = start
        inherited = True
        while j < n:
            c = src[j]
            if c in _SPACE:
                j += 1
                continue
            if c in "=:\n":
                inherited = c == "\n"
                break
            if c in _KEY_EXTRA or c.isalnum():
                j += 1
                continue
            first = src[start:].split("\n", 1)[0]
            raise DotenvError(self.line(), f"unexpected character {c!r} in variable name "
                              f"{first!r}")
        key = src[start:j].rstrip()
        if not key:
            raise DotenvError(self.line(), "missing variable name")
        if " " in key or "\t" in key:
            raise DotenvError(self.line(), f"key cannot contain a space: {key!r}")
        self.i = j + 1 if j < n else n
        if not inherited:
            while self.i < n and src[self.i] in _SPACE:
                self.i += 1
        return key, inherited

    def interpolate(self, value: str) -> str:
        def look(name: str) -> str | None:
            v = self.lookup(name)
            return v if v is not None else self.out.get(name)

        try:
            return substitute(value, look)
        except TemplateError as err:
            raise DotenvError(self.line(), str(err)) from None

    def value(self) -> str:
        src, n = self.src, len(self.src)
        if self.i >= n:
            return ""
        quote = src[self.i]
        if quote not in "\"'":
            nl = src.find("\n", self.i)
            end = n if nl < 0 else nl
            raw = src[self.i:end]
            self.i = end
            cut = raw.find(" #")
            if cut >= 0:
                raw = raw[:cut]
            return self.interpolate(raw.rstrip())
        chars: list[str] = []
        escaped = False
        j = self.i + 1
        while j < n:
            c = src[j]
            if c != quote:
                if not escaped and c == "\\":
                    escaped = True
                elif escaped:
                    escaped = False
                    chars.append("\\")
                    chars.append(c)
                else:
                    chars.append(c)
                j += 1
                continue
            if escaped:
                escaped = False
                chars.append(c)
                j += 1
                continue
            value = "".join(chars)
            self.i = j + 1
            if quote == '"':
                value = self.interpolate(_expand_escapes(value))
            return value
        line = src[self.i:].split("\n", 1)[0]
        raise DotenvError(self.line(), f"unterminated quoted value {line}")


def _expand_escapes(value: str) -> str:
    if "\\" not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == "\\" and i + 1 < n:
            nxt = value[i + 1]
            if nxt == "$":
                out.append("\\$")
            else:
                out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
