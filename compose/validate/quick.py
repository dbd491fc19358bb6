"""``config -q`` without loading anything when nothing changed.

A successful ``config -q`` records every input it depended on: the options, the
working directory, the process environment, the bytes (sha256) of every file that was
read (compose files, extended files, ``.env``/``--env-file``, services' ``env_file``;
files that were looked for but absent are recorded as absent, so creating one later
counts as a change), and the pycompose code that validated them (the mtimes of the
loader/model/validate modules and the schema).  The next identical ``config -q``
re-hashes those files and, if all match, prints the recorded warnings and succeeds
without importing the YAML reader, the loader or the model: the answer cannot differ.

Projects using ``include`` are never recorded (an included project's own ``.env`` is
an input we cannot see from here).  Only successes are recorded.  Disabled by
``PYCOMPOSE_NO_CACHE=1``; lives next to the schema cache (see
:mod:`compose.validate.cache`).  This module must stay cheap to import.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_PKG = Path(__file__).resolve().parent.parent
_CODE_DIRS = ("loader", "model", "validate")
_VOLATILE_ENV = {"_", "OLDPWD", "SHLVL", "PS1", "PS2", "COLUMNS", "LINES", "TERM",
                 "PYTHONPROFILEIMPORTTIME"}
DISCOVERY_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
                   "compose.override.yml", "compose.override.yaml",
                   "docker-compose.override.yml", "docker-compose.override.yaml")


def _dir() -> Path | None:
    if os.environ.get("PYCOMPOSE_NO_CACHE"):
        return None
    explicit = os.environ.get("PYCOMPOSE_CACHE_DIR")
    if explicit:
        return Path(explicit) / "config-q"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pycompose" / "config-q"


def _code_stamp() -> list[Any]:
    stamp: list[Any] = []
    for sub in _CODE_DIRS:
        with os.scandir(_PKG / sub) as it:
            stamp += sorted((e.name, e.stat().st_mtime_ns) for e in it if e.name.endswith(".py"))
    schema = _PKG.parent / "schemas" / "compose-spec.json"
    stamp.append(os.stat(schema).st_mtime_ns if schema.exists() else 0)
    stamp.append(os.stat(_PKG / "project_loader.py").st_mtime_ns)
    return stamp


def key_for(options: dict[str, Any]) -> str | None:
    """The cache key of one ``config -q`` invocation (None: caching disabled)."""
    if _dir() is None:
        return None
    env = sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE_ENV)
    blob = json.dumps([options, os.getcwd(), env, _code_stamp()], sort_keys=True,
                      default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None
    except OSError:
        return "unreadable"


def lookup(key: str | None) -> list[str] | None:
    """The recorded warnings if every recorded input is unchanged, else None."""
    d = _dir()
    if key is None or d is None:
        return None
    try:
        entry = json.loads((d / key).read_text())
    except (OSError, ValueError):
        return None
    for path, digest in entry.get("files", {}).items():
        if _digest(path) != digest:
            return None
    return list(entry.get("warnings", []))


def record(key: str | None, files: Iterable[str], warnings: Iterable[str]) -> None:
    d = _dir()
    if key is None or d is None:
        return
    digests = {}
    for f in sorted(set(files)):
        digest = _digest(f)
        if digest is not None and digest != "unreadable":
            try:
                with open(f, "rb") as fh:
                    if b"\ninclude:" in b"\n" + fh.read():
                        return  # see the module docstring
            except OSError:
                return
        digests[f] = digest
    try:
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / f".{key}.{os.getpid()}"
        tmp.write_text(json.dumps({"files": digests, "warnings": list(warnings)}))
        os.replace(tmp, d / key)
    except OSError:
        pass


def inputs_of(loaded: Any, project: Any, *, explicit_files: bool) -> set[str]:
    """Every file the load of ``loaded``/``project`` depended on (see module doc)."""
    files: set[str] = set()
    for f in loaded.files:
        if f == "-":
            raise ValueError("stdin")  # nothing to compare next time: do not record
        files.add(os.path.abspath(f))
    positions = loaded.positions
    for path in positions:
        p = positions.get(path)
        if p is not None and p.file:
            files.add(os.path.abspath(p.file))
    project_dir = str(loaded.project_dir)
    files.add(os.path.join(project_dir, ".env"))
    for name in os.environ.get("COMPOSE_ENV_FILES", "").split(","):
        if name:
            files.add(os.path.abspath(name))
    if not explicit_files and loaded.files:
        # discovery: any new candidate file between cwd and the project dir matters
        d = Path(os.getcwd()).resolve()
        top = Path(os.path.dirname(os.path.abspath(loaded.files[0]))).resolve()
        while True:
            files.update(str(d / n) for n in DISCOVERY_NAMES)
            if d == top or d.parent == d:
                break
            d = d.parent
    for svc in (*project.services.values(), *project.disabled_services.values()):
        files.update(ef.path for ef in svc.env_file)
        files.update(f for f in svc.label_file if f)
    return files
