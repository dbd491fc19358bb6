"""``.dockerignore`` patterns (moby/patternmatcher semantics).

* One pattern per line; ``#`` lines and blank lines ignored; each pattern trimmed and
  cleaned like Go's ``filepath.Clean``; a leading ``/`` is dropped.
* Go ``filepath.Match`` globs: ``*`` and ``?`` never cross ``/``, ``[...]`` classes
  (``[^...]`` negates), ``\\`` escapes; plus ``**`` for any number of directories.
* ``!pattern`` re-includes; the *last* matching pattern wins; a pattern matching a
  directory matches everything below it.
* ``<Dockerfile>.dockerignore`` next to the Dockerfile wins over ``<context>/.dockerignore``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import InvalidInputError

_REGEX_SPECIAL = set(".+()|{}$^")


def clean(path: str) -> str:
    """Go's ``filepath.Clean`` for slash paths."""
    if not path:
        return "."
    rooted = path.startswith("/")
    out = posixpath.normpath(path)
    if out.startswith("//"):
        out = out[1:]
    if rooted and not out.startswith("/"):
        out = "/" + out
    return out


@dataclass(frozen=True, slots=True)
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern[str]

    def match(self, path: str) -> bool:
        return self.regex.fullmatch(path) is not None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Translate one cleaned pattern to a regular expression (as patternmatcher does)."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":
                    i += 1
                if i >= n:
                    out.append(".*")
                else:
                    out.append("(.*/)?")
            else:
                out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i < n:
                out.append(re.escape(pattern[i]))
                i += 1
            else:
                out.append("\\\\")
        elif ch == "[":
            end = i
            if end < n and pattern[end] == "^":
                end += 1
            if end < n and pattern[end] == "]":
                end += 1
            while end < n and pattern[end] != "]":
                end += 1
            if end >= n:
                raise InvalidInputError(f"syntax error in .dockerignore pattern {pattern!r}",
                                        hint="Close the character class with ].")
            body = pattern[i:end].replace("\\", "\\\\")
            out.append("[" + body + "]")
            i = end + 1
        elif ch in _REGEX_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return re.compile("".join(out), re.S)


def parse_patterns(text: str) -> list[str]:
    """Read ``.dockerignore`` text into cleaned patterns (``!`` kept as prefix)."""
    patterns: list[str] = []
    for raw in text.splitlines():
        if raw.startswith("#"):
            continue
        p = raw.strip()
        if not p:
            continue
        invert = p.startswith("!")
        if invert:
            p = p[1:].strip()
        if p:
            p = clean(p)
            if len(p) > 1 and p.startswith("/"):
                p = p[1:]
        patterns.append(("!" if invert else "") + p)
    return patterns


class Matcher:
    """Decides whether a context-relative path (slash separated) is excluded."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[Pattern] = []
        for raw in patterns:
            p = raw.strip()
            if not p:
                continue
            exclusion = p.startswith("!")
            if exclusion:
                p = p[1:]
                if not p:
                    raise InvalidInputError('illegal exclusion pattern: "!"',
                                            hint="Write !PATTERN to re-include files.")
            p = clean(p)
            if p.startswith("/") and len(p) > 1:
                p = p[1:]
            self.patterns.append(Pattern(p, exclusion, compile_pattern(p)))
        self.has_exclusions = any(p.exclusion for p in self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def excluded(self, path: str) -> bool:
        """``MatchesOrParentMatches``: the last matching pattern (or parent) decides."""
        path = clean(path)
        parent = posixpath.dirname(path) or "."
        parent_parts = parent.split("/")
        matched = False
        for pat in self.patterns:
            if pat.exclusion != matched:
                continue
            hit = pat.match(path)
            if not hit and parent != ".":
                for i in range(len(parent_parts)):
                    if pat.match("/".join(parent_parts[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pat.exclusion
        return matched

    def may_reinclude_under(self, directory: str) -> bool:
        """Could an exception pattern re-include something below excluded ``directory``?

        Lets the context walker skip whole excluded trees (e.g. ``node_modules``) unless
        an ``!`` pattern might apply inside them, as Docker's walker does.
        """
        if not self.has_exclusions:
            return False
        prefix = directory.rstrip("/") + "/"
        for pat in self.patterns:
            if not pat.exclusion:
                continue
            literal = re.split(r"[*?\[\\]", pat.text, maxsplit=1)[0]
            if "**" in pat.text or literal.startswith(prefix) or prefix.startswith(literal):
                return True
        return False


def load_matcher(context: Path, dockerfile: Path | None = None) -> Matcher:
    """The matcher for a build: ``<Dockerfile>.dockerignore`` first, then the context's."""
    candidates = []
    if dockerfile is not None:
        candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    candidates.append(context / ".dockerignore")
    for path in candidates:
        if path.is_file():
            return Matcher(parse_patterns(path.read_text(errors="replace")))
    return Matcher([])
