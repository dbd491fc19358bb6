"""``--change`` instructions of ``image import`` (a Dockerfile subset, as docker import)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from runtime.errors import UsageError

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME",
             "WORKDIR")


def _argv(rest: str) -> list[str]:
    if rest.startswith("["):
        try:
            val = json.loads(rest)
        except ValueError as e:
            raise UsageError(f"invalid JSON array in --change: {rest}") from e
        if not isinstance(val, list) or not all(isinstance(x, str) for x in val):
            raise UsageError(f"--change expects a JSON array of strings: {rest}")
        return val
    return ["/bin/sh", "-c", rest]


def _pairs(rest: str) -> list[tuple[str, str]]:
    words = shlex.split(rest)
    if len(words) == 2 and "=" not in words[0]:
        return [(words[0], words[1])]
    out = []
    for w in words:
        if "=" not in w:
            raise UsageError(f"expected KEY=VALUE in --change, got {w!r}")
        k, v = w.split("=", 1)
        out.append((k, v))
    return out


def apply_changes(changes: list[str], config: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg: dict[str, Any] = dict(config or {})
    for change in changes:
        word, _, rest = change.strip().partition(" ")
        word = word.upper()
        rest = rest.strip()
        if word not in SUPPORTED:
            raise UsageError(f"unsupported --change instruction {word!r}",
                             hint="supported: " + ", ".join(SUPPORTED))
        if word in ("CMD", "ENTRYPOINT"):
            cfg["Cmd" if word == "CMD" else "Entrypoint"] = _argv(rest)
        elif word == "ENV":
            env = [e for e in cfg.get("Env", [])]
            for k, v in _pairs(rest):
                env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
            cfg["Env"] = env
        elif word == "LABEL":
            cfg.setdefault("Labels", {}).update(dict(_pairs(rest)))
        elif word == "EXPOSE":
            for p in rest.split():
                cfg.setdefault("ExposedPorts", {})[p if "/" in p else f"{p}/tcp"] = {}
        elif word == "VOLUME":
            vols = _argv(rest) if rest.startswith("[") else rest.split()
            for v in vols:
                cfg.setdefault("Volumes", {})[v] = {}
        elif word == "WORKDIR":
            cfg["WorkingDir"] = rest
        elif word == "USER":
            cfg["User"] = rest
        elif word == "STOPSIGNAL":
            cfg["StopSignal"] = rest
    return cfg
