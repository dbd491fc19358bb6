"""Typed, frozen Dockerfile instructions as the parser produces them.

Fields hold the *raw* words (quotes and ``$VAR`` still in place) for the instructions
Docker substitutes variables in; :mod:`runtime.build.expand` turns them into expanded
copies once the build's ARG/ENV values are known.  ``RUN``/``CMD``/``ENTRYPOINT``/
``SHELL``/``HEALTHCHECK`` are never substituted (the shell does it at run time).

Every instruction carries ``line`` (first physical line, 1-based), ``end_line`` and
``source`` (the logical line as written, continuations joined) for errors, history
``created_by`` text and the progress display.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A ``<<NAME`` document: ``content`` ends with a newline per line."""

    name: str
    content: str
    expand: bool = True  # False when the name was quoted (<<'EOF' / <<"EOF")
    chomp: bool = False  # <<-NAME: leading tabs stripped (already applied to content)
    fd: int | None = None  # 3<<EOF


@dataclass(frozen=True, slots=True)
class Instruction:
    line: int
    end_line: int
    source: str

    @property
    def keyword(self) -> str:
        return type(self).__name__.upper()


@dataclass(frozen=True, slots=True)
class From(Instruction):
    image: str
    stage_name: str | None = None
    platform: str | None = None


@dataclass(frozen=True, slots=True)
class Run(Instruction):
    command: tuple[str, ...]  # shell form: one string; exec form: the argv
    shell_form: bool
    mounts: tuple[str, ...] = ()
    network: str | None = None
    security: str | None = None
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True, slots=True)
class Copy(Instruction):
    sources: tuple[str, ...]
    dest: str
    from_: str | None = None
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    parents: bool = False
    exclude: tuple[str, ...] = ()
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True, slots=True)
class Add(Instruction):
    sources: tuple[str, ...]
    dest: str
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    checksum: str | None = None
    keep_git_dir: bool = False
    exclude: tuple[str, ...] = ()
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True, slots=True)
class Env(Instruction):
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Arg(Instruction):
    pairs: tuple[tuple[str, str | None], ...]  # (name, default or None)


@dataclass(frozen=True, slots=True)
class Label(Instruction):
    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Workdir(Instruction):
    path: str


@dataclass(frozen=True, slots=True)
class User(Instruction):
    user: str


@dataclass(frozen=True, slots=True)
class Expose(Instruction):
    ports: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Volume(Instruction):
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cmd(Instruction):
    command: tuple[str, ...]
    shell_form: bool


@dataclass(frozen=True, slots=True)
class Entrypoint(Instruction):
    command: tuple[str, ...]
    shell_form: bool


@dataclass(frozen=True, slots=True)
class Shell(Instruction):
    shell: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StopSignal(Instruction):
    signal: str


@dataclass(frozen=True, slots=True)
class Healthcheck(Instruction):
    """``test`` is ``("NONE",)``, ``("CMD", argv...)`` or ``("CMD-SHELL", cmd)``.

    Durations are in nanoseconds like the image config; ``None`` means "not given".
    """

    test: tuple[str, ...]
    interval: int | None = None
    timeout: int | None = None
    start_period: int | None = None
    start_interval: int | None = None
    retries: int | None = None


@dataclass(frozen=True, slots=True)
class Onbuild(Instruction):
    expression: str  # the trigger text as stored in the image config's OnBuild list
    trigger: Instruction = field(compare=False)


@dataclass(frozen=True, slots=True)
class Maintainer(Instruction):
    name: str


@dataclass(frozen=True, slots=True)
class Stage:
    index: int
    name: str | None
    from_: From
    instructions: tuple[Instruction, ...]


@dataclass(frozen=True, slots=True)
class Dockerfile:
    filename: str
    directives: tuple[tuple[str, str], ...]
    escape: str
    meta_args: tuple[Arg, ...]  # ARGs before the first FROM
    stages: tuple[Stage, ...]

    def stage(self, name_or_index: str) -> Stage | None:
        """Find a stage by name (case-insensitive, as Docker) or numeric index."""
        for st in self.stages:
            if st.name is not None and st.name == name_or_index.lower():
                return st
        if name_or_index.isdigit() and int(name_or_index) < len(self.stages):
            return self.stages[int(name_or_index)]
        return None
