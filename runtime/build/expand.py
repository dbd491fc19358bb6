"""Variable substitution in the instructions Docker substitutes in.

ADD, COPY, ENV, ARG, LABEL, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL, FROM (with the
global ARGs only; the caller passes that lookup).  RUN, CMD, ENTRYPOINT, SHELL,
HEALTHCHECK and ONBUILD are returned unchanged.  All pairs of one ENV/ARG/LABEL line see
the values from *before* the line (``ENV a=1 b=$a`` gives ``b`` the old ``a``), as Docker.
"""

from __future__ import annotations

import dataclasses

from runtime.build import instructions as ins
from runtime.build.shellwords import ExpansionError, Lookup, expand_word, expand_words
from runtime.errors import InvalidInputError


def expand_instruction(inst: ins.Instruction, lookup: Lookup, escape: str = "\\",
                       filename: str = "Dockerfile") -> ins.Instruction:
    """Return a copy of ``inst`` with variables substituted (errors name the line)."""
    try:
        return _expand(inst, lookup, escape)
    except ExpansionError as e:
        raise InvalidInputError(f"{filename}:{inst.line}: {e.message}", hint=e.hint) from None


def _expand(inst: ins.Instruction, lookup: Lookup, escape: str) -> ins.Instruction:
    def w(word: str) -> str:
        return expand_word(word, lookup, escape)

    def opt(word: str | None) -> str | None:
        return None if word is None else w(word)

    rep = dataclasses.replace
    if isinstance(inst, ins.From):
        return rep(inst, image=w(inst.image), platform=opt(inst.platform))
    if isinstance(inst, ins.Copy | ins.Add):
        srcs = tuple(s if s.startswith("<<") and inst.heredocs else w(s) for s in inst.sources)
        fields = dict(sources=srcs, dest=w(inst.dest), chown=opt(inst.chown),
                      chmod=opt(inst.chmod), exclude=tuple(w(e) for e in inst.exclude))
        if isinstance(inst, ins.Copy):
            fields["from_"] = opt(inst.from_)
        else:
            fields["checksum"] = opt(inst.checksum)
        return rep(inst, **fields)
    if isinstance(inst, ins.Env | ins.Label):
        return rep(inst, pairs=tuple((w(k), w(v)) for k, v in inst.pairs))
    if isinstance(inst, ins.Arg):
        return rep(inst, pairs=tuple((w(k), opt(v)) for k, v in inst.pairs))
    if isinstance(inst, ins.Workdir):
        return rep(inst, path=w(inst.path))
    if isinstance(inst, ins.User):
        return rep(inst, user=w(inst.user))
    if isinstance(inst, ins.StopSignal):
        return rep(inst, signal=w(inst.signal))
    if isinstance(inst, ins.Expose):
        ports: list[str] = []
        for p in inst.ports:
            ports.extend(expand_words(p, lookup, escape))
        return rep(inst, ports=tuple(ports))
    if isinstance(inst, ins.Volume):
        return rep(inst, paths=tuple(w(p) for p in inst.paths))
    return inst


def expand_heredoc(doc: ins.Heredoc, lookup: Lookup, escape: str = "\\") -> str:
    """The content of a COPY/ADD heredoc: expanded unless its name was quoted.

    Only ``$``-substitution applies; quotes in the body are kept (it is a file's text).
    """
    if not doc.expand:
        return doc.content
    out: list[str] = []
    text = doc.content
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == escape and i + 1 < len(text) and text[i + 1] in ("$", escape):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == "$":
            j = i + 1
            if j < len(text) and text[j] == "{":
                end = text.find("}", j)
                if end < 0:
                    out.append(text[i:])
                    break
                out.append(expand_word(text[i:end + 1], lookup, escape))
                i = end + 1
                continue
            k = j
            while k < len(text) and (text[k].isalnum() or text[k] == "_"):
                k += 1
            if k > j:
                out.append(lookup(text[j:k]) or "")
                i = k
                continue
        out.append(ch)
        i += 1
    return "".join(out)
