"""``save`` and ``load``: docker-archive and OCI image layout tarballs.

* ``docker`` format (``docker save`` before Docker 25): ``manifest.json``
  (``[{"Config", "RepoTags", "Layers"}]``), ``<config hex>.json``, ``<diff_id hex>/layer.tar``
  (uncompressed layers).
* ``oci`` format: ``oci-layout``, ``index.json`` (ref names in annotations),
  ``blobs/sha256/<hex>`` (our stored blobs: manifest, config, compressed layers), plus a
  ``manifest.json`` pointing into ``blobs/`` as Docker >= 25 writes, so ``docker load``
  reads it too.

``load`` accepts both (and Docker 25+ / skopeo variants): ``index.json`` is preferred,
otherwise ``manifest.json``.  Everything read is verified (blob digests, diff_ids);
member paths are resolved inside the archive only; names in the archive are treated as
untrusted references and normalised.
"""

from __future__ import annotations

import contextlib
import io
import json
import posixpath
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from typing import BinaryIO

from runtime.errors import InvalidInputError
from runtime.images import mediatypes as mt
from runtime.images.digest import chain_ids, check_digest, hex_of, sha256_bytes
from runtime.images.errors import DigestMismatch, InvalidReference, UnsafeLayer
from runtime.images.platform import host_platform, select_manifest
from runtime.images.reference import Reference, parse
from runtime.images.store import Image, ImageStore, LayerInfo
from runtime.images.stream import LayerStream

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mtime = int(time.time())
    ti.mode = 0o644
    tf.addfile(ti, io.BytesIO(data))


def _add_dir(tf: tarfile.TarFile, name: str) -> None:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    tf.addfile(ti)


def save(store: ImageStore, names: list[str], out: BinaryIO, fmt: str = "docker") -> None:
    """Write the images ``names`` (names or IDs) to ``out`` as a tar stream."""
    if fmt not in ("docker", "oci"):
        raise InvalidReference(f"unknown archive format {fmt!r}", hint="docker or oci")
    images: list[tuple[Image, list[str]]] = []
    for n in names:
        img = store.resolve(n)
        try:
            ref = parse(n)
            tags = [str(ref)] if str(ref) in img.references else list(img.references)
        except InvalidReference:
            tags = list(img.references)
        images.append((img, tags))
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        if fmt == "docker":
            _save_docker(store, images, tf)
        else:
            _save_oci(store, images, tf)


def _save_docker(store: ImageStore, images, tf: tarfile.TarFile) -> None:
    manifest = []
    written: set[str] = set()
    for img, tags in images:
        cfg_name = f"{hex_of(img.id)}.json"
        if cfg_name not in written:
            _add_bytes(tf, cfg_name, store.read_blob(img.id))
            written.add(cfg_name)
        layers = []
        for desc, diff_id, chain in zip(img.manifest["layers"], img.diff_ids, img.chain_ids,
                                        strict=True):
            d = hex_of(diff_id)
            name = f"{d}/layer.tar"
            layers.append(name)
            if name in written:
                continue
            written.add(name)
            _add_dir(tf, f"{d}/")
            meta = store.layer_meta(chain)
            with open(store.blob_path(desc["digest"]), "rb") as f:
                stream = LayerStream(f, threaded=False)
                size = meta.get("tar_size")
                if size is None:  # older meta: measure first
                    while stream.read(1 << 20):
                        pass
                    size = stream.size
                    f.seek(0)
                    stream = LayerStream(f, threaded=False)
                ti = tarfile.TarInfo(name)
                ti.size = int(size)
                ti.mode = 0o644
                ti.mtime = int(time.time())
                tf.addfile(ti, stream)
                stream.drain()
                if stream.diff_id != diff_id:
                    raise DigestMismatch(f"stored layer {desc['digest']} does not match"
                                         f" diff_id {diff_id}")
            _add_bytes(tf, f"{d}/VERSION", b"1.0")
        manifest.append({"Config": cfg_name,
                         "RepoTags": [parse(t).familiar for t in tags] or None,
                         "Layers": layers})
    _add_bytes(tf, "manifest.json", json.dumps(manifest).encode())


