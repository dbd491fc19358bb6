"""Shared helpers for the model/validation tests: load a compose text from a temp dir."""

from __future__ import annotations

import textwrap
from pathlib import Path

from compose.loader import LoadOptions
from compose.project_loader import load_project


def write(tmp_path: Path, text: str, name: str = "compose.yaml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def project_of(tmp_path: Path, text: str, *, env: dict | None = None, profiles=(),
               services=(), consistency: bool = True, name: str = "proj"):
    p = write(tmp_path, text)
    opts = LoadOptions(files=(str(p),), environ=env or {}, project_name=name,
                       profiles=tuple(profiles), working_dir=str(tmp_path))
    return load_project(opts, services, consistency=consistency)
