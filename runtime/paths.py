"""Where pycompose keeps its state.

Everything lives under one *root* (persistent: images, containers, volumes, networks)
and one *run dir* (volatile: shim sockets, pid files, netns handles).  Resolution order:

* root: ``--root`` > ``$PYCOMPOSE_ROOT`` > ``/var/lib/pycompose``
* run dir: ``--run-dir`` > ``$PYCOMPOSE_RUN_DIR`` > ``<root>/run`` when the root was
  overridden (so a temporary root is fully self-contained) > ``/run/pycompose``
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ROOT = Path("/var/lib/pycompose")
DEFAULT_RUN_DIR = Path("/run/pycompose")


@dataclass(frozen=True, slots=True)
class StatePaths:
    root: Path
    run_dir: Path

    @classmethod
    def resolve(cls, root: str | os.PathLike[str] | None = None,
                run_dir: str | os.PathLike[str] | None = None) -> StatePaths:
        env_root = os.environ.get("PYCOMPOSE_ROOT")
        chosen_root = Path(root or env_root or DEFAULT_ROOT).absolute()
        env_run = os.environ.get("PYCOMPOSE_RUN_DIR")
        if run_dir or env_run:
            chosen_run = Path(run_dir or env_run or "").absolute()
        elif root or env_root:
            chosen_run = chosen_root / "run"
        else:
            chosen_run = DEFAULT_RUN_DIR
        return cls(chosen_root, chosen_run)

    # Sub-trees, one owner each (see docs/architecture.md, "On-disk layout").
    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def networks(self) -> Path:
        return self.root / "networks"

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    @property
    def projects(self) -> Path:
        return self.root / "projects"

    @property
    def locks(self) -> Path:
        return self.run_dir / "locks"
