"""Secrets and configs: materialise their content into root-only files, bind them in.

Each used secret/config becomes a file under ``<container dir>/secrets/`` (a 0700 root
directory), owned by ``uid``/``gid`` (default: the container user, resolved by the
caller) with ``mode`` (default 0400 secrets, 0444 configs), and a read-only bind
:class:`runtime.spec.Mount` onto the target.  The content is copied, not the user's file
bind-mounted, so uid/gid/mode apply without touching the user's file (Docker Compose's
bind approach ignores them, a known complaint).  The content is never logged, never put
in a spec or inspect output (only the file path is), never written into the image: the
runtime only creates an empty mount point for the target.

Targets: secrets default to ``/run/secrets/<name>``, a relative target goes under
``/run/secrets``; configs default to ``/<name>``, a relative target is made absolute.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runtime.errors import InvalidInputError, NotFoundError
from runtime.fsutil import atomic_write_bytes
from runtime.spec import Mount

Kind = Literal["secret", "config"]
SECRETS_DIR = "secrets"
DEFAULT_MODE = {"secret": 0o400, "config": 0o444}


@dataclass(frozen=True, slots=True)
class Source:
    """A top-level ``secrets:``/``configs:`` entry (exactly one of file/environment/content)."""

    name: str
    file: Path | None = None            # absolute, or relative to the project dir
    environment: str | None = None      # variable name, looked up in ``env``
    content: str | None = None          # configs only (already interpolated)
    external: bool = False


@dataclass(frozen=True, slots=True)
class Use:
    """A service's reference to a secret/config (short syntax: only ``source``)."""

    source: str
    target: str | None = None
    uid: int | None = None
    gid: int | None = None
    mode: int | None = None


def default_target(kind: Kind, use: Use) -> str:
    if kind == "secret":
        t = use.target or use.source
        return t if t.startswith("/") else f"/run/secrets/{t}"
    t = use.target or use.source
    return t if t.startswith("/") else f"/{t}"


def read_source(kind: Kind, src: Source, *, env: Mapping[str, str],
                project_dir: Path | None = None) -> bytes:
    given = [x is not None for x in (src.file, src.environment, src.content)]
    if src.external:
        raise InvalidInputError(
            f"external {kind} {src.name!r} is not supported without Swarm",
            hint=f"use 'file:' or 'environment:' for the {kind}")
    if sum(given) != 1:
        raise InvalidInputError(
            f"{kind} {src.name!r} needs exactly one of file, environment"
            + (", content" if kind == "config" else ""),
            hint=f"declare the {kind} source under the top-level '{kind}s:'")
    if src.content is not None:
        if kind != "config":
            raise InvalidInputError(f"secret {src.name!r}: 'content' is only for configs",
                                    hint="use 'file:' or 'environment:' for secrets")
        return src.content.encode()
    if src.environment is not None:
        if src.environment not in env:
            raise NotFoundError(
                f"{kind} {src.name!r}: environment variable {src.environment} is not set",
                hint=f"set {src.environment} in the shell or the project's .env file")
        return env[src.environment].encode()
    path = Path(os.path.expanduser(str(src.file)))
    if not path.is_absolute() and project_dir is not None:
        path = Path(project_dir) / path
    if not path.is_file():
        raise NotFoundError(f"{kind} {src.name!r}: file {path} does not exist",
                            hint="create the file or fix 'file:' (relative to the project dir)")
    return path.read_bytes()


def materialize(container_dir: Path, kind: Kind, uses: Iterable[Use],
                sources: Mapping[str, Source], *, env: Mapping[str, str],
                project_dir: Path | None = None, default_uid: int = 0,
                default_gid: int = 0) -> list[Mount]:
    """Write the files and return the read-only bind mounts (in ``uses`` order)."""
    base = Path(container_dir) / SECRETS_DIR
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(base, 0, 0)
    os.chmod(base, 0o700)
    mounts: list[Mount] = []
    for i, use in enumerate(uses):
        src = sources.get(use.source)
        if src is None:
            raise NotFoundError(f"{kind} {use.source!r} is not declared",
                                hint=f"declare it under the top-level '{kind}s:'")
        data = read_source(kind, src, env=env, project_dir=project_dir)
        mode = DEFAULT_MODE[kind] if use.mode is None else use.mode
        if not 0 <= mode <= 0o7777:
            raise InvalidInputError(f"{kind} {use.source!r}: invalid mode {oct(mode)}")
        path = base / f"{kind}-{i}-{use.source.replace('/', '_')}"
        atomic_write_bytes(path, data, mode=mode)
        uid = default_uid if use.uid is None else use.uid
        gid = default_gid if use.gid is None else use.gid
        if os.geteuid() == 0:
            os.chown(path, uid, gid)
        mounts.append(Mount(type="bind", source=str(path), target=default_target(kind, use),
                            read_only=True))
    return mounts


def remove_materialized(container_dir: Path) -> None:
    shutil.rmtree(Path(container_dir) / SECRETS_DIR, ignore_errors=True)


def _image_db(layers: Sequence[Path], name: str) -> list[list[str]]:
    from runtime.volumes.copyup import LayerTree, resolve_in_tree

    tree = LayerTree(list(layers))
    rel = resolve_in_tree(tree, f"/etc/{name}")
    real = tree.lookup(rel) if rel is not None else None
    if real is None or not real.is_file():
        return []
    text = real.read_text(errors="replace")
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def container_user_ids(layers: Sequence[Path], user: str) -> tuple[int, int]:
    """The (uid, gid) a container's ``user`` ("", uid, uid:gid, name, name:group) runs as,
    looked up in the image layers' /etc/passwd and /etc/group (Docker's rules: numeric ids
    need no entry; a name must exist).  The default owner of secrets and configs."""
    name, _, group = (user or "0").partition(":")
    uid: int | None = None
    gid = 0
    passwd = _image_db(layers, "passwd")
    if name.isdigit():
        uid = int(name)
        gid = next((int(r[3]) for r in passwd if len(r) > 3 and r[2] == name
                    and r[3].isdigit()), 0)
    else:
        row = next((r for r in passwd if len(r) > 3 and r[0] == name), None)
        if row is None or not row[2].isdigit():
            raise NotFoundError(f"unable to find user {name}: no matching entries in passwd file",
                                hint="use a numeric uid or a user of the image")
        uid, gid = int(row[2]), int(row[3]) if row[3].isdigit() else 0
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            row = next((r for r in _image_db(layers, "group") if len(r) > 2 and r[0] == group),
                       None)
            if row is None or not row[2].isdigit():
                raise NotFoundError(f"unable to find group {group}: no matching entries in "
                                    "group file", hint="use a numeric gid")
            gid = int(row[2])
    return uid, gid
