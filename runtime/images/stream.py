"""Decompress-and-hash a layer stream in a background thread.

One pass over the compressed bytes computes the blob digest (sha256 of what was
transferred) and the diff_id (sha256 of the uncompressed tar) while the consumer
parses the tar.  zlib, zstandard and hashlib release the GIL on large buffers, so the
decompression really runs beside the extractor on another core.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import zlib
from typing import BinaryIO

from runtime.images.errors import CorruptLayer

CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def sniff_compression(head: bytes) -> str:
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    return "none"


class _Gunzip:
    """Multi-member gzip (as Go's gzip reader); errors on truncation."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(31)

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            out.append(self._d.decompress(data))
            if self._d.eof:
                data = self._d.unused_data
                if data and data.strip(b"\0"):
                    self._d = zlib.decompressobj(31)
                    continue
                if data:  # zero padding after the last member: ignore
                    data = b""
            else:
                data = b""
        return b"".join(out)

    def finish(self) -> bytes:
        if not self._d.eof:
            raise CorruptLayer("truncated gzip stream (no end-of-stream marker)",
                               hint="the layer blob is incomplete; pull it again")
        return b""


class _Unzstd:
    def __init__(self) -> None:
        import zstandard  # optional: only zstd layers need it

        self._z = zstandard
        self._d = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes) -> bytes:
        out = []
        while data:
            out.append(self._d.decompress(data))
            if self._d.eof:
                data = self._d.unused_data
                if data and data.strip(b"\0"):
                    self._d = self._z.ZstdDecompressor().decompressobj()
                    continue
            data = b""
        return b"".join(out)

    def finish(self) -> bytes:
        if not self._d.eof:
            raise CorruptLayer("truncated zstd stream", hint="pull the layer again")
        return b""


class _Plain:
    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


_EOF = object()


class LayerStream:
    """A read-only, forward-only file object over the decompressed layer.

    ``tell``/``seek`` (forward only) exist so :mod:`tarfile` can parse headers from it.
    Digests are final after :meth:`drain`.
    """

    def __init__(self, src: BinaryIO, *, threaded: bool = True) -> None:
        self._src = src
        self.compressed = hashlib.sha256()
        self.uncompressed = hashlib.sha256()
        self.compressed_size = 0
        self.size = 0
        self._buf = b""
        self._off = 0
        self._pos = 0
        self._done = False
        self._stop = threading.Event()
        head = src.read(CHUNK)
        self.compression = sniff_compression(head)
        try:
            self._dec = {"gzip": _Gunzip, "zstd": _Unzstd, "none": _Plain}[self.compression]()
        except ImportError as e:
            raise CorruptLayer("zstd layer but the 'zstandard' module is missing",
                               hint="pip install zstandard") from e
        # plain tar: the blob digest *is* the diff_id; hash once
        self._dec_hash = self.compression != "none"
        self._first = head
        self._q: queue.Queue | None = None
        self._thread = None
        # a plain tar only needs hashing: handing 1 MiB chunks between threads costs
        # more than it saves (measured); decompression is worth a second core
        if threaded and self.compression != "none":
            self._q = queue.Queue(maxsize=16)
            self._thread = threading.Thread(target=self._produce, name="layer-decompress",
                                            daemon=True)
            self._thread.start()

    # -- producer ---------------------------------------------------------------
    def _chunks(self):
        data = self._first
        self._first = b""
        while data:
            self.compressed.update(data)
            self.compressed_size += len(data)
            try:
                out = self._dec.feed(data)
            except zlib.error as e:
                raise CorruptLayer(f"corrupt gzip data: {e}",
                                   hint="the layer blob is damaged; pull it again") from e
            except Exception as e:
                if type(e).__module__.startswith("zstandard"):
                    raise CorruptLayer(f"corrupt zstd data: {e}") from e
                raise
            if out:
                if self._dec_hash:
                    self.uncompressed.update(out)
                self.size += len(out)
                yield out
            data = self._src.read(CHUNK)
        self._dec.finish()

    def _put(self, item) -> bool:
        assert self._q is not None
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for out in self._chunks():
                if not self._put(out):
                    return
            self._put(_EOF)
        except BaseException as e:  # handed to the consumer
            self._put(e)

    def _next_chunk(self) -> bytes | None:
        if self._done:
            return None
        if self._q is None:
            if not hasattr(self, "_gen"):
                self._gen = self._chunks()
            try:
                return next(self._gen)
            except StopIteration:
                self._done = True
                return None
        item = self._q.get()
        if item is _EOF:
            self._done = True
            return None
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item

    # -- file API -----------------------------------------------------------------
    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = [self._buf[self._off:]]
            while (c := self._next_chunk()) is not None:
                parts.append(c)
            self._buf, self._off = b"", 0
            data = b"".join(parts)
            self._pos += len(data)
            return data
        avail = len(self._buf) - self._off
        if avail >= n:
            data = self._buf[self._off:self._off + n]
            self._off += n
            self._pos += n
            return data
        parts = [self._buf[self._off:]] if avail else []
        need = n - avail
        self._buf, self._off = b"", 0
        while need > 0:
            c = self._next_chunk()
            if c is None:
                break
            if len(c) <= need:
                parts.append(c)
                need -= len(c)
            else:
                parts.append(c[:need])
                self._buf, self._off = c, need
                need = 0
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        self._pos += len(data)
        return data

    def readinto_chunks(self, n: int):
        """Yield up to ``n`` bytes as memoryviews without extra copies."""
        while n > 0:
            avail = len(self._buf) - self._off
            if not avail:
                c = self._next_chunk()
                if c is None:
                    return
                self._buf, self._off = c, 0
                avail = len(c)
            take = min(avail, n)
            yield memoryview(self._buf)[self._off:self._off + take]
            self._off += take
            self._pos += take
            n -= take

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        if pos < self._pos:
            raise OSError("LayerStream can only seek forward")
        skip = pos - self._pos
        while skip:
            got = len(self.read(min(skip, CHUNK)))
            if not got:
                break
            skip -= got
        return self._pos

    def drain(self) -> bytes:
        """Consume everything left; return it if it is short (trailing data check)."""
        tail = []
        kept = 0
        while True:
            data = self.read(CHUNK)
            if not data:
                break
            if kept < 1 << 16:
                tail.append(data[: (1 << 16) - kept])
                kept += len(tail[-1])
        return b"".join(tail)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def digest(self) -> str:
        return "sha256:" + self.compressed.hexdigest()

    @property
    def diff_id(self) -> str:
        h = self.uncompressed if self._dec_hash else self.compressed
        return "sha256:" + h.hexdigest()
