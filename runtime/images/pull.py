"""Pull images from registries into the store.

Flow: manifest (mirrors first) -> platform selection if it is an index -> config blob
-> layers concurrently.  A layer that is not on disk is *streamed*: the HTTP body is
written to ``ingest/<hex>.partial`` and, in the same pass, decompressed, hashed and
extracted; the blob is committed to the store only when the digest and the diff_id both
match.  If the connection breaks, the partial file stays and the next attempt resumes
with ``Range`` (then verifies the whole blob before extracting from it).

Progress is reported as :class:`PullEvent` values to a callback (called from worker
threads); rendering is the CLI's job.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from runtime.images import mediatypes as mt
from runtime.images.digest import chain_ids, check_digest, hex_of
from runtime.images.errors import (
    CorruptLayer,
    DigestMismatch,
    ImageError,
    ImageNotFound,
    RegistryError,
    RegistryNotFound,
)
from runtime.images.platform import Platform, host_platform, select_manifest
from runtime.images.reference import Reference, parse
from runtime.images.registry.client import Manifest, RegistryClient
from runtime.images.registry.config import RegistryConfig
from runtime.images.registry.credentials import CredentialStore
from runtime.images.registry.transport import HttpTransport, RegistryTransport
from runtime.images.store import Image, ImageStore, LayerInfo
from runtime.paths import StatePaths

LAYER_ATTEMPTS = 3
EVENT_STEP = 1 << 19      # emit a Downloading event every 512 KiB


@dataclass(frozen=True, slots=True)
class PullEvent:
    """``id`` is a 12-hex layer id, or None for image-level statuses.

    Statuses: Resolving, Waiting, Already exists, Downloading, Verifying, Extracting,
    Retrying, Pull complete (per layer); Digest, Status, Done (per image).
    """

    ref: str
    id: str | None
    status: str
    current: int = 0
    total: int = 0
    detail: str = ""


ProgressFn = Callable[[PullEvent], None]


class Registries:
    """Configuration, credentials and one shared transport: makes clients per endpoint."""

    def __init__(self, store: ImageStore, transport: RegistryTransport | None = None) -> None:
        self.store = store
        self.config = RegistryConfig.load(store.root)
        self.credentials = CredentialStore(store.root)
        self.transport = transport or HttpTransport()

    def clients(self, ref: Reference, actions: str = "pull",
                mirrors: bool = True) -> list[RegistryClient]:
        out = []
        for ep in self.config.endpoints(ref.domain):
            if ep.mirror and not mirrors:
                continue
            host = urlsplit(ep.url).netloc if ep.mirror else ref.domain
            out.append(RegistryClient(ep, ref.path, transport=self.transport,
                                      credentials=self.credentials.get(host),
                                      actions=actions, timeout=self.config.timeout))
        return out


class _Tee:
    """Reads the HTTP body, appends it to the partial file, counts and reports."""

    def __init__(self, resp, out, on_bytes: Callable[[int], None]) -> None:
        self.resp = resp
        self.out = out
        self.count = 0
        self.on_bytes = on_bytes

    def read(self, n: int = -1) -> bytes:
        try:
            data = self.resp.read(n)
        except (http.client.HTTPException, OSError) as e:
            raise RegistryError(f"download interrupted after {self.count} bytes:"
                                f" {type(e).__name__}: {e}") from e
        if data:
            self.out.write(data)
            self.count += len(data)
            self.on_bytes(len(data))
        return data


class _Progress:
    def __init__(self, ref: str, lid: str, total: int, cb: ProgressFn | None) -> None:
        self.ref, self.lid, self.total, self.cb = ref, lid, total, cb
        self.current = 0
        self._last = -EVENT_STEP

    def emit(self, status: str, **kw) -> None:
        if self.cb:
            self.cb(PullEvent(self.ref, self.lid, status, kw.get("current", self.current),
                              self.total, kw.get("detail", "")))

    def bytes(self, n: int) -> None:
        self.current += n
        if self.current - self._last >= EVENT_STEP or self.current >= self.total:
            self._last = self.current
            self.emit("Downloading")


class Puller:
    def __init__(self, store: ImageStore, *, transport: RegistryTransport | None = None,
                 platform: Platform | str | None = None, progress: ProgressFn | None = None,
                 max_concurrent: int = 3) -> None:
        self.store = store
        self.registries = Registries(store, transport)
        self.platform = Platform.parse(platform) if isinstance(platform, str) else (
            platform or host_platform())
        self.explicit_platform = platform is not None
        self.progress = progress
        self.max_concurrent = max(1, max_concurrent)

    def _emit(self, ref: str, status: str, detail: str = "") -> None:
        if self.progress:
            self.progress(PullEvent(ref, None, status, detail=detail))

    # -- manifest -------------------------------------------------------------------
    def _manifest(self, ref: Reference) -> tuple[RegistryClient, Manifest]:
        errors: list[str] = []
        clients = self.registries.clients(ref)
        for client in clients:
            try:
                return client, client.get_manifest(ref.object)
            except RegistryError as e:
                if not client.endpoint.mirror:
                    if errors and isinstance(e, RegistryNotFound):
                        e.message += " (mirrors: " + "; ".join(errors) + ")"
                    if isinstance(e, RegistryNotFound):
                        raise ImageNotFound(
                            f"{ref.familiar}: not found in the registry ({e.message})",
                            hint="check the name and tag (and `pycompose login` for"
                                 " private images)") from e
                    raise
                errors.append(f"{client.endpoint.url}: {e.message}")
        raise RegistryError(f"cannot pull {ref}: " + "; ".join(errors))

    def pull(self, ref_text: str | Reference) -> Image:
        ref = ref_text if isinstance(ref_text, Reference) else parse(str(ref_text))
        name = ref.familiar
        self._emit(name, "Resolving")
        with self.store.lease():
            client, top = self._manifest(ref)
            manifest = top
            index_digest = None
            if top.media_type in mt.INDEX_TYPES or (
                    "manifests" in top.json() and "layers" not in top.json()):
                desc = select_manifest(top.json(), self.platform)
                if desc is None:
                    avail = ", ".join(
                        "/".join(x for x in (p.get("os"), p.get("architecture"),
                                             p.get("variant")) if x)
                        for p in (d.get("platform") or {} for d in top.json()["manifests"]))
                    raise ImageNotFound(
                        f"{name}: no image for platform {self.platform} (available: {avail})",
                        hint="pick another --platform")
                index_digest = top.digest
                manifest = client.get_manifest(check_digest(desc["digest"], "manifest digest"))
                if desc.get("size") is not None and desc["size"] != len(manifest.data):
                    raise DigestMismatch(f"{name}: manifest size {len(manifest.data)} !="
                                         f" {desc['size']} declared by the index")
                self.store.put_blob(top.data, top.digest)
            image = self._pull_manifest(client, ref, manifest)
            repo_digest = f"{ref.repository}@{top.digest}"
            tags = [ref] if ref.tag and not ref.digest else []
            img = self.store.register(manifest=manifest.data, config=image,
                                      tags=tags, repo_digest=repo_digest, pulled=True,
                                      index_digest=index_digest)
        self._emit(name, "Digest", top.digest)
        self._emit(name, "Status", f"Downloaded newer image for {name}")
        return img

    def _pull_manifest(self, client: RegistryClient, ref: Reference, manifest: Manifest
                       ) -> bytes:
        m = manifest.json()
        if m.get("schemaVersion") != 2 or "config" not in m or "layers" not in m:
            raise RegistryError(f"{ref.familiar}: unsupported manifest"
                                f" ({manifest.media_type or 'no media type'})")
        cdesc = m["config"]
        cdig = check_digest(cdesc.get("digest", ""), "config digest")
        if self.store.has_blob(cdig):
            cfg_bytes = self.store.read_blob(cdig)
        else:
            cfg_bytes = client.get_blob_bytes(cdig, cdesc.get("size"))
            self.store.put_blob(cfg_bytes, cdig)
        cfg = json.loads(cfg_bytes)
        if self.explicit_platform and not self.platform.matches(
                {"os": cfg.get("os"), "architecture": cfg.get("architecture"),
                 "variant": cfg.get("variant")}):
            raise ImageNotFound(
                f"{ref.familiar} is {cfg.get('os')}/{cfg.get('architecture')}, which does"
                f" not match the requested platform {self.platform}",
                hint="drop --platform or pull an image built for that platform")
        diff_ids = list((cfg.get("rootfs") or {}).get("diff_ids") or [])
        layers = m["layers"]
        if len(diff_ids) != len(layers):
            raise ImageError(f"{ref.familiar}: {len(layers)} layers but"
                             f" {len(diff_ids)} diff_ids in the config")
        for desc in layers:
            if desc.get("mediaType") in mt.FOREIGN_TYPES:
                raise ImageError(f"{ref.familiar}: foreign (non-distributable) layers are"
                                 " not supported")
            if desc.get("mediaType") not in mt.LAYER_TYPES:
                raise ImageError(f"{ref.familiar}: unsupported layer type"
                                 f" {desc.get('mediaType')!r}")
            check_digest(desc.get("digest", ""), "layer digest")
        chains = chain_ids(diff_ids)
        name = ref.familiar
        work = []
        for i, desc in enumerate(layers):
            info = LayerInfo(desc["digest"], desc["mediaType"], int(desc.get("size", 0)),
                             diff_ids[i])
            work.append((chains[i], chains[i - 1] if i else None, info))
            _Progress(name, hex_of(info.digest)[:12], info.size, self.progress).emit("Waiting")
        if len(work) == 1 or self.max_concurrent == 1:
            for w in work:
                self._layer(client, name, *w)
        else:
            with ThreadPoolExecutor(self.max_concurrent, thread_name_prefix="pull") as ex:
                futures = [ex.submit(self._layer, client, name, *w) for w in work]
                errors = []
                for f in futures:
                    try:
                        f.result()
                    except BaseException as e:  # all layers finish or fail first
                        errors.append(e)
                if errors:
                    raise errors[0]
        return cfg_bytes

    # -- layers ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _layer_lock(self, digest: str):
        self.store.ingest.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.store.ingest / f"{hex_of(digest)}.lock",
                     os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _layer(self, client: RegistryClient, name: str, chain: str, parent: str | None,
               info: LayerInfo) -> None:
        prog = _Progress(name, hex_of(info.digest)[:12], info.size, self.progress)
        if self.store.has_layer(chain):
            prog.emit("Already exists")
            return
        with self._layer_lock(info.digest):  # one download per blob, across processes
            if self.store.has_layer(chain):
                prog.emit("Already exists")
                return
            if self.store.has_blob(info.digest):
                prog.emit("Extracting")
                self.store.unpack_layer(chain, parent, info)
                prog.emit("Pull complete")
                return
            partial = self.store.ingest / f"{hex_of(info.digest)}.partial"
            for attempt in range(LAYER_ATTEMPTS):
                resumed = partial.exists() and partial.stat().st_size > 0
                try:
                    if resumed:
                        self._resume(client, info, partial, prog)
                        prog.emit("Extracting")
                        self.store.unpack_layer(chain, parent, info)
                    else:
                        self._stream(client, chain, parent, info, partial, prog)
                    prog.emit("Pull complete")
                    return
                except (DigestMismatch, CorruptLayer) as e:
                    with contextlib.suppress(FileNotFoundError):
                        partial.unlink()
                    if not resumed or attempt + 1 == LAYER_ATTEMPTS:
                        raise
                    # a stale or foreign partial file: start over from byte 0
                    prog.emit("Retrying", detail=str(e))
                except (RegistryError, ImageError, OSError) as e:
                    if isinstance(e, RegistryNotFound) or attempt + 1 == LAYER_ATTEMPTS:
                        raise
                    if partial.exists() and partial.stat().st_size >= info.size:
                        partial.unlink()  # complete but unusable: start over
                    prog.emit("Retrying", detail=str(e))
                    time.sleep(0.2 * (attempt + 1))

    def _stream(self, client: RegistryClient, chain: str, parent: str | None,
                info: LayerInfo, partial: Path, prog: _Progress) -> None:
        resp, _ = client.open_blob(info.digest)
        prog.current = 0
        with open(partial, "wb") as out:
            tee = _Tee(resp, out, prog.bytes)

            def commit(res) -> None:
                out.flush()
                os.fsync(out.fileno())
                if tee.count != info.size and info.size:
                    raise DigestMismatch(f"layer {info.digest[:19]}: got {tee.count} bytes,"
                                         f" descriptor says {info.size}")
                self.store.put_blob_file(partial, info.digest)
                prog.emit("Verifying")

            try:
                prog.emit("Downloading")
                self.store.unpack_layer(chain, parent, info, src=tee, before_commit=commit)
                return
            except CorruptLayer as e:
                corrupt = e
            finally:
                resp.close()
        # The stream did not decompress: is the blob itself not what its digest says?
        # Finish the download and check (raises DigestMismatch); if the digest is right
        # the content really is broken.
        self._resume(client, info, partial, prog)
        with contextlib.suppress(FileNotFoundError):
            self.store.blob_path(info.digest).unlink()
        raise corrupt

    def _resume(self, client: RegistryClient, info: LayerInfo, partial: Path,
                prog: _Progress) -> None:
        have = partial.stat().st_size
        h = hashlib.sha256()
        with open(partial, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        if info.size and have >= info.size:
            resp, start = None, have
        else:
            resp, start = client.open_blob(info.digest, have)
        prog.current = start if resp is not None else have
        prog.emit("Downloading", detail=f"resuming at {start}")
        with open(partial, "r+b" if start else "wb") as out:
            if resp is not None:
                if start != have:  # registry ignored the range: start over
                    out.truncate(0)
                    h = hashlib.sha256()
                out.seek(start)
                try:
                    while chunk := resp.read(1 << 20):
                        out.write(chunk)
                        h.update(chunk)
                        prog.bytes(len(chunk))
                finally:
                    resp.close()
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        got = "sha256:" + h.hexdigest()
        prog.emit("Verifying")
        if got != info.digest or (info.size and size != info.size):
            raise DigestMismatch(f"layer blob digest mismatch: expected {info.digest},"
                                 f" got {got}", hint="the registry served corrupt data")
        self.store.put_blob_file(partial, info.digest)


def pull(paths_or_store: StatePaths | ImageStore, ref: str, **kw) -> Image:
    """Synchronous pull of one image (kw: transport, platform, progress, max_concurrent)."""
    store = paths_or_store if isinstance(paths_or_store, ImageStore) else ImageStore(
        paths_or_store)
    return Puller(store, **kw).pull(ref)


async def pull_images(paths: StatePaths, refs: Iterable[str | tuple[str, str]], *,
                      policy: str = "missing", platform: str | None = None,
                      progress: ProgressFn | None = None, concurrency: int = 4,
                      transport: RegistryTransport | None = None) -> dict[str, Image]:
    """Pull several images concurrently (worker threads); the orchestrator's entry point.

    ``refs`` holds references, or ``(reference, pull_policy)`` pairs to override
    ``policy`` per image (compose ``pull_policy`` is per service).  Images that their
    policy says need no pull are resolved from the store; ``build`` images that are
    absent are left out of the result (the orchestrator builds them); ``never`` images
    that are absent fail with :class:`ImageNotFound`.  Returns ``{ref: Image}``; when
    some fail, every ref is still attempted and one error listing all failures is
    raised at the end (the failure itself when there is only one).
    """
    import anyio

    from runtime.images.policy import needs_pull

    store = ImageStore(paths)
    results: dict[str, Image] = {}
    failures: list[tuple[str, Exception]] = []
    limiter = anyio.CapacityLimiter(max(1, concurrency))
    shared = transport or HttpTransport()
    wanted: dict[str, str] = {}
    for item in refs:
        ref, pol = (item, policy) if isinstance(item, str) else item
        wanted.setdefault(ref, pol or policy)

    async def one(ref: str, pol: str) -> None:
        try:
            if not needs_pull(store, ref, pol):
                if not store.exists(ref):
                    if pol == "build":
                        return
                    raise ImageNotFound(f"no such image: {ref} (pull_policy: {pol})",
                                        hint="pull it first, or change pull_policy")
                results[ref] = store.resolve(ref)
                return
            puller = Puller(store, transport=shared, platform=platform, progress=progress)
            results[ref] = await anyio.to_thread.run_sync(puller.pull, ref, limiter=limiter)
        except Exception as e:
            failures.append((ref, e))

    async with anyio.create_task_group() as tg:
        for ref, pol in wanted.items():
            tg.start_soon(one, ref, pol)
    if len(failures) == 1:
        raise failures[0][1]
    if failures:
        raise ImageError("; ".join(f"{r}: {e}" for r, e in failures),
                         hint="see the errors above for each image")
    return results
