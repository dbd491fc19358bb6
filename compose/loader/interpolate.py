"""Interpolate a compose tree: every string value (never keys) goes through
:func:`compose.loader.template.substitute`.

Errors (invalid template, missing required variable) are collected as ConfigIssues
located at the file:line:col of the value that uses the variable.  Like compose-go,
values of typed fields that came out of a substitution are converted back to their
type (``replicas: ${N}`` -> int, ``read_only: ${RO}`` -> bool; ``yes``/``on``/``n``...
accepted for booleans, as compose-go does); a value that does not convert is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from compose.errors import ConfigIssue, Pos
from compose.loader.template import TemplateError, substitute
from compose.loader.tree import CMap, CSeq, format_path


def _to_bool(s: str) -> bool:
    """compose-go's toBoolean: true/false, and the YAML 1.1 y/yes/on, n/no/off."""
    low = s.lower()
    if low in ("true", "yes", "y", "on"):
        return True
    if low in ("false", "no", "n", "off"):
        return False
    raise ValueError(f"{s!r} is not a boolean")


_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def _to_int(s: str) -> int:
    if not _INT.match(s):
        raise ValueError(f"{s!r} is not an integer")
    return int(s, 10)


def _to_float(s: str) -> float:
    if not _FLOAT.match(s):
        raise ValueError(f"{s!r} is not a number")
    return float(s)


_S = "services.*."
_CASTS: dict[str, Callable[[str], Any]] = {
    _S + "configs.[].mode": _to_int,
    _S + "secrets.[].mode": _to_int,
    _S + "cpu_count": _to_int,
    _S + "cpu_percent": _to_float,
    _S + "cpu_period": _to_int,
    _S + "cpu_quota": _to_int,
    _S + "cpu_rt_period": _to_int,
    _S + "cpu_rt_runtime": _to_int,
    _S + "cpus": _to_float,
    _S + "cpu_shares": _to_int,
    _S + "init": _to_bool,
    _S + "deploy.replicas": _to_int,
    _S + "deploy.update_config.parallelism": _to_int,
    _S + "deploy.update_config.max_failure_ratio": _to_float,
    _S + "deploy.rollback_config.parallelism": _to_int,
    _S + "deploy.rollback_config.max_failure_ratio": _to_float,
    _S + "deploy.restart_policy.max_attempts": _to_int,
    _S + "deploy.placement.max_replicas_per_node": _to_int,
    _S + "healthcheck.retries": _to_int,
    _S + "healthcheck.disable": _to_bool,
    _S + "oom_kill_disable": _to_bool,
    _S + "oom_score_adj": _to_int,
    _S + "pids_limit": _to_int,
    _S + "ports.[].target": _to_int,
    _S + "privileged": _to_bool,
    _S + "read_only": _to_bool,
    _S + "scale": _to_int,
    _S + "stdin_open": _to_bool,
    _S + "tty": _to_bool,
    _S + "ulimits.*": _to_int,
    _S + "ulimits.*.hard": _to_int,
    _S + "ulimits.*.soft": _to_int,
    _S + "volumes.[].read_only": _to_bool,
    _S + "volumes.[].volume.nocopy": _to_bool,
    _S + "depends_on.*.required": _to_bool,
    _S + "depends_on.*.restart": _to_bool,
    _S + "build.privileged": _to_bool,
    _S + "build.no_cache": _to_bool,
    _S + "build.pull": _to_bool,
    "networks.*.external": _to_bool,
    "networks.*.internal": _to_bool,
    "networks.*.attachable": _to_bool,
    "networks.*.enable_ipv4": _to_bool,
    "networks.*.enable_ipv6": _to_bool,
    "volumes.*.external": _to_bool,
    "secrets.*.external": _to_bool,
    "configs.*.external": _to_bool,
}
_WILD_AT = {"services": (1,), "networks": (1,), "volumes": (1,), "secrets": (1,),
            "configs": (1,)}


def _cast_for(path: tuple) -> Callable[[str], Any] | None:
    if not path or path[0] not in _WILD_AT:
        return None
    parts: list[str] = []
    for i, p in enumerate(path):
        if isinstance(p, int):
            parts.append("[]")
        elif i == 1:
            parts.append("*")
        else:
            parts.append(p)
    key = ".".join(parts)
    fn = _CASTS.get(key)
    if fn is None and len(path) >= 4 and path[0] == "services" and \
            path[2] in ("ulimits", "depends_on"):
        parts[3] = "*"
        fn = _CASTS.get(".".join(parts))
    return fn


class Interpolator:
    """Interpolates trees with one environment; collects issues and unset names."""

    def __init__(self, environment: Mapping[str, str], issues: list[ConfigIssue]) -> None:
        self.env = environment
        self.issues = issues
        self.unset: list[str] = []

    def tree(self, node: Any, path: tuple = ()) -> Any:
        """Interpolate ``node`` in place (containers) and return it."""
        if isinstance(node, CMap):
            for k, v in node.items():
                if isinstance(v, str):
                    if "$" in v:
                        node[k] = self.value(v, (*path, k), node.vpos.get(k))
                elif isinstance(v, (CMap, CSeq)):
                    self.tree(v, (*path, k))
        elif isinstance(node, CSeq):
            for i, v in enumerate(node):
                if isinstance(v, str):
                    if "$" in v:
                        node[i] = self.value(v, (*path, i), node.ipos[i])
                elif isinstance(v, (CMap, CSeq)):
                    self.tree(v, (*path, i))
        return node

    def value(self, text: str, path: tuple, pos: Pos | None) -> Any:
        try:
            out = substitute(text, self.env.get, self.unset)
        except TemplateError as err:
            hint = None
            if "required variable" in str(err):
                hint = "set it in the environment or in the project's .env file"
            elif "Invalid template" in str(err):
                hint = "write $$ for a literal $; variables are $NAME or ${NAME...}"
            self.issues.append(ConfigIssue(pos, format_path(path), str(err), hint))
            return text
        cast = _cast_for(path)
        if cast is not None:
            try:
                return cast(out)
            except ValueError:
                self.issues.append(ConfigIssue(
                    pos, format_path(path), f"{out!r} (from {text!r}) is not a valid value "
                    "for this field"))
        return out
