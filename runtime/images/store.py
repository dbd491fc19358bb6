"""The image store: content-addressed blobs, unpacked layers shared by chain ID, an index.

On-disk layout (``StatePaths.images``)::

    blobs/sha256/<hex>        manifests, indexes, configs, compressed layers (verified)
    ingest/                   partial downloads (``<hex>.partial``, resumable)
    layers/<chain hex>/diff/  one unpacked layer (overlay whiteouts already applied)
    layers/<chain hex>/meta.json   {diff_id, chain_id, parent, blob, size, ...}
    l/<12 hex>  -> ../layers/<chain hex>/diff   short names for overlay mount options
    index.json                images (by ID = config digest) and tags; replaced atomically
    index.lock                fcntl lock serialising index updates
    gc.lock                   pulls/imports hold it shared; prune/gc exclusive

The image ID is the config digest (as Docker's classic store); the manifest digest is
kept as the *repo digest*.  An image with no tag is *dangling*.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from runtime.fsutil import atomic_write_bytes, atomic_write_json, read_json
from runtime.images import mediatypes as mt
from runtime.images.digest import chain_ids, check_digest, hex_of, is_digest, sha256_bytes
from runtime.images.errors import (
    DigestMismatch,
    ImageError,
    ImageInUse,
    ImageNotFound,
    InvalidReference,
)
from runtime.images.reference import Reference, parse
from runtime.paths import StatePaths

if TYPE_CHECKING:  # the extractor is imported where layers are unpacked
    from runtime.images.extract import LayerResult

MAX_LAYERS = 125      # Docker/BuildKit cap ~127; overlay stacks fit well below the limits


def _now() -> float:
    return time.time()


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(frozen=True)
class LayerInfo:
    """A stored layer blob and its unpacked identity."""

    digest: str          # blob digest (as in the manifest)
    media_type: str
    size: int            # blob size
    diff_id: str


@dataclass
class Image:
    """An image in the store.  ``config`` is the runtime part of the OCI image config
    (``Env``, ``Cmd``, ``Entrypoint``, ``WorkingDir``, ``User``, ``ExposedPorts``,
    ``Volumes``, ``Labels``, ``StopSignal``, ``Healthcheck``); ``raw_config`` the whole
    config JSON."""

    id: str
    raw_config: dict[str, Any]
    manifest_digest: str
    manifest: dict[str, Any]
    references: tuple[str, ...]          # normalised tags: docker.io/library/redis:7
    repo_digests: tuple[str, ...]        # docker.io/library/redis@sha256:...
    created_at: float                    # when it entered this store
    size: int                            # unpacked bytes of all layers
    _store: ImageStore = field(repr=False, compare=False)

    @property
    def config(self) -> dict[str, Any]:
        return self.raw_config.get("config") or {}

    @property
    def diff_ids(self) -> tuple[str, ...]:
        return tuple((self.raw_config.get("rootfs") or {}).get("diff_ids") or ())

    @property
    def chain_ids(self) -> tuple[str, ...]:
        return tuple(chain_ids(list(self.diff_ids)))

    @property
    def short_id(self) -> str:
        return self.id[7:19]

    @property
    def created(self) -> str | None:
        return self.raw_config.get("created")

    @property
    def architecture(self) -> str:
        return self.raw_config.get("architecture", "")

    @property
    def os(self) -> str:
        return self.raw_config.get("os", "")

    @property
    def dangling(self) -> bool:
        return not self.references

    def layer_dirs(self) -> tuple[Path, ...]:
        """Unpacked layer directories, topmost first (overlayfs ``lowerdir`` order)."""
        return tuple(self._store.layer_dir(c) for c in reversed(self.chain_ids))

    def short_layer_dirs(self) -> tuple[str, ...]:
        """The same directories as ``l/<12 hex>`` names relative to
        :attr:`ImageStore.root` — use them (after ``chdir``/with a dir fd) when the
        absolute ``lowerdir=`` option would not fit in one page."""
        return tuple(f"l/{hex_of(c)[:12]}" for c in reversed(self.chain_ids))


class ImageStore:
    def __init__(self, paths: StatePaths) -> None:
        self.paths = paths
        self.root = paths.images
        self.blobs = self.root / "blobs" / "sha256"
        self.ingest = self.root / "ingest"
        self.layers = self.root / "layers"
        self.links = self.root / "l"
        self.index_path = self.root / "index.json"
        # extra probes "which image IDs are in use" (the runtime may register one)
        self.usage_probes: list[Callable[[], set[str]]] = []

    # -- locking & index ---------------------------------------------------------
    def _mkdirs(self) -> None:
        for d in (self.blobs, self.ingest, self.layers, self.links):
            d.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _flock(self, name: str, kind: int) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, kind)
            yield
        finally:
            os.close(fd)

    def lease(self) -> contextlib.AbstractContextManager[None]:
        """Held (shared) while content is being added, so a concurrent prune/gc does not
        delete blobs and layers that are not yet referenced by the index."""
        return self._flock("gc.lock", fcntl.LOCK_SH)

    def _read_index(self) -> dict[str, Any]:
        try:
            idx = read_json(self.index_path)
        except FileNotFoundError:
            idx = {}
        except (OSError, ValueError) as e:
            raise ImageError(f"image index {self.index_path} is unreadable: {e}",
                             hint="restore it or remove it (images must then be pulled"
                                  " again)") from e
        idx.setdefault("version", 1)
        idx.setdefault("images", {})
        idx.setdefault("tags", {})
        return idx

    @contextlib.contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        with self._flock("index.lock", fcntl.LOCK_EX):
            idx = self._read_index()
            yield idx
            atomic_write_json(self.index_path, idx)

    # -- blobs ----------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        return self.blobs / hex_of(digest)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).exists()

    def read_blob(self, digest: str) -> bytes:
        try:
            data = self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise ImageNotFound(f"blob {digest} is not in the store") from None
        return data

    def put_blob(self, data: bytes, expected: str | None = None) -> str:
        digest = sha256_bytes(data)
        if expected and digest != check_digest(expected):
            raise DigestMismatch(f"content digest mismatch: expected {expected}, got {digest}",
                                 hint="the registry or archive served corrupt data")
        path = self.blob_path(digest)
        if not path.exists():
            self._mkdirs()
            atomic_write_bytes(path, data, 0o644)
        return digest

    def put_blob_file(self, tmp: Path, digest: str) -> Path:
        """Move a verified temporary file into the blob store."""
        self._mkdirs()
        dest = self.blob_path(digest)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
        return dest

    def ingest_file(self, src: BinaryIO, expected: str | None = None) -> tuple[str, int]:
        """Copy a stream into the store, hashing it; returns (digest, size)."""
        self._mkdirs()
        h = hashlib.sha256()
        size = 0
        fd, tmp = _mkstemp(self.ingest)
        try:
            with os.fdopen(fd, "wb") as f:
                while chunk := src.read(1 << 20):
                    h.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
            digest = "sha256:" + h.hexdigest()
            if expected and digest != expected:
                raise DigestMismatch(f"content digest mismatch: expected {expected},"
                                     f" got {digest}")
            self.put_blob_file(Path(tmp), digest)
            return digest, size
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    # -- layers ---------------------------------------------------------------------
    def layer_dir(self, chain_id: str) -> Path:
        return self.layers / hex_of(chain_id) / "diff"

    def has_layer(self, chain_id: str) -> bool:
        return (self.layers / hex_of(chain_id) / "meta.json").exists()

    def layer_meta(self, chain_id: str) -> dict[str, Any]:
        try:
            return read_json(self.layers / hex_of(chain_id) / "meta.json")
        except FileNotFoundError:
            return {}

    def unpack_layer(self, chain_id: str, parent: str | None, layer: LayerInfo,
                     on_bytes: Callable[[int], None] | None = None,
                     src: BinaryIO | None = None,
                     before_commit: Callable[[LayerResult], None] | None = None
                     ) -> LayerResult | None:
        """Extract layer ``chain_id`` from the stored blob ``layer.digest`` (or from
        ``src``, e.g. a download stream, when given).  Both the blob digest and the
        diff_id are verified before the layer becomes visible; ``before_commit`` runs
        just before that (the puller moves the downloaded blob into the store there).
        Returns None when the layer was already unpacked (shared with another image)."""
        from runtime.images.extract import extract_layer

        if self.has_layer(chain_id):
            return None
        self._mkdirs()

        def meta(tmp: Path, res: LayerResult) -> None:
            if before_commit:
                before_commit(res)
            atomic_write_json(tmp / "meta.json", {
                "chain_id": chain_id, "parent": parent, "diff_id": res.diff_id,
                "blob": layer.digest, "media_type": layer.media_type,
                "blob_size": res.compressed_size, "tar_size": res.tar_size,
                "size": res.size, "entries": res.entries, "created": _now(),
            })

        dest = self.layers / hex_of(chain_id)
        if src is not None:
            res = extract_layer(src, dest, expected_diff_id=layer.diff_id,
                                expected_digest=layer.digest, on_bytes=on_bytes,
                                meta_writer=meta)
        else:
            with open(self.blob_path(layer.digest), "rb") as f:
                res = extract_layer(f, dest, expected_diff_id=layer.diff_id,
                                    expected_digest=layer.digest, on_bytes=on_bytes,
                                    meta_writer=meta)
        self._link(chain_id)
        return res

    def _link(self, chain_id: str) -> None:
        h = hex_of(chain_id)
        link = self.links / h[:12]
        target = f"../layers/{h}/diff"
        try:
            os.symlink(target, link)
        except FileExistsError:
            if os.readlink(link) != target:
                raise ImageError(f"short layer name collision for {h[:12]}") from None

    def add_layer(self, src: BinaryIO, parent_chain: str | None = None,
                  on_bytes: Callable[[int], None] | None = None) -> LayerInfo:
        """Store a layer tar (plain, gzip or zstd) given as a stream, and unpack it.
        Used by ``import``, ``load`` and the builder.  The blob is kept as given."""
        digest, size = self.ingest_file(src)
        with open(self.blob_path(digest), "rb") as f:
            head = f.read(4)
        from runtime.images.stream import sniff_compression

        media = mt.COMPRESSION_TO_OCI[sniff_compression(head)]
        info = LayerInfo(digest, media, size, "")
        return LayerInfo(digest, media, size, self._unpack_unknown(info, parent_chain,
                                                                   on_bytes))

    def _unpack_unknown(self, info: LayerInfo, parent_chain: str | None,
                        on_bytes: Callable[[int], None] | None) -> str:
        """Extract a blob whose diff_id is not known yet (so neither is its chain ID):
        into a staging name, renamed once the diff_id is known.  Returns the diff_id."""
        from runtime.images.extract import extract_layer, remove_tree

        staging = self.layers / f".stage-{hex_of(info.digest)[:16]}-{os.getpid()}"
        if staging.exists():
            remove_tree(staging)
        with open(self.blob_path(info.digest), "rb") as f:
            res = extract_layer(f, staging, expected_digest=info.digest, on_bytes=on_bytes)
        diff_id = res.diff_id
        chain = diff_id if parent_chain is None else sha256_bytes(
            f"{parent_chain} {diff_id}".encode())
        if self.has_layer(chain):
            remove_tree(staging)
            return diff_id
        atomic_write_json(staging / "meta.json", {
            "chain_id": chain, "parent": parent_chain, "diff_id": diff_id,
            "blob": info.digest, "media_type": info.media_type,
            "blob_size": res.compressed_size, "tar_size": res.tar_size, "size": res.size,
            "entries": res.entries, "created": _now()})
        try:
            os.rename(staging, self.layers / hex_of(chain))
        except OSError:
            remove_tree(staging)
        self._link(chain)
        return diff_id

    # -- images ---------------------------------------------------------------------
    def _image(self, image_id: str, entry: dict[str, Any], idx: dict[str, Any]) -> Image:
        try:
            raw = json.loads(self.read_blob(image_id))
            manifest = json.loads(self.read_blob(entry["manifest"]))
        except (ValueError, KeyError) as e:
            raise ImageError(f"image {image_id} is damaged in the store: {e}",
                             hint="remove it with `pycompose rmi -f` and pull again") from e
        refs = tuple(sorted(t for t, v in idx["tags"].items() if v["id"] == image_id))
        size = 0
        for c in chain_ids(list((raw.get("rootfs") or {}).get("diff_ids") or [])):
            size += int(self.layer_meta(c).get("size", 0))
        return Image(image_id, raw, entry["manifest"], manifest, refs,
                     tuple(entry.get("repo_digests", ())), entry.get("added", 0.0), size,
                     self)

    def list(self, *, include_intermediate: bool = False) -> list[Image]:
        idx = self._read_index()
        out = []
        for iid, entry in idx["images"].items():
            if entry.get("intermediate") and not include_intermediate:
                refs = [t for t, v in idx["tags"].items() if v["id"] == iid]
                if not refs:
                    continue
            out.append(self._image(iid, entry, idx))
        out.sort(key=lambda i: i.created_at, reverse=True)
        return out

    def get(self, image_id: str) -> Image:
        idx = self._read_index()
        entry = idx["images"].get(image_id)
        if entry is None:
            raise ImageNotFound(f"no such image: {image_id}")
        return self._image(image_id, entry, idx)

    def _lookup(self, idx: dict[str, Any], text: str) -> str | None:
        """Image ID for a name, tag, repo digest, full or short ID; None if absent."""
        text = text.strip()
        bare = text[7:] if text.startswith("sha256:") else text
        if bare and all(c in "0123456789abcdef" for c in bare) and len(bare) <= 64:
            hits = [i for i in idx["images"] if i[7:].startswith(bare)]
            if len(hits) == 1 and (len(bare) >= 4 or len(bare) == 64):
                return hits[0]
            if len(hits) > 1:
                raise InvalidReference(f"short image ID {text!r} is ambiguous",
                                       hint="give more characters of the ID")
            if len(bare) == 64:
                return None
        try:
            ref = parse(text)
        except InvalidReference:
            if text.startswith("sha256:"):
                return None
            raise
        if ref.digest:
            rd = f"{ref.repository}@{ref.digest}"
            for iid, entry in idx["images"].items():
                if rd in entry.get("repo_digests", ()):
                    return iid
            return None
        hit = idx["tags"].get(str(ref))
        return hit["id"] if hit else None

    def resolve(self, ref: str | Reference) -> Image:
        """The image named by a reference (``redis:7``, ``name@sha256:…``) or an ID
        (full or unique prefix, with or without ``sha256:``)."""
        idx = self._read_index()
        iid = self._lookup(idx, str(ref))
        if iid is None:
            raise ImageNotFound(f"no such image: {ref}",
                                hint=f"pull it first: pycompose image pull {ref}")
        return self._image(iid, idx["images"][iid], idx)

    def exists(self, ref: str | Reference) -> bool:
        try:
            return self._lookup(self._read_index(), str(ref)) is not None
        except InvalidReference:
            return False

    def add_repo_digest(self, image_id: str, repo_digest: str) -> None:
        with self._update() as idx:
            entry = idx["images"].get(image_id)
            if entry is not None and repo_digest not in entry.setdefault("repo_digests", []):
                entry["repo_digests"].append(repo_digest)

    def tag_info(self, ref: str | Reference) -> dict[str, Any] | None:
        """Index record of a tag (``{"id", "updated", "pulled"}``) or None."""
        return self._read_index()["tags"].get(str(parse(str(ref))))

    def register(self, *, manifest: bytes, config: bytes, tags: list[Reference] = (),
                 repo_digest: str | None = None, intermediate: bool = False,
                 pulled: bool = False, index_digest: str | None = None) -> Image:
        """Record an image whose blobs and layers are all in the store."""
        mdigest = self.put_blob(manifest)
        iid = self.put_blob(config)
        m = json.loads(manifest)
        cfg = json.loads(config)
        diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
        if len(diff_ids) > MAX_LAYERS:
            raise ImageError(f"image has {len(diff_ids)} layers; at most {MAX_LAYERS}"
                             " are supported", hint="flatten the image")
        for c in chain_ids(diff_ids):
            if not self.has_layer(c):
                raise ImageError(f"layer {c} of image {iid} is not unpacked")
        if m.get("config", {}).get("digest") != iid:
            raise DigestMismatch("manifest does not reference this config")
        now = _now()
        with self._update() as idx:
            entry = idx["images"].setdefault(iid, {"added": now, "manifest": mdigest,
                                                   "repo_digests": []})
            entry["manifest"] = mdigest
            if not intermediate:
                entry.pop("intermediate", None)
            elif "intermediate" not in entry and len(entry) <= 3:
                entry["intermediate"] = True
            if repo_digest and repo_digest not in entry["repo_digests"]:
                entry["repo_digests"].append(repo_digest)
            if index_digest and index_digest not in entry.setdefault("index_digests", []):
                entry["index_digests"].append(index_digest)
            for t in tags:
                prev = idx["tags"].get(str(t), {})
                rec = {"id": iid, "updated": now}
                if pulled:
                    rec["pulled"] = now
                elif "pulled" in prev and prev.get("id") == iid:
                    rec["pulled"] = prev["pulled"]
                idx["tags"][str(t)] = rec
            return self._image(iid, entry, idx)

    def create_image(self, config: dict[str, Any], layers: list[LayerInfo],
                     tags: list[Reference] = (), intermediate: bool = False) -> Image:
        """Build config + OCI manifest for layers already in the store (builder, import)."""
        config = dict(config)
        config["rootfs"] = {"type": "layers", "diff_ids": [lay.diff_id for lay in layers]}
        cfg_bytes = json.dumps(config, separators=(",", ":"), sort_keys=True).encode()
        return self.image_from_config(cfg_bytes, layers, tags, intermediate=intermediate)

    def image_from_config(self, cfg_bytes: bytes, layers: list[LayerInfo],
                          tags: list[Reference] = (), *, intermediate: bool = False,
                          repo_digest: str | None = None) -> Image:
        """Register an image from exact config bytes (so its ID is kept) and stored
        layers, writing an OCI manifest for it."""
        manifest = {
            "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": sha256_bytes(cfg_bytes),
                       "size": len(cfg_bytes)},
            "layers": [{"mediaType": lay.media_type, "digest": lay.digest, "size": lay.size}
                       for lay in layers],
        }
        m_bytes = json.dumps(manifest, separators=(",", ":")).encode()
        # a layer added without its parent chain is unpacked again under the chain ID
        # it has in *this* stack (layer dirs are per chain ID)
        chains = chain_ids([lay.diff_id for lay in layers])
        for i, (lay, chain) in enumerate(zip(layers, chains, strict=True)):
            if not self.has_layer(chain):
                self.unpack_layer(chain, chains[i - 1] if i else None, lay)
        self.put_blob(cfg_bytes)
        return self.register(manifest=m_bytes, config=cfg_bytes, tags=list(tags),
                             intermediate=intermediate, repo_digest=repo_digest)

    # -- tags, removal --------------------------------------------------------------
    def tag(self, source: str, target: str) -> Reference:
        ref = parse(target)
        if ref.digest:
            raise InvalidReference(f"cannot tag with a digest reference: {target}")
        with self._update() as idx:
            iid = self._lookup(idx, source)
            if iid is None:
                raise ImageNotFound(f"no such image: {source}")
            idx["tags"][str(ref)] = {"id": iid, "updated": _now()}
        return ref

    def containers_using(self) -> dict[str, list[str]]:
        """image ID -> container IDs/names, read from ``<root>/containers/*/config.json``
        (key ``image_id`` at top level or under ``spec``) plus registered probes."""
        used: dict[str, list[str]] = {}
        cdir = self.paths.containers
        if cdir.is_dir():
            for cfg in cdir.glob("*/config.json"):
                try:
                    data = read_json(cfg)
                except (OSError, ValueError):
                    continue
                iid = data.get("image_id") or (data.get("spec") or {}).get("image_id")
                if isinstance(iid, str) and iid:
                    used.setdefault(iid, []).append(data.get("name") or cfg.parent.name)
        for probe in self.usage_probes:
            for iid in probe():
                used.setdefault(iid, []).append("?")
        return used

    def remove(self, ref: str, *, force: bool = False, prune_children: bool = True
               ) -> list[tuple[str, str]]:
        """``rmi``: untag a tag; delete the image when its last tag goes (or when given
        by ID).  Returns ``[("Untagged", name) | ("Deleted", id)]``."""
        events: list[tuple[str, str]] = []
        with self._flock("gc.lock", fcntl.LOCK_EX), self._update() as idx:
            iid = self._lookup(idx, ref)
            if iid is None:
                raise ImageNotFound(f"no such image: {ref}")
            tags = sorted(t for t, v in idx["tags"].items() if v["id"] == iid)
            by_name = False
            try:
                r = parse(ref)
                by_name = str(r) in idx["tags"] and not r.digest
            except InvalidReference:
                pass
            if by_name and len(tags) > 1 and not force:
                del idx["tags"][str(r)]
                events.append(("Untagged", r.familiar))
                return events
            if not by_name and len(tags) > 1 and not force:
                raise ImageInUse(
                    f"unable to delete {iid[7:19]} (must be forced): image is referenced"
                    f" in multiple repositories ({', '.join(tags)})",
                    hint="remove the tags one by one, or use -f")
            users = self.containers_using().get(iid)
            if users and not force:
                raise ImageInUse(
                    f"unable to remove image {ref}: it is used by container(s)"
                    f" {', '.join(users)}",
                    hint="remove the containers first, or use -f to untag anyway")
            for t in tags:
                del idx["tags"][t]
                events.append(("Untagged", parse(t).familiar))
            if users:  # forced while in use: untag only, like Docker
                return events
            del idx["images"][iid]
            events.append(("Deleted", iid))
            self._gc_locked(idx)
        return events

    def prune(self, *, all_images: bool = False) -> tuple[list[str], int]:
        """Remove dangling images (``all_images``: every image not used by a container)
        and unreferenced content.  Returns (deleted IDs, reclaimed bytes)."""
        deleted = []
        with self._flock("gc.lock", fcntl.LOCK_EX), self._update() as idx:
            used = self.containers_using()
            tagged = {v["id"] for v in idx["tags"].values()}
            for iid in list(idx["images"]):
                if iid in used:
                    continue
                if iid in tagged and not all_images:
                    continue
                for t in [t for t, v in idx["tags"].items() if v["id"] == iid]:
                    del idx["tags"][t]
                del idx["images"][iid]
                deleted.append(iid)
            reclaimed = self._gc_locked(idx)
        return deleted, reclaimed

    def gc(self) -> int:
        with self._flock("gc.lock", fcntl.LOCK_EX), self._update() as idx:
            return self._gc_locked(idx)

    def _gc_locked(self, idx: dict[str, Any]) -> int:
        """Delete blobs and layers not reachable from the index.  Caller holds gc.lock
        exclusively (no pull is adding content) and the index lock."""
        keep_blobs: set[str] = set()
        keep_layers: set[str] = set()
        for iid, entry in idx["images"].items():
            keep_blobs.add(hex_of(iid))
            keep_blobs.add(hex_of(entry["manifest"]))
            for d in entry.get("index_digests", ()):
                keep_blobs.add(hex_of(d))
            try:
                m = json.loads(self.read_blob(entry["manifest"]))
                cfg = json.loads(self.read_blob(iid))
            except (ImageNotFound, ValueError):
                continue
            for lay in m.get("layers", ()):
                if is_digest(lay.get("digest", "")):
                    keep_blobs.add(hex_of(lay["digest"]))
            for c in chain_ids((cfg.get("rootfs") or {}).get("diff_ids") or []):
                keep_layers.add(hex_of(c))
        reclaimed = 0
        if self.blobs.is_dir():
            for p in self.blobs.iterdir():
                if p.name not in keep_blobs:
                    reclaimed += p.stat().st_size
                    p.unlink()
        if self.layers.is_dir():
            from runtime.images.extract import remove_tree

            for p in self.layers.iterdir():
                if p.name in keep_layers:
                    continue
                meta = p / "meta.json"
                with contextlib.suppress(OSError, ValueError):
                    reclaimed += int(read_json(meta).get("size", 0))
                remove_tree(p)
        if self.links.is_dir():
            for p in self.links.iterdir():
                if not p.exists():
                    p.unlink()
        if self.ingest.is_dir():
            for p in self.ingest.iterdir():
                with contextlib.suppress(OSError):
                    p.unlink()
        return reclaimed

    # -- import ---------------------------------------------------------------------
    def import_rootfs(self, src: BinaryIO, tag: Reference | None = None, *,
                      changes: dict[str, Any] | None = None, message: str = "",
                      platform: str | None = None) -> Image:
        """``docker import``: one layer from a root filesystem tarball."""
        from runtime.images.platform import Platform, host_platform

        plat = Platform.parse(platform) if platform else host_platform()
        with self.lease():
            layer = self.add_layer(src)
            now = _iso(_now())
            config: dict[str, Any] = {
                "architecture": plat.architecture, "os": plat.os, "created": now,
                "config": dict(changes or {}),
                "history": [{"created": now, "created_by": "pycompose image import",
                             **({"comment": message} if message else {})}],
            }
            if plat.variant:
                config["variant"] = plat.variant
            return self.create_image(config, [layer], [tag] if tag else [])


def _mkstemp(d: Path) -> tuple[int, str]:
    import tempfile

    return tempfile.mkstemp(prefix="ingest-", dir=d)

