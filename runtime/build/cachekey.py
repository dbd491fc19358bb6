"""Build cache keys.

A step's key is ``sha256`` of canonical JSON of:

* ``parent``: the previous step's key; for ``FROM`` the base image id (config digest),
  or the final key of the stage it names; ``scratch`` for scratch.
* the instruction kind and its *expanded* fields (so ``LABEL v=$X`` changes with X);
* for RUN the environment the command sees (ENV + in-scope ARGs), user, workdir,
  shell and network mode, since those change what it does;
* for COPY/ADD ``extra``: :func:`sources_digest` of what is copied.

What is *not* in a key, like Docker: mtimes of context files; a bare ``ARG`` line
(it changes nothing until something uses the value); what RUN downloads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable

from runtime.build import instructions as ins
from runtime.build.context import BuildContext, relative_to_source

KEY_VERSION = "pycompose-build-cache-v1"


def _canon(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def instruction_fields(inst: ins.Instruction) -> dict[str, object]:
    """The fields that define an (expanded) instruction, without its position."""
    out: dict[str, object] = {"kind": inst.keyword}
    for f in dataclasses.fields(inst):
        if f.name in ("line", "end_line", "source", "trigger"):
            continue
        value = getattr(inst, f.name)
        if f.name == "heredocs":
            value = [[h.name, h.content, h.expand, h.chomp, h.fd] for h in value]
        out[f.name] = value
    return out


def step_key(parent: str, inst: ins.Instruction, *, env: Iterable[str] = (),
             user: str = "", workdir: str = "", shell: Iterable[str] = (),
             extra: str = "") -> str:
    payload = {
        "v": KEY_VERSION,
        "parent": parent,
        "inst": instruction_fields(inst),
        "env": list(env),
        "user": user,
        "workdir": workdir,
        "shell": list(shell),
        "extra": extra,
    }
    return "sha256:" + hashlib.sha256(_canon(payload)).hexdigest()


def sources_digest(ctx: BuildContext, sources: Iterable[str], *, chmod: str | None = None,
                   chown: str | None = None) -> str:
    """Hash of every file a COPY/ADD would copy: name as it lands, type, mode, owner,
    size and content (or link target); mtime excluded.  ``chmod``/``chown`` are the
    flag texts (they override the files' own mode/owner in the result)."""
    h = hashlib.sha256()
    h.update(_canon({"chmod": chmod, "chown": chown}))
    for source in sources:
        for rel in ctx.match(source):
            entries = ctx.tree(rel)
            is_dir = bool(entries) and entries[0].kind == "d"
            h.update(_canon(["src", rel, is_dir]))
            for e in entries:
                dest = relative_to_source(e.rel, rel, is_dir)
                content = ctx.file_digest(e.rel) if e.kind == "f" else e.link
                h.update(_canon([dest, e.kind, e.mode, e.size, content]))
    return "sha256:" + h.hexdigest()
