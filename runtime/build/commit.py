"""``commit``: a container's writable layer becomes a new image layer.

The new image is the container's image plus one layer made from the container's overlay
upper dir (whiteouts of deleted files become OCI ``.wh.`` entries).  Its config is the
base image's with the container's own settings, as Docker commits them (``Env``,
``Cmd`` = the container's command after the image's entrypoint, ``WorkingDir``,
``User``), then changed by ``-c`` instructions (``CMD``, ``ENTRYPOINT``,
``ENV``, ``EXPOSE``, ``LABEL``, ``USER``, ``VOLUME``, ``WORKDIR``, ``STOPSIGNAL``), and
a history entry carrying the message and author.  A running container is committed as
it is (not paused): files being written during the commit may be caught half-way.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

from runtime.build.cache import StepState
from runtime.build.engine import _state_of_image
from runtime.build.layerdiff import write_layer_tar
from runtime.errors import InvalidInputError
from runtime.images.digest import chain_ids
from runtime.images.store import Image, ImageStore
from runtime.paths import StatePaths


def commit_container(paths: StatePaths, container: str, reference: str | None = None, *,
                     message: str = "", author: str = "",
                     changes: list[str] | tuple[str, ...] = ()) -> Image:
    from runtime.api import Runtime
    from runtime.images.changes import apply_changes
    from runtime.images.reference import parse

    rt = Runtime(paths)
    rec = rt.containers.get(container)
    store = ImageStore(paths)
    if not rec.spec.image_id:
        raise InvalidInputError(f"container {rec.name} was not created from an image in "
                                "the store; nothing to commit it onto")
    base = store.get(rec.spec.image_id)
    state = _state_of_image(base)
    config: dict[str, Any] = dict(state.config)
    config["config"] = apply_changes(list(changes), _container_config(
        dict(config.get("config") or {}), rec.spec.process))
    tags = [parse(reference)] if reference else []
    upper = rec.dir / "upper"
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    entry: dict[str, Any] = {"created": now,
                             "created_by": " ".join(rec.spec.process.args)}
    if message:
        entry["comment"] = message
    if author:
        entry["author"] = author
        config["author"] = author
    tmp = paths.builds / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    layers = list(state.layers)
    with store.lease():
        with tempfile.TemporaryFile(dir=tmp) as f:
            count = write_layer_tar(upper, f) if upper.is_dir() else 0
            if count:
                f.seek(0)
                parent = chain_ids([lay.diff_id for lay in layers])[-1] if layers else None
                layers.append(store.add_layer(f, parent))
            else:
                entry["empty_layer"] = True
        config["history"] = [*(config.get("history") or []), entry]
        config["created"] = now
        return store.create_image(StepState(config, tuple(layers)).config, layers, tags)


def _container_config(cfg: dict[str, Any], proc: Any) -> dict[str, Any]:
    if proc.env:
        cfg["Env"] = list(proc.env)
    args = list(proc.args)
    entrypoint = list(cfg.get("Entrypoint") or [])
    if entrypoint and args[:len(entrypoint)] == entrypoint:
        cfg["Cmd"] = args[len(entrypoint):]
    elif not entrypoint:
        cfg["Cmd"] = args
    if proc.cwd and proc.cwd != "/":
        cfg["WorkingDir"] = proc.cwd
    if proc.user:
        cfg["User"] = proc.user
    return cfg
