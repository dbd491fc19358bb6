"""``create``: reserve the name, lay out the container directory, record "created"."""

from __future__ import annotations

import os

from runtime.container import statefile
from runtime.container.store import ContainerStore
from runtime.errors import InvalidInputError
from runtime.spec import ContainerSpec


def create(store: ContainerStore, spec: ContainerSpec) -> str:
    if not spec.process.args:
        raise InvalidInputError("no command specified",
                                hint="give a command after the image")
    for layer in spec.rootfs.layers:
        if not layer.is_dir():
            raise InvalidInputError(f"image layer {layer} is not a directory")
    cid = store.new_id()
    name = (spec.name or store.random_name()).lstrip("/")
    held = store.reserve_name(name, cid)  # locked until the config is written
    try:
        cdir = store.dir(cid)
        cdir.mkdir(parents=True)
        for sub in ("upper", "work", "merged"):
            (cdir / sub).mkdir(mode=0o755)
        now = statefile.now_rfc3339()
        store.save_config(cid, name, now, spec)
        statefile.update(str(cdir), status="created", exit_code=0, pid=0, restart_count=0,
                         started_at="", finished_at="", error="", oom_killed=False)
    except BaseException:
        os.close(held)
        import shutil

        shutil.rmtree(store.dir(cid), ignore_errors=True)
        store.name_file(name).unlink(missing_ok=True)
        raise
    os.close(held)
    return cid