def _save_oci(store: ImageStore, images, tf: tarfile.TarFile) -> None:
    _add_bytes(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    _add_dir(tf, "blobs/")
    _add_dir(tf, "blobs/sha256/")
    written: set[str] = set()
    entries = []
    docker_manifest = []

    def blob(digest: str) -> str:
        name = f"blobs/sha256/{hex_of(digest)}"
        if name not in written:
            written.add(name)
            path = store.blob_path(digest)
            ti = tf.gettarinfo(str(path), name)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            with open(path, "rb") as f:
                tf.addfile(ti, f)
        return name

    for img, tags in images:
        mdata = store.read_blob(img.manifest_digest)
        blob(img.manifest_digest)
        cfg = blob(img.id)
        layers = [blob(d["digest"]) for d in img.manifest["layers"]]
        base = {"mediaType": img.manifest.get("mediaType") or mt.OCI_MANIFEST,
                "digest": img.manifest_digest, "size": len(mdata)}
        for t in tags or [None]:
            e = dict(base)
            if t:
                r = parse(t)
                e["annotations"] = {CONTAINERD_NAME: str(r), REF_NAME: r.tag or "latest"}
            entries.append(e)
        docker_manifest.append({"Config": cfg, "RepoTags": [parse(t).familiar for t in tags],
                                "Layers": layers})
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": entries}
    _add_bytes(tf, "index.json", json.dumps(index).encode())
    _add_bytes(tf, "manifest.json", json.dumps(docker_manifest).encode())


# -- load ---------------------------------------------------------------------------
class _Archive:
    def __init__(self, tf: tarfile.TarFile) -> None:
        self.tf = tf
        self.members: dict[str, tarfile.TarInfo] = {}
        for m in tf.getmembers():
            self.members[self._norm(m.name)] = m

    @staticmethod
    def _norm(name: str) -> str:
        n = posixpath.normpath("/" + name.lstrip("./"))
        return n.lstrip("/")

    def member(self, name: str, hops: int = 0) -> tarfile.TarInfo:
        if "\0" in name or hops > 16:
            raise UnsafeLayer(f"archive member {name!r}: bad name or link loop")
        m = self.members.get(self._norm(name))
        if m is None:
            raise InvalidInputError(f"archive has no member {name!r}",
                                    hint="the archive is incomplete or not an image archive")
        if m.issym():  # resolved lexically inside the archive (skopeo layer.tar links)
            target = posixpath.join(posixpath.dirname(self._norm(name)), m.linkname)
            return self.member(target, hops + 1)
        if m.islnk():
            return self.member(m.linkname, hops + 1)
        if not m.isreg():
            raise InvalidInputError(f"archive member {name!r} is not a file")
        return m

    def open(self, name: str) -> BinaryIO:
        f = self.tf.extractfile(self.member(name))
        assert f is not None
        return f

    def read(self, name: str, limit: int = 64 << 20) -> bytes:
        m = self.member(name)
        if m.size > limit:
            raise InvalidInputError(f"archive member {name!r} is too large ({m.size} bytes)")
        return self.open(name).read()

    def has(self, name: str) -> bool:
        return self._norm(name) in self.members


def load(store: ImageStore, src: BinaryIO, *,
         on_event: Callable[[str], None] | None = None) -> list[Image]:
    """Load every image of a docker-archive or OCI-layout tar; returns them."""
    spool = None
    try:
        try:
            src.seek(0, 1)
            seekable = True
        except (OSError, AttributeError, io.UnsupportedOperation):
            seekable = False
        if not seekable:
            spool = tempfile.TemporaryFile(  # noqa: SIM115
                dir=store.root if store.root.exists() else None)
            shutil.copyfileobj(src, spool, 1 << 20)
            spool.seek(0)
            src = spool
        try:
            tf = tarfile.open(fileobj=src, mode="r:*")  # noqa: SIM115
        except tarfile.TarError as e:
            raise InvalidInputError(f"not a tar archive: {e}",
                                    hint="give a file written by `save` or `docker save`"
                                    ) from e
        with tf, store.lease():
            arc = _Archive(tf)
            if arc.has("index.json"):
                images = _load_oci(store, arc)
            elif arc.has("manifest.json"):
                images = _load_docker(store, arc)
            else:
                raise InvalidInputError("archive has neither index.json nor manifest.json",
                                        hint="is this an image archive?")
        for img in images:
            if on_event:
                if img.references:
                    for r in img.references:
                        on_event(f"Loaded image: {parse(r).familiar}")
                else:
                    on_event(f"Loaded image ID: {img.id}")
        return images
    finally:
        if spool is not None:
            spool.close()


def _safe_tags(names) -> list[Reference]:
    out = []
    for n in names or []:
        with contextlib.suppress(InvalidReference):
            r = parse(n)
            if r.tag and not r.digest:
                out.append(r)
    return out


def _store_layers(store: ImageStore, arc: _Archive, cfg: dict, paths: list[str],
                  descs: list[dict] | None) -> list[LayerInfo]:
    diff_ids = list((cfg.get("rootfs") or {}).get("diff_ids") or [])
    if len(diff_ids) != len(paths):
        raise InvalidInputError(f"image has {len(paths)} layers but its config lists"
                                f" {len(diff_ids)} diff_ids")
    chains = chain_ids(diff_ids)
    infos = []
    for i, path in enumerate(paths):
        expected = descs[i]["digest"] if descs else None
        if expected and store.has_blob(expected):
            digest, size = expected, store.blob_path(expected).stat().st_size
        else:
            digest, size = store.ingest_file(arc.open(path), expected)
        with open(store.blob_path(digest), "rb") as f:
            from runtime.images.stream import sniff_compression

            media = mt.COMPRESSION_TO_OCI[sniff_compression(f.read(4))]
        if descs:
            media = descs[i].get("mediaType", media)
        info = LayerInfo(digest, media, size, diff_ids[i])
        store.unpack_layer(chains[i], chains[i - 1] if i else None, info)
        infos.append(info)
    return infos


def _load_docker(store: ImageStore, arc: _Archive) -> list[Image]:
    try:
        manifest = json.loads(arc.read("manifest.json"))
        assert isinstance(manifest, list)
    except (ValueError, AssertionError) as e:
        raise InvalidInputError("invalid manifest.json in the archive") from e
    images = []
    for entry in manifest:
        cfg_bytes = arc.read(entry["Config"])
        cfg = json.loads(cfg_bytes)
        infos = _store_layers(store, arc, cfg, list(entry.get("Layers") or []), None)
        images.append(store.image_from_config(cfg_bytes, infos,
                                              _safe_tags(entry.get("RepoTags"))))
    return images


def _load_oci(store: ImageStore, arc: _Archive) -> list[Image]:
    index = json.loads(arc.read("index.json"))
    images = []

    def blob_bytes(desc: dict) -> bytes:
        d = check_digest(desc.get("digest", ""))
        data = arc.read(f"blobs/sha256/{hex_of(d)}")
        if sha256_bytes(data) != d:
            raise DigestMismatch(f"archive blob {d} does not match its digest")
        return data

    for desc in index.get("manifests") or []:
        ann = desc.get("annotations") or {}
        data = blob_bytes(desc)
        m = json.loads(data)
        media = desc.get("mediaType") or m.get("mediaType")
        if media in mt.INDEX_TYPES or ("manifests" in m and "layers" not in m):
            sub = select_manifest(m, host_platform())
            if sub is None:
                continue
            data = blob_bytes(sub)
            m = json.loads(data)
        cfg_bytes = blob_bytes(m["config"])
        cfg = json.loads(cfg_bytes)
        paths = [f"blobs/sha256/{hex_of(check_digest(lay['digest']))}" for lay in m["layers"]]
        _store_layers(store, arc, cfg, paths, m["layers"])
        name = ann.get(CONTAINERD_NAME)
        if not name and ann.get(REF_NAME) and ("/" in ann[REF_NAME] or ":" in ann[REF_NAME]):
            name = ann[REF_NAME]
        images.append(store.register(manifest=data, config=cfg_bytes,
                                     tags=_safe_tags([name] if name else [])))
    return images
