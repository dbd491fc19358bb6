"""Docker's word processing: variable substitution, quote and escape removal.

This mirrors BuildKit's ``frontend/dockerfile/shell`` lexer, which is *not* a POSIX
shell: it knows ``$VAR``, ``${VAR}``, ``${VAR:-x}``, ``${VAR-x}``, ``${VAR:+x}``,
``${VAR+x}``, ``${VAR:?msg}``, ``${VAR?msg}``, ``${VAR#pat}``/``##``/``%``/``%%``
and nothing else (no command substitution, no arithmetic).  Quotes are removed:
single quotes keep everything literal, double quotes still expand ``$``.  The escape
character (``\\`` or the ``# escape=`` one) makes the next character literal outside
quotes; inside double quotes only ``"``, ``$`` and the escape character itself can be
escaped, other escapes stay as they are.

An unset variable expands to the empty string, like Docker.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping

from runtime.errors import InvalidInputError

Lookup = Callable[[str], "str | None"]


class ExpansionError(InvalidInputError):
    """A word could not be processed (unterminated quote, bad ``${...}``)."""


def _lookup_from(env: Mapping[str, str] | Lookup) -> Lookup:
    if callable(env):
        return env
    return env.get


class _Lexer:
    def __init__(self, text: str, lookup: Lookup, escape: str, split: bool) -> None:
        self.text = text
        self.pos = 0
        self.lookup = lookup
        self.escape = escape
        self.split = split  # ProcessWords mode: unquoted whitespace separates words
        self.words: list[str] = []
        self.cur: list[str] = []
        self.in_word = False

    # -- scanner ---------------------------------------------------------------------
    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        ch = self.peek()
        self.pos += 1
        return ch

    # -- word accumulation (ProcessWords splits, ProcessWord does not) ----------------
    def add_char(self, ch: str) -> None:
        """An unquoted character: whitespace separates words in split mode."""
        if self.split and ch in " \t\r\n":
            if self.in_word:
                self.words.append("".join(self.cur))
                self.cur = []
                self.in_word = False
            return
        self.cur.append(ch)
        self.in_word = True

    def add_raw(self, s: str) -> None:
        """Quoted text: never splits, and marks a word even when empty (``""``)."""
        self.cur.append(s)
        self.in_word = True

    def add_expanded(self, s: str) -> None:
        for ch in s:
            self.add_char(ch)

    # -- processing ------------------------------------------------------------------
    def run(self) -> list[str]:
        while self.pos < len(self.text):
            ch = self.peek()
            if ch == "'":
                self.add_raw(self.single_quote())
            elif ch == '"':
                self.add_raw(self.double_quote())
            elif ch == "$":
                self.add_expanded(self.dollar())
            elif ch == self.escape:
                self.next()
                if self.pos >= len(self.text):
                    continue  # a trailing escape is dropped
                self.add_raw(self.next())
            else:
                self.add_char(self.next())
        if self.in_word or not self.split:
            self.words.append("".join(self.cur))
        return self.words

    def process_until(self, stop: str) -> str:
        """Process (with expansion) until the unescaped, unquoted ``stop`` character."""
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise ExpansionError(f"unexpected end of statement while looking for "
                                     f"matching {stop}")
            ch = self.peek()
            if ch == stop:
                self.next()
                return "".join(out)
            if ch == "'":
                out.append(self.single_quote())
            elif ch == '"':
                out.append(self.double_quote())
            elif ch == "$":
                out.append(self.dollar())
            elif ch == self.escape:
                self.next()
                if self.pos < len(self.text):
                    out.append(self.next())
            else:
                out.append(self.next())

    def single_quote(self) -> str:
        self.next()
        end = self.text.find("'", self.pos)
        if end < 0:
            raise ExpansionError("unexpected end of statement while looking for matching "
                                 "single-quote")
        value = self.text[self.pos:end]
        self.pos = end + 1
        return value

    def double_quote(self) -> str:
        self.next()
        out: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise ExpansionError("unexpected end of statement while looking for "
                                     "matching double-quote")
            ch = self.peek()
            if ch == '"':
                self.next()
                return "".join(out)
            if ch == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == self.escape:
                nxt = self.peek()
                if nxt == "":
                    continue
                if nxt in ('"', "$", self.escape):
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        start = self.pos
        if self.peek().isdigit():
            self.next()  # positional parameters are one digit, like sh
            return self.text[start:self.pos]
        while self.pos < len(self.text) and (self.text[self.pos].isalnum()
                                             or self.text[self.pos] == "_"):
            self.pos += 1
        return self.text[start:self.pos]

    def dollar(self) -> str:
        self.next()  # the $
        ch = self.peek()
        if ch != "{":
            name = self.name()
            if not name:
                return "$"
            return self.lookup(name) or ""
        self.next()  # {
        name = self.name()
        if not name:
            raise ExpansionError(f"bad substitution in {self.text!r}: missing variable name",
                                 hint="Write ${NAME}, ${NAME:-default} or ${NAME:+alt}.")
        ch = self.peek()
        if ch == "}":
            self.next()
            return self.lookup(name) or ""
        if ch == "":
            raise ExpansionError(f"unexpected end of statement while looking for matching }} "
                                 f"in {self.text!r}")
        colon = False
        if ch == ":":
            colon = True
            self.next()
            ch = self.peek()
        if ch in ("-", "+", "?"):
            self.next()
            word = self.process_until("}")
            value = self.lookup(name)
            is_set = value is not None and (value != "" or not colon)
            if ch == "-":
                return value if is_set else word  # type: ignore[return-value]
            if ch == "+":
                return word if is_set else ""
            if not is_set:
                raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            return value  # type: ignore[return-value]
        if not colon and ch in ("#", "%"):
            self.next()
            longest = self.peek() == ch
            if longest:
                self.next()
            pattern = self.process_until("}")
            value = self.lookup(name) or ""
            return _remove_affix(value, pattern, prefix=ch == "#", longest=longest)
        raise ExpansionError(f"unsupported modifier ({ch or 'end'}) in substitution of "
                             f"{name!r}",
                             hint="Supported: ${VAR}, ${VAR:-x}, ${VAR-x}, ${VAR:+x}, "
                                  "${VAR+x}, ${VAR:?msg}, ${VAR#p}, ${VAR%p}.")


def _remove_affix(value: str, pattern: str, *, prefix: bool, longest: bool) -> str:
    regex = re.compile(fnmatch.translate(pattern).removeprefix("(?s:").removesuffix(")\\Z"),
                       re.S)
    candidates = range(len(value), -1, -1) if longest else range(len(value) + 1)
    for n in candidates:
        part = value[:n] if prefix else value[len(value) - n:]
        if regex.fullmatch(part):
            return value[n:] if prefix else value[:len(value) - n]
    return value


def expand_word(word: str, env: Mapping[str, str] | Lookup, escape: str = "\\") -> str:
    """BuildKit's ``ProcessWord``: one word in, one string out (quotes removed)."""
    return _Lexer(word, _lookup_from(env), escape, split=False).run()[0]


def expand_words(text: str, env: Mapping[str, str] | Lookup, escape: str = "\\") -> list[str]:
    """BuildKit's ``ProcessWords``: expand and split on unquoted whitespace."""
    return _Lexer(text, _lookup_from(env), escape, split=True).run()


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Split on unquoted whitespace *keeping* quotes and escapes (parser's ``parseWords``).

    Used for ``ENV``/``LABEL``/``ARG`` key=value lists: the values are expanded (and
    unquoted) later, once the variables are known.
    """
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if not quote and ch in " \t\r\n":
            if cur:
                words.append("".join(cur))
                cur = []
            i += 1
            continue
        cur.append(ch)
        if ch == escape and quote != "'" and i + 1 < len(text):
            cur.append(text[i + 1])
            i += 2
            continue
        if quote and ch == quote:
            quote = ""
        elif not quote and ch in ("'", '"'):
            quote = ch
        i += 1
    if cur:
        words.append("".join(cur))
    return words
