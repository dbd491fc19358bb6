"""Dockerfile parser (hand-written; follows BuildKit's ``frontend/dockerfile/parser``).

Handles parser directives (``# syntax=``, ``# escape=``, ``# check=``) at the top of
the file, comments (also inside continuations), line continuations with the escape
character, empty continuation lines, heredocs for RUN/COPY/ADD (several per line,
``<<-`` tab stripping, quoted names disable expansion), JSON vs shell forms, flags
(``--from=``, ``--chown=``, ...), and the split into stages with the ARGs before the
first ``FROM`` kept apart.  Errors are ``InvalidInputError("Dockerfile:LINE: ...")``.

Why not dockerfile-parse: it misparses heredocs (see docs/architecture.md, Build) and
a builder needs JSON-form and flag details it does not give; it is used only as a test
oracle for the plain cases.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from runtime.build import instructions as ins
from runtime.build.shellwords import split_words
from runtime.errors import InvalidInputError

_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")
_HEREDOC = re.compile(r"^(\d*)<<(-?)(.*)$")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}

# instruction -> {flag: kind}; kind "str" (one value), "list" (repeatable), "bool"
_FLAGS: dict[str, dict[str, str]] = {
    "from": {"platform": "str"},
    "run": {"mount": "list", "network": "str", "security": "str"},
    "copy": {"from": "str", "chown": "str", "chmod": "str", "link": "bool", "parents": "bool",
             "exclude": "list"},
    "add": {"chown": "str", "chmod": "str", "link": "bool", "checksum": "str",
            "keep-git-dir": "bool", "exclude": "list"},
    "healthcheck": {"interval": "str", "timeout": "str", "start-period": "str",
                    "start-interval": "str", "retries": "str"},
}
_KNOWN = {"from", "run", "copy", "add", "env", "arg", "label", "workdir", "user", "expose",
          "volume", "cmd", "entrypoint", "shell", "stopsignal", "healthcheck", "onbuild",
          "maintainer"}
_HEREDOC_CAPABLE = {"run", "copy", "add"}


@dataclass
class _Logical:
    line: int
    end_line: int
    text: str
    heredocs: tuple[ins.Heredoc, ...] = ()


class _Errors:
    def __init__(self, filename: str) -> None:
        self.filename = filename

    def __call__(self, line: int, message: str, hint: str | None = None) -> InvalidInputError:
        return InvalidInputError(f"{self.filename}:{line}: {message}", hint=hint)


def parse_dockerfile(text: str, filename: str = "Dockerfile") -> ins.Dockerfile:
    """Parse Dockerfile ``text``; ``filename`` is used in error messages."""
    err = _Errors(filename)
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [ln.removesuffix("\r") for ln in lines]

    directives, escape, first = _directives(lines, err)
    logicals = _logical_lines(lines, first, escape, err)
    instrs = [_instruction(lg, escape, err) for lg in logicals]
    if not instrs:
        raise err(1, "the Dockerfile has no instructions",
                  hint="Start it with FROM <image> (or FROM scratch).")
    meta: list[ins.Arg] = []
    stages: list[ins.Stage] = []
    cur_from: ins.From | None = None
    cur: list[ins.Instruction] = []
    for inst in instrs:
        if isinstance(inst, ins.From):
            if cur_from is not None:
                stages.append(_stage(len(stages), cur_from, cur))
            cur_from, cur = inst, []
        elif cur_from is None:
            if isinstance(inst, ins.Arg):
                meta.append(inst)
            else:
                raise err(inst.line, f"{inst.keyword} before the first FROM: only ARG may "
                                     "come before FROM",
                          hint="Move this instruction after a FROM line.")
        else:
            cur.append(inst)
    if cur_from is None:
        raise err(instrs[-1].line, "no FROM instruction",
                  hint="Start the build stage with FROM <image> (or FROM scratch).")
    stages.append(_stage(len(stages), cur_from, cur))
    seen: dict[str, int] = {}
    for st in stages:
        if st.name is None:
            continue
        if st.name in seen:
            raise err(st.from_.line, f"duplicate stage name {st.name!r} "
                                     f"(first used on line {seen[st.name]})",
                      hint="Give every stage a different name after AS.")
        seen[st.name] = st.from_.line
    return ins.Dockerfile(filename, tuple(directives.items()), escape, tuple(meta),
                          tuple(stages))


def _stage(index: int, from_: ins.From, body: list[ins.Instruction]) -> ins.Stage:
    return ins.Stage(index, from_.stage_name, from_, tuple(body))


# -- lines -----------------------------------------------------------------------------

def _directives(lines: list[str], err: _Errors) -> tuple[dict[str, str], str, int]:
    found: dict[str, str] = {}
    i = 0
    for i, raw in enumerate(lines):
        m = _DIRECTIVE.match(raw.strip())
        if not m:
            break
        key, value = m.group(1).lower(), m.group(2)
        if key in ("syntax", "escape", "check"):
            if key in found:
                raise err(i + 1, f"only one {key} parser directive can be used")
            found[key] = value
    else:
        i = len(lines)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise err(1, f"invalid escape token {escape!r}", hint="Use '\\' or '`'.")
    return found, escape, i


def _is_comment(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


def _trim_continuation(line: str, escape: str) -> tuple[str, bool]:
    stripped = line.rstrip(" \t")
    if stripped.endswith(escape):
        return stripped[:-1], False
    return line, True


def _logical_lines(lines: list[str], start: int, escape: str, err: _Errors) -> list[_Logical]:
    out: list[_Logical] = []
    i = start
    n = len(lines)
    while i < n:
        raw = lines[i]
        i += 1
        if _is_comment(raw) or not raw.strip():
            continue
        first = i
        text, done = _trim_continuation(raw.lstrip(" \t"), escape)
        while not done and i < n:
            nxt = lines[i]
            i += 1
            if _is_comment(nxt) or not nxt.strip():
                continue  # comments and empty lines inside a continuation are dropped
            part, done = _trim_continuation(nxt, escape)
            text += part
        logical = _Logical(first, i, text)
        keyword = text.strip().split(None, 1)[0].lower() if text.strip() else ""
        if keyword in _HEREDOC_CAPABLE and "<<" in text:
            docs = []
            for fd, chomp, name, expand in _heredoc_markers(text, escape):
                body: list[str] = []
                terminated = False
                while i < n:
                    line = lines[i]
                    i += 1
                    candidate = line.lstrip("\t") if chomp else line
                    if candidate == name:
                        terminated = True
                        break
                    body.append(candidate + "\n")
                if not terminated:
                    raise err(first, f"unterminated heredoc <<{name}",
                              hint=f"End the document with a line containing only {name}.")
                docs.append(ins.Heredoc(name, "".join(body), expand, chomp, fd))
            logical.heredocs = tuple(docs)
            logical.end_line = i
        out.append(logical)
    return out


def _heredoc_markers(text: str, escape: str) -> list[tuple[int | None, bool, str, bool]]:
    markers = []
    for word in split_words(text, escape):
        m = _HEREDOC.match(word)
        if not m or not m.group(3):
            continue
        fd = int(m.group(1)) if m.group(1) else None
        raw_name = m.group(3)
        name = _unquote(raw_name, escape)
        if not name or "\n" in name:
            continue
        markers.append((fd, m.group(2) == "-", name, name == raw_name))
    return markers


def _unquote(word: str, escape: str) -> str:
    out = []
    quote = ""
    i = 0
    while i < len(word):
        ch = word[i]
        if quote:
            if ch == quote:
                quote = ""
            else:
                out.append(ch)
        elif ch in ("'", '"'):
            quote = ch
        elif ch == escape and i + 1 < len(word):
            i += 1
            out.append(word[i])
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# -- instructions ----------------------------------------------------------------------

def _split_flags(rest: str, escape: str) -> tuple[list[str], str]:
    """Take the leading ``--flag[=value]`` words off ``rest`` (quote-aware)."""
    flags: list[str] = []
    pos = 0
    while True:
        while pos < len(rest) and rest[pos] in " \t":
            pos += 1
        if not rest.startswith("--", pos):
            break
        end = pos
        quote = ""
        word: list[str] = []
        while end < len(rest):
            ch = rest[end]
            if quote:
                if ch == quote:
                    quote = ""
                else:
                    word.append(ch)
            elif ch in " \t":
                break
            elif ch in ("'", '"'):
                quote = ch
            elif ch == escape and end + 1 < len(rest):
                end += 1
                word.append(rest[end])
            else:
                word.append(ch)
            end += 1
        token = "".join(word)
        pos = end
        if token == "--":
            break
        flags.append(token)
    return flags, rest[pos:].lstrip(" \t")


def _parse_flags(kw: str, words: list[str], line: int, err: _Errors) -> dict[str, object]:
    spec = _FLAGS.get(kw, {})
    values: dict[str, object] = {}
    for word in words:
        name, eq, value = word[2:].partition("=")
        kind = spec.get(name)
        if kind is None:
            allowed = ", ".join(f"--{f}" for f in spec) or "none"
            raise err(line, f"unknown flag: --{name} for {kw.upper()}",
                      hint=f"{kw.upper()} accepts: {allowed}.")
        if kind == "bool":
            if eq and value.lower() not in ("true", "false"):
                raise err(line, f"expecting boolean value for flag --{name}, not: {value}")
            values[name] = (not eq) or value.lower() == "true"
        elif not eq:
            raise err(line, f"missing a value on flag: --{name}", hint=f"Write --{name}=VALUE.")
        elif kind == "list":
            values.setdefault(name, [])
            values[name].append(value)  # type: ignore[union-attr]
        else:
            if name in values:
                raise err(line, f"duplicate flag specified: --{name}")
            values[name] = value
    return values


def _maybe_json(rest: str) -> tuple[tuple[str, ...], bool]:
    """(words, shell_form).  A string that is not a JSON array of strings is shell form."""
    stripped = rest.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value), False
    return (stripped,), True


def _maybe_json_list(rest: str) -> tuple[str, ...]:
    words, shell = _maybe_json(rest)
    if shell:
        return tuple(rest.split())
    return words


def _name_values(kw: str, rest: str, escape: str, line: int, err: _Errors,
                 allow_bare: bool = False) -> tuple[tuple[str, str | None], ...]:
    words = split_words(rest, escape)
    if not words:
        raise err(line, f"{kw.upper()} requires at least one argument")
    if not allow_bare and "=" not in words[0]:
        # legacy form: ENV key value with spaces
        parts = rest.strip().split(None, 1)
        if len(parts) < 2:
            raise err(line, f"{kw.upper()} must have two arguments",
                      hint=f"Write {kw.upper()} NAME=VALUE.")
        return ((parts[0], parts[1].strip()),)
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, eq, value = word.partition("=")
        if not eq:
            if allow_bare:
                pairs.append((name, None))
                continue
            raise err(line, f"syntax error - can't find = in {word!r}. Must be of the form: "
                            "name=value")
        if not name:
            raise err(line, f"{kw.upper()} names can not be blank")
        pairs.append((name, value))
    return tuple(pairs)


def _duration(value: str, flag: str, line: int, err: _Errors) -> int:
    if value == "0":
        return 0
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(value) or not value:
        raise err(line, f"invalid duration {value!r} for --{flag}",
                  hint="Use Go duration syntax, e.g. 30s, 1m30s, 500ms.")
    return int(total)


def _instruction(lg: _Logical, escape: str, err: _Errors,
                 onbuild: bool = False) -> ins.Instruction:
    stripped = lg.text.strip()
    parts = stripped.split(None, 1)
    kw = parts[0].lower()
    rest = parts[1] if len(parts) > 1 else ""
    line = lg.line
    base = (lg.line, lg.end_line, stripped)
    if kw not in _KNOWN:
        raise err(line, f"unknown instruction: {parts[0].upper()}",
                  hint="Instructions are FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, "
                       "EXPOSE, VOLUME, LABEL, CMD, ENTRYPOINT, SHELL, STOPSIGNAL, "
                       "HEALTHCHECK, ONBUILD.")
    flag_words, rest = _split_flags(rest, escape) if kw in _FLAGS else ([], rest)
    flags = _parse_flags(kw, flag_words, line, err)

    def need_args() -> None:
        if not rest.strip():
            raise err(line, f"{kw.upper()} requires at least one argument")

    if kw == "from":
        words = rest.split()
        if len(words) == 1:
            return ins.From(*base, image=words[0], platform=flags.get("platform"))  # type: ignore[arg-type]
        if len(words) == 3 and words[1].lower() == "as":
            name = words[2].lower()
            if not re.fullmatch(r"[a-z][a-z0-9._-]*", name):
                raise err(line, f"invalid name for build stage: {words[2]!r}, name can't "
                                "start with a number or contain symbols")
            return ins.From(*base, image=words[0], stage_name=name,
                            platform=flags.get("platform"))  # type: ignore[arg-type]
        raise err(line, "FROM requires either one or three arguments",
                  hint="Write FROM IMAGE or FROM IMAGE AS NAME.")
    if kw == "run":
        need_args()
        command, shell_form = _maybe_json(rest)
        return ins.Run(*base, command=command, shell_form=shell_form,
                       mounts=tuple(flags.get("mount", ())),  # type: ignore[arg-type]
                       network=flags.get("network"),  # type: ignore[arg-type]
                       security=flags.get("security"),  # type: ignore[arg-type]
                       heredocs=lg.heredocs)
    if kw in ("copy", "add"):
        need_args()
        words = _maybe_json_list(rest)
        if len(words) < 2 and not (lg.heredocs and len(words) == 1):
            raise err(line, f"{kw.upper()} requires at least two arguments, but only one "
                            "was provided. Destination could not be determined",
                      hint=f"Write {kw.upper()} SRC... DEST.")
        heredoc_names = {f"<<{'-' if h.chomp else ''}{h.name}" for h in lg.heredocs}
        srcs = tuple(w for w in words[:-1])
        if lg.heredocs:
            # a heredoc source word stands for the document (by name); keep "<<NAME"
            srcs = tuple(w if _unquote(w, escape) not in heredoc_names else
                         "<<" + _heredoc_name(w, escape) for w in srcs)
        common = dict(sources=srcs, dest=words[-1], chown=flags.get("chown"),
                      chmod=flags.get("chmod"), link=bool(flags.get("link", False)),
                      exclude=tuple(flags.get("exclude", ())),  # type: ignore[arg-type]
                      heredocs=lg.heredocs)
        if kw == "copy":
            return ins.Copy(*base, from_=flags.get("from"),  # type: ignore[arg-type]
                            parents=bool(flags.get("parents", False)), **common)  # type: ignore[arg-type]
        return ins.Add(*base, checksum=flags.get("checksum"),  # type: ignore[arg-type]
                       keep_git_dir=bool(flags.get("keep-git-dir", False)), **common)  # type: ignore[arg-type]
    if kw == "env":
        need_args()
        return ins.Env(*base, pairs=_name_values(kw, rest, escape, line, err))  # type: ignore[arg-type]
    if kw == "label":
        need_args()
        return ins.Label(*base, pairs=_name_values(kw, rest, escape, line, err))  # type: ignore[arg-type]
    if kw == "arg":
        need_args()
        return ins.Arg(*base, pairs=_name_values(kw, rest, escape, line, err, allow_bare=True))
    if kw in ("workdir", "user", "stopsignal", "maintainer"):
        need_args()
        value = rest.strip()
        if kw == "workdir":
            return ins.Workdir(*base, path=value)
        if kw == "user":
            return ins.User(*base, user=value)
        if kw == "stopsignal":
            return ins.StopSignal(*base, signal=value)
        return ins.Maintainer(*base, name=value)
    if kw == "expose":
        need_args()
        return ins.Expose(*base, ports=tuple(rest.split()))
    if kw == "volume":
        need_args()
        paths = _maybe_json_list(rest)
        if not paths or any(not p.strip() for p in paths):
            raise err(line, "VOLUME specified can not be an empty string")
        return ins.Volume(*base, paths=paths)
    if kw in ("cmd", "entrypoint", "shell"):
        command, shell_form = _maybe_json(rest)
        if kw == "shell":
            if shell_form or not command:
                raise err(line, "SHELL requires the arguments to be in JSON form",
                          hint='Write SHELL ["/bin/bash", "-c"].')
            return ins.Shell(*base, shell=command)
        if shell_form and command == ("",):
            command = ()
        cls = ins.Cmd if kw == "cmd" else ins.Entrypoint
        return cls(*base, command=command, shell_form=shell_form)
    if kw == "healthcheck":
        return _healthcheck(base, flags, rest, line, err)
    # onbuild
    if onbuild:
        raise err(line, "ONBUILD ONBUILD is not allowed")
    need_args()
    inner_kw = rest.split(None, 1)[0].lower()
    if inner_kw in ("onbuild", "from", "maintainer"):
        raise err(line, f"{inner_kw.upper()} isn't allowed as an ONBUILD trigger")
    trigger = _instruction(_Logical(lg.line, lg.end_line, rest, lg.heredocs), escape, err,
                           onbuild=True)
    return ins.Onbuild(*base, expression=rest.strip(), trigger=trigger)


def _heredoc_name(word: str, escape: str) -> str:
    m = _HEREDOC.match(word)
    return _unquote(m.group(3), escape) if m else word


def _healthcheck(base: tuple[int, int, str], flags: dict[str, object], rest: str, line: int,
                 err: _Errors) -> ins.Healthcheck:
    parts = rest.strip().split(None, 1)
    if not parts:
        raise err(line, "HEALTHCHECK requires an argument", hint="Write HEALTHCHECK CMD ... "
                  "or HEALTHCHECK NONE.")
    kind = parts[0].upper()
    if kind == "NONE":
        if len(parts) > 1 or flags:
            raise err(line, "HEALTHCHECK NONE takes no arguments")
        return ins.Healthcheck(*base, test=("NONE",))
    if kind != "CMD":
        raise err(line, f"unknown type {parts[0]!r} in HEALTHCHECK (try CMD)")
    if len(parts) < 2:
        raise err(line, "missing command after HEALTHCHECK CMD")
    command, shell_form = _maybe_json(parts[1])
    test = ("CMD-SHELL", command[0]) if shell_form else ("CMD", *command)
    durations = {}
    for flag in ("interval", "timeout", "start-period", "start-interval"):
        if flag in flags:
            value = _duration(str(flags[flag]), flag, line, err)
            if 0 < value < 1_000_000:
                raise err(line, f"--{flag} cannot be less than 1ms")
            durations[flag.replace("-", "_")] = value
    retries = None
    if "retries" in flags:
        try:
            retries = int(str(flags["retries"]))
        except ValueError:
            raise err(line, f"invalid --retries value {flags['retries']!r}") from None
        if retries < 0:
            raise err(line, "--retries cannot be negative")
    return ins.Healthcheck(*base, test=test, retries=retries, **durations)
