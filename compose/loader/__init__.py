"""Load compose files: the public API of the loading half of the compose layer.

``load_config(LoadOptions(...))`` reads, interpolates, includes, extends and merges the
project's compose files and returns a :class:`LoadedConfig`: the merged tree as plain
Python values (NOT yet validated or normalized, profiles NOT yet applied) plus where
every value came from.  Every problem found is raised at once in one
:class:`compose.errors.ConfigError`.

Imports are lazy: importing this package costs nothing until ``load_config`` runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from compose.cli.options import GlobalOptions
    from compose.loader.tree import PositionMap

__all__ = ["LoadOptions", "LoadedConfig", "load_config", "options_from_globals"]


@dataclass(frozen=True)
class LoadOptions:
    files: tuple[str, ...] = ()          # -f ("-" = stdin); empty: COMPOSE_FILE/discovery
    project_name: str | None = None      # -p
    project_directory: str | None = None  # --project-directory
    env_files: tuple[str, ...] = ()      # --env-file (default: <project dir>/.env if present)
    profiles: tuple[str, ...] = ()       # --profile (else COMPOSE_PROFILES)
    environ: Mapping[str, str] | None = None  # process env (None = os.environ); wins over .env
    interpolate: bool = True             # --no-interpolate
    stdin: IO[str] | None = None         # stream for "-" (None = sys.stdin)
    working_dir: str | None = None       # where relative -f/--env-file paths and discovery
                                         # start (None = the current directory)


@dataclass(frozen=True)
class LoadedConfig:
    data: dict[str, Any]          # merged plain tree: interpolated, include/extends resolved
    positions: PositionMap        # path tuple -> Pos; .key_pos(path); .nearest(path)
    files: tuple[str, ...]        # the files loaded, absolute (or "-")
    project_name: str             # validated / normalized as compose does
    project_dir: Path
    environment: Mapping[str, str]  # interpolation environment (.env/--env-file + process env)
    profiles: tuple[str, ...]     # enabled profiles
    warnings: tuple[str, ...] = field(default=())  # e.g. unset variables defaulted to ""


def load_config(options: LoadOptions) -> LoadedConfig:
    """Load the project's compose files; raises ConfigError listing every issue."""
    from compose.loader.pipeline import _Session

    return _Session(options).run()


def options_from_globals(g: GlobalOptions, **overrides: Any) -> LoadOptions:
    """Map the CLI's global options (``-f``, ``-p``, ``--project-directory``,
    ``--env-file``, ``--profile``) to :class:`LoadOptions`; ``overrides`` sets the
    other fields (``interpolate=False`` for ``--no-interpolate``...)."""
    return LoadOptions(
        files=tuple(g.files or ()),
        project_name=g.project_name or None,
        project_directory=g.project_directory or None,
        env_files=tuple(g.env_files or ()),
        profiles=tuple(g.profiles or ()),
        **overrides,
    )
