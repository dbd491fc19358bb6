"""Global options shared by every subcommand (``ctx.obj``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class GlobalOptions:
    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    progress: str = "auto"
    ansi: str = "auto"
    parallel: int | None = None
    root: str | None = None
    run_dir: str | None = None
    debug: bool = False
    extra: dict = field(default_factory=dict)

    def state_paths(self):
        from runtime.paths import StatePaths

        return StatePaths.resolve(self.root, self.run_dir)
