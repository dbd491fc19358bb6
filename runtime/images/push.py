"""Push an image from the store to a registry (blobs first, manifest last)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from runtime.images import mediatypes as mt
from runtime.images.digest import hex_of
from runtime.images.errors import ImageError, InvalidReference
from runtime.images.pull import PullEvent, Registries
from runtime.images.reference import Reference, parse
from runtime.images.registry.transport import RegistryTransport
from runtime.images.store import ImageStore

CHUNK_SIZE = 16 << 20     # blobs larger than this are uploaded in PATCH chunks

PushEvent = PullEvent     # same shape: ref, id, status, current, total


@dataclass(frozen=True)
class PushResult:
    reference: Reference
    digest: str
    size: int


def push(store: ImageStore, source: str, target: str | None = None, *,
         transport: RegistryTransport | None = None,
         progress: Callable[[PullEvent], None] | None = None,
         chunk_size: int | None = CHUNK_SIZE) -> PushResult:
    """Push image ``source`` (name or ID) as ``target`` (default: ``source``'s name).

    Every blob is checked with ``HEAD`` first and skipped when present; blobs up to
    ``chunk_size`` go in one ``PUT``, larger ones in ``PATCH`` chunks.
    """
    img = store.resolve(source)
    ref = parse(target or source)
    if ref.digest:
        raise InvalidReference(f"cannot push to a digest reference: {target or source}",
                               hint="push to NAME[:TAG]")
    name = ref.familiar

    def emit(lid, status, cur=0, total=0, detail=""):
        if progress:
            progress(PullEvent(name, lid, status, cur, total, detail))

    regs = Registries(store, transport)
    client = regs.clients(ref, "pull,push", mirrors=False)[0]
    manifest_bytes = store.read_blob(img.manifest_digest)
    manifest = json.loads(manifest_bytes)
    media = manifest.get("mediaType") or mt.OCI_MANIFEST
    blobs = [*manifest.get("layers", []), manifest["config"]]
    for desc in blobs:
        digest = desc["digest"]
        lid = hex_of(digest)[:12]
        if not store.has_blob(digest):
            raise ImageError(f"blob {digest} of {source} is missing from the store",
                             hint="pull the image again")
        if client.blob_exists(digest):
            emit(lid, "Layer already exists")
            continue
        size = store.blob_path(digest).stat().st_size
        emit(lid, "Preparing", 0, size)
        done = [0]

        def on_bytes(n, lid=lid, size=size, done=done):
            done[0] += n
            emit(lid, "Pushing", done[0], size)

        with open(store.blob_path(digest), "rb") as f:
            client.upload_blob(digest, size, f, chunk_size=chunk_size, on_bytes=on_bytes)
        emit(lid, "Pushed", size, size)
    digest = client.put_manifest(ref.tag or "latest", manifest_bytes, media)
    store.add_repo_digest(img.id, f"{ref.repository}@{digest}")
    emit(None, "Digest", detail=f"{ref.tag}: digest: {digest} size: {len(manifest_bytes)}")
    return PushResult(ref, digest, len(manifest_bytes))
