"""The seam between containers and images: ``resolve_rootfs(image_arg)``.

Returns ``(image_ref, image_id, layers, image_config)``.  A path to a directory is used
as a single-layer image (``image_id`` empty, config empty).  Anything else is looked up
in the image store once it exists (``runtime.images``), which returns the unpacked layer
directories (topmost first) and the OCI image config (Env, Cmd, Entrypoint, WorkingDir,
User, StopSignal ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.errors import NotFoundError
from runtime.paths import StatePaths


def resolve_rootfs(image_arg: str, paths: StatePaths | None = None
                   ) -> tuple[str, str, tuple[Path, ...], dict[str, Any]]:
    p = Path(image_arg)
    if image_arg.startswith(("/", "./", "../")) or p.is_dir():
        if not p.is_dir():
            raise NotFoundError(f"rootfs directory {image_arg} does not exist")
        return image_arg, "", (p.resolve(),), {}
    try:
        from runtime.images import resolve as _resolve  # type: ignore[attr-defined]
    except ImportError:
        raise NotFoundError(
            f"no such image: {image_arg}",
            hint="give the path of an unpacked root filesystem directory") from None
    return _resolve(image_arg, paths)  # pragma: no cover - images helper
