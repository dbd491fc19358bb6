"""Remember which merged trees already passed the JSON Schema.

Importing jsonschema and validating costs far more than the rest of ``config -q`` on an
unchanged project.  The key is the sha256 of the merged, interpolated tree (so a
changed file, a changed variable or a changed ``.env`` all give a new key) together
with the schema's own bytes.  Only successes are cached (an empty marker file), so a
cached entry can never hide an error.  The cache lives in ``$PYCOMPOSE_CACHE_DIR`` or
``$XDG_CACHE_HOME/pycompose/schema-ok`` (``~/.cache/...``); if it cannot be written
it is silently skipped.  ``PYCOMPOSE_NO_CACHE=1`` disables it.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from compose.validate.schema import SCHEMA_FILE


def cache_dir() -> Path | None:
    if os.environ.get("PYCOMPOSE_NO_CACHE"):
        return None
    explicit = os.environ.get("PYCOMPOSE_CACHE_DIR")
    if explicit:
        return Path(explicit) / "schema-ok"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pycompose" / "schema-ok"


@cache
def _schema_digest() -> bytes:
    return hashlib.sha256(SCHEMA_FILE.read_bytes()).digest()


def tree_key(data: Any) -> str:
    h = hashlib.sha256(_schema_digest())
    h.update(json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr,
                        ensure_ascii=False).encode())
    return h.hexdigest()


def is_known_valid(key: str) -> bool:
    d = cache_dir()
    return d is not None and (d / key).exists()


def remember_valid(key: str) -> None:
    d = cache_dir()
    if d is None:
        return
    try:
        d.mkdir(parents=True, exist_ok=True)
        (d / key).touch()
    except OSError:
        pass
