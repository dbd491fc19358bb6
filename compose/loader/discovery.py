"""Which files, which project directory, which environment, which project name.

* Files: ``-f`` (``-`` = stdin), else ``COMPOSE_FILE`` (split on
  ``COMPOSE_PATH_SEPARATOR``, default ``:``), else the first of ``compose.yaml``,
  ``compose.yml``, ``docker-compose.yml``, ``docker-compose.yaml`` found in the working
  directory or one of its parents, plus an override file next to it (the one matching
  the main file's name and extension first, then compose-go's order).
* Project directory: ``--project-directory``, else the first file's directory (the
  working directory for stdin).
* Interpolation environment: ``--env-file`` files (else ``COMPOSE_ENV_FILES``, else
  ``.env`` in the project directory, unless ``COMPOSE_DISABLE_ENV_FILE``), values
  interpolated with the process environment first; then the process environment on
  top (it wins).
* Project name: ``-p`` > ``COMPOSE_PROJECT_NAME`` > top-level ``name:`` > the project
  directory's base name normalized (lower case, only ``[a-z0-9_-]``).  Explicit names
  must already be valid.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

# compose-go's order (cli/options.go)
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml",
                  "docker-compose.override.yml", "docker-compose.override.yaml")

_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_INVALID_CHARS = re.compile(r"[^a-z0-9_-]+")


def normalize_project_name(name: str) -> str:
    """Compose's normalization: lower case, drop characters outside ``[a-z0-9_-]``,
    and leading ``_``/``-``."""
    return _INVALID_CHARS.sub("", name.lower()).lstrip("_-")


def is_valid_project_name(name: str) -> bool:
    return bool(_VALID_NAME.match(name))


def find_default_files(start: Path) -> tuple[list[Path], list[str]]:
    """``([main, override?], warnings)`` searching ``start`` then its parents."""
    warnings: list[str] = []
    d = start
    while True:
        found = [d / n for n in DEFAULT_FILES if (d / n).is_file()]
        if found:
            main = found[0]
            if len(found) > 1:
                warnings.append(f"found multiple config files with supported names: "
                                f"{', '.join(str(f) for f in found)}; using {main}")
            stem, ext = main.name.rsplit(".", 1)
            preferred = [f"{stem}.override.{ext}"] + [
                n for n in OVERRIDE_FILES if n != f"{stem}.override.{ext}"]
            overrides = [d / n for n in preferred if (d / n).is_file()]
            return ([main, overrides[0]] if overrides else [main]), warnings
        if d.parent == d:
            return [], warnings
        d = d.parent


def split_compose_file(value: str, env: Mapping[str, str]) -> list[str]:
    sep = env.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    return [p for p in value.split(sep) if p]


def env_flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in ("1", "true", "yes", "on")
