"""Variable substitution in strings, with compose-go's ``template`` semantics.

Forms: ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}``,
``${VAR?err}``, ``${VAR:+alt}``, ``${VAR+alt}``, ``$$`` (a literal ``$``).  Defaults,
alternatives and error messages are substituted too (eagerly, like the reference), and
may nest (``${A:-${B:-x}}``).  A ``$`` followed by anything else is kept.  The first
operator after the name governs the braced body: ``${X-a:?b}`` defaults to ``a:?b``.
The braced body ends at the ``}`` that balances its ``{`` (every ``{`` nests), so
``${X:-{"a":1}}`` yields ``{"a":1}`` when X is unset.
"""

from __future__ import annotations

from collections.abc import Callable

Lookup = Callable[[str], "str | None"]

_NAME_START = frozenset("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHARS = _NAME_START | frozenset("0123456789")


class TemplateError(ValueError):
    """An invalid template or a required variable without a value."""


class InvalidTemplate(TemplateError):
    pass


class MissingRequired(TemplateError):
    def __init__(self, name: str, message: str) -> None:
        text = f"required variable {name} is missing a value"
        if message:
            text += f": {message}"
        super().__init__(text)
        self.name = name


def substitute(template: str, lookup: Lookup, unset: list[str] | None = None) -> str:
    """Substitute variables in ``template``; ``lookup(name)`` returns None when unset.

    Names of variables that were used while unset (and without a default) are appended
    to ``unset`` so the caller can warn about them.
    """
    if "$" not in template:
        return template
    try:
        return _Sub(lookup, unset, template).run(template)
    except InvalidTemplate:
        raise InvalidTemplate(f"Invalid template: {template!r}") from None


class _Sub:
    def __init__(self, lookup: Lookup, unset: list[str] | None, whole: str) -> None:
        self.lookup = lookup
        self.unset = unset

    def run(self, s: str) -> str:
        if "$" not in s:
            return s
        out: list[str] = []
        i, n = 0, len(s)
        while i < n:
            j = s.find("$", i)
            if j < 0:
                out.append(s[i:])
                break
            out.append(s[i:j])
            if j + 1 >= n:
                out.append("$")
                break
            c = s[j + 1]
            if c == "$":
                out.append("$")
                i = j + 2
            elif c == "{":
                end = _closing_brace(s, j)
                if end < 0:
                    raise InvalidTemplate(s)
                out.append(self.braced(s[j + 2:end]))
                i = end + 1
            elif c in _NAME_START:
                k = j + 2
                while k < n and s[k] in _NAME_CHARS:
                    k += 1
                out.append(self.value(s[j + 1:k]))
                i = k
            else:
                out.append("$")
                i = j + 1
        return "".join(out)

    def value(self, name: str) -> str:
        v = self.lookup(name)
        if v is None:
            if self.unset is not None:
                self.unset.append(name)
            return ""
        return v

    def braced(self, body: str) -> str:
        if not body or body[0] not in _NAME_START:
            raise InvalidTemplate(body)
        k = 1
        while k < len(body) and body[k] in _NAME_CHARS:
            k += 1
        name, rest = body[:k], body[k:]
        if not rest:
            return self.value(name)
        colon = rest[0] == ":"
        op = rest[1:2] if colon else rest[0]
        if op not in ("-", "?", "+"):
            raise InvalidTemplate(body)
        arg = rest[2:] if colon else rest[1:]
        arg = self.run(arg)
        v = self.lookup(name)
        missing = v is None or (colon and v == "")
        if op == "-":
            return arg if missing else v  # type: ignore[return-value]
        if op == "?":
            if missing:
                raise MissingRequired(name, arg)
            return v  # type: ignore[return-value]
        return "" if missing else arg


def _closing_brace(s: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` at ``start``; every ``{`` nests (so a JSON
    default such as ``${X:-{"a":1}}`` is one body)."""
    depth = 0
    for i in range(start + 1, len(s)):
        c = s[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1
