"""``RUN --mount=...`` (BuildKit syntax): bind, cache, tmpfs and secret mounts.

* ``type=bind`` (default): ``source`` (default ``.``) from the build context, or from a
  stage/image with ``from=``; read-only unless ``rw`` (writes are then discarded: the
  mount is a throw-away overlay).  Note: ``.dockerignore`` is not applied to bind mounts
  of the context.
* ``type=cache``: a persistent directory ``<root>/builds/cache-mounts/<id>`` (``id``
  defaults to the target) owned ``uid:gid`` with ``mode`` (default 0755), read-write.
* ``type=tmpfs``: a tmpfs (``size=`` bytes).
* ``type=secret``: the file given for ``id`` (compose ``build.secrets``,
  :attr:`BuildRequest.secrets`) bind-mounted read-only at ``target`` (default
  ``/run/secrets/<id>``); a missing secret is an error when ``required=true``, else the
  mount is skipped.  Secrets never reach a layer or the cache key.

Mount points the runtime had to create for these mounts are left out of the layer.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass

from runtime.errors import InvalidInputError

_TRUE = ("", "true", "1", "yes")


@dataclass(frozen=True)
class RunMount:
    type: str
    target: str
    source: str = ""
    from_: str | None = None
    id: str = ""
    readonly: bool = True
    required: bool = False
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    size: int | None = None


def parse_mount(text: str) -> RunMount:
    fields = next(csv.reader([text]))
    kv: dict[str, str] = {}
    for f in fields:
        k, eq, v = f.partition("=")
        kv[k.strip().lower()] = v.strip() if eq else ""
    mtype = kv.pop("type", "bind") or "bind"
    if mtype not in ("bind", "cache", "tmpfs", "secret"):
        raise InvalidInputError(f"RUN --mount=type={mtype} is not supported",
                                hint="Supported: bind, cache, tmpfs, secret.")
    target = kv.pop("target", "") or kv.pop("dst", "") or kv.pop("destination", "")
    mid = kv.pop("id", "")
    if mtype == "secret":
        if not mid and target:
            mid = target.rstrip("/").rsplit("/", 1)[-1]
        if not mid:
            raise InvalidInputError("RUN --mount=type=secret needs id=...")
        target = target or f"/run/secrets/{mid}"
    if not target:
        raise InvalidInputError(f"RUN --mount={text}: target is required")
    if not target.startswith("/"):
        raise InvalidInputError(f"RUN --mount={text}: target must be an absolute path")
    readonly = mtype in ("bind", "secret")
    if "rw" in kv or "readwrite" in kv:
        readonly = kv.pop("rw", kv.pop("readwrite", "")).lower() not in _TRUE
    if "ro" in kv or "readonly" in kv:
        readonly = kv.pop("ro", kv.pop("readonly", "")).lower() in _TRUE
    mode = None
    if "mode" in kv:
        try:
            mode = int(kv.pop("mode"), 8)
        except ValueError:
            raise InvalidInputError(f"RUN --mount={text}: mode must be octal") from None
    try:
        uid = int(kv.pop("uid", "0") or 0)
        gid = int(kv.pop("gid", "0") or 0)
        size = int(kv.pop("size")) if "size" in kv else None
    except ValueError:
        raise InvalidInputError(f"RUN --mount={text}: uid, gid and size are numbers") from None
    required = kv.pop("required", "false").lower() in _TRUE
    source = kv.pop("source", "") or kv.pop("src", "")
    from_ = kv.pop("from", "") or None
    kv.pop("sharing", None)  # shared/private/locked: one cache dir, writes serialised
    kv.pop("env", None)
    if kv:
        raise InvalidInputError(f"RUN --mount={text}: unknown option(s) {', '.join(kv)}")
    return RunMount(mtype, target, source, from_, mid, readonly, required, mode, uid, gid,
                    size)


def cache_dir_name(m: RunMount) -> str:
    return hashlib.sha256((m.id or m.target).encode()).hexdigest()[:32]
