"""Orchestrator errors.  Extends the single hierarchy of ``runtime.errors``.

Compose-file problems are collected, not raised one by one: every check appends a
:class:`ConfigIssue` and the loader raises one :class:`ConfigError` holding all of them,
each printed as ``FILE:LINE:COL: path: message`` (plus a hint line where we have one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runtime.errors import ExitCode, InvalidInputError, NotFoundError, PycomposeError


@dataclass(frozen=True, slots=True, order=True)
class Pos:
    """A position in a compose file; line and column are 1-based."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    pos: Pos | None
    path: str            # dotted path with [i] indexes, e.g. "services.web.ports[0]"
    message: str
    hint: str | None = None

    def format(self) -> str:
        where = f"{self.pos}: " if self.pos else ""
        what = f"{self.path}: " if self.path else ""
        line = f"{where}{what}{self.message}"
        if self.hint:
            line += f"\n    hint: {self.hint}"
        return line


class ConfigError(InvalidInputError):
    """One or more problems in the compose files (all of them, sorted by position)."""

    exit_code = ExitCode.CONFIG

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.pos or Pos(""), i.path))
        count = len(self.issues)
        head = "invalid compose project"
        if count > 1:
            head += f" ({count} problems)"
        body = "\n".join(i.format() for i in self.issues)
        super().__init__(f"{head}:\n{body}")


class NoSuchService(NotFoundError):
    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        from difflib import get_close_matches

        close = get_close_matches(name, list(known), n=1)
        super().__init__(f"no such service: {name}",
                         hint=f"did you mean {close[0]!r}?" if close else None)


class ProjectError(PycomposeError):
    """An orchestration step failed (carries the service name where known)."""

    def __init__(self, message: str, *, service: str | None = None, hint: str | None = None):
        super().__init__(f"service {service!r}: {message}" if service else message, hint=hint)
        self.service = service
