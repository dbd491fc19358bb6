"""Safe extraction of one image layer into its own directory (overlayfs lower dir).

Headers are parsed by :mod:`runtime.images.tarparse` (a strict reader for the tar
dialects layers use: ustar, pax, GNU long names); every file is written here, relative
to a directory fd, with ``O_NOFOLLOW``.  Safety model (see docs/architecture.md, "Images"):

* names are normalised; absolute names, ``..`` components, NUL bytes, over-long names
  are refused (:class:`UnsafeLayer`);
* the layer is extracted into a fresh private directory that only this extractor
  writes.  It keeps a map of every path it created and its type; a parent component must
  be a directory *of this map* — a layer can never write through a symlink (nor a file)
  it created itself, so a symlink's target is only ever data.  Regular files are in
  addition opened with ``openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS)`` when the kernel
  has it (defence in depth);
* hard links must name a non-directory entry already extracted from the same layer;
* whiteouts ``.wh.NAME`` become overlay whiteouts (char device 0:0) and
  ``.wh..wh..opq`` sets ``trusted.overlay.opaque=y``, regardless of entry order;
* modes (incl. setuid/setgid/sticky), numeric ownership, allowed xattrs
  (``security.capability``, ``user.*``) and mtimes are preserved; directory attributes
  are applied after their children; devices are created only as root;
* everything lands in ``<dest>.tmp-*`` and is renamed to ``dest`` only when the whole
  stream parsed, the sizes add up and the digests match: a failed layer leaves nothing.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from runtime.images.errors import CorruptLayer, DigestMismatch, ImageError, UnsafeLayer
from runtime.images.stream import LayerStream
from runtime.images.tarparse import Member, TarReader

MAX_ENTRIES = 5_000_000
MAX_NAME = 4096
MAX_COMPONENT = 255
MAX_TOTAL = 1 << 40          # 1 TiB of claimed file data per layer
WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
ALLOWED_XATTR_PREFIXES = ("user.", "security.capability")
_WRITE_CHUNK = 1 << 20

_IS_ROOT = os.geteuid() == 0


# -- openat2 (Linux >= 5.6), ctypes syscall 437 on x86_64/aarch64 ---------------------
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
_SYS_OPENAT2 = 437


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _syscall = _libc.syscall
    _syscall.restype = ctypes.c_long
except (OSError, AttributeError):  # pragma: no cover
    _syscall = None
_openat2_ok = _syscall is not None


_how_cache: dict[tuple[int, int], tuple[object, int, _OpenHow]] = {}


def openat2_beneath(dir_fd: int, path: str, flags: int, mode: int) -> int:
    """``openat2`` refusing symlinks and escapes; falls back to ``os.open`` + O_NOFOLLOW
    when the kernel lacks it (the caller's parent-type map is then the guarantee)."""
    global _openat2_ok
    if _openat2_ok:
        hit = _how_cache.get((flags, mode))
        if hit is None:
            how = _OpenHow(flags, mode, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
                           RESOLVE_NO_MAGICLINKS)
            # the struct is kept alive next to its pointer
            hit = _how_cache[(flags, mode)] = (ctypes.byref(how), ctypes.sizeof(how), how)
        fd = _syscall(_SYS_OPENAT2, dir_fd, path.encode("utf-8", "surrogateescape"),
                      hit[0], hit[1])
        if fd >= 0:
            return fd
        err = ctypes.get_errno()
        if err != errno.ENOSYS:
            raise OSError(err, os.strerror(err), path)
        _openat2_ok = False
    return os.open(path, flags | os.O_NOFOLLOW, mode, dir_fd=dir_fd)


# -- names ------------------------------------------------------------------------
def normalize_name(name: str) -> str:
    """Layer-relative path ('' for the root) or :class:`UnsafeLayer`."""
    if "\0" in name:
        raise UnsafeLayer(f"layer entry name contains a NUL byte: {name!r}")
    if len(name) > MAX_NAME:
        raise UnsafeLayer(f"layer entry name longer than {MAX_NAME} bytes")
    if name.startswith("/"):
        raise UnsafeLayer(f"layer entry has an absolute path: {name!r}",
                          hint="image layers must use relative names")
    parts = []
    for comp in name.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            raise UnsafeLayer(f"layer entry escapes the layer root with '..': {name!r}")
        if len(comp.encode("utf-8", "surrogateescape")) > MAX_COMPONENT:
            raise UnsafeLayer(f"layer entry name component longer than {MAX_COMPONENT}")
        parts.append(comp)
    return "/".join(parts)


@dataclass
class LayerResult:
    diff_id: str
    digest: str            # sha256 of the bytes read (compressed blob)
    compressed_size: int
    tar_size: int
    size: int              # bytes of regular file data written
    entries: int
    compression: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Attrs:
    mode: int
    uid: int
    gid: int
    mtime: float
    xattrs: dict[str, bytes]


class _Extractor:
    def __init__(self, root_fd: int, *, same_owner: bool, free_bytes: int | None,
                 on_bytes: Callable[[int], None] | None) -> None:
        self.root = root_fd
        self.types: dict[str, str] = {"": "d"}   # path -> 'd' dir, 'f' file, 'l' link, 'o'
        self.dir_attrs: dict[str, _Attrs] = {}
        self.opaque: set[str] = set()
        self.whiteouts: set[str] = set()
        self.same_owner = same_owner
        self.free = free_bytes
        self.total = 0
        self.size = 0
        self.entries = 0
        self.warnings: list[str] = []
        self.on_bytes = on_bytes

    # -- helpers -----------------------------------------------------------------
    def _ensure_parent(self, path: str) -> None:
        parent = path.rpartition("/")[0]
        if not parent:
            return
        t = self.types.get(parent)
        if t == "d":
            return
        if t is not None:
            what = {"l": "a symbolic link", "f": "a file"}.get(t, "not a directory")
            raise UnsafeLayer(f"layer entry {path!r} would be written through {parent!r},"
                              f" which is {what} in this layer",
                              hint="the layer is malformed or hostile; refusing to follow it")
        self._ensure_parent(parent)
        os.mkdir(parent, 0o755, dir_fd=self.root)
        self.types[parent] = "d"

    def _remove(self, path: str) -> None:
        t = self.types.pop(path, None)
        if t is None:
            return
        if t == "d":
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=self.root)
            try:
                _rmtree_at(fd)
            finally:
                os.close(fd)
            os.rmdir(path, dir_fd=self.root)
            prefix = path + "/"
            for k in [k for k in self.types if k.startswith(prefix)]:
                del self.types[k]
            for k in [k for k in self.dir_attrs if k == path or k.startswith(prefix)]:
                del self.dir_attrs[k]
        else:
            os.unlink(path, dir_fd=self.root)

    def _xattrs(self, ti: Member) -> dict[str, bytes]:
        out = {}
        for k, v in ti.pax_headers.items():
            if not k.startswith("SCHILY.xattr."):
                continue
            name = k[len("SCHILY.xattr."):]
            if name.startswith(ALLOWED_XATTR_PREFIXES):
                out[name] = v.encode("utf-8", "surrogateescape")
            else:
                self.warnings.append(f"dropped xattr {name} on {ti.name}")
        return out

    def _fix_fd(self, fd: int, ti: Member, xattrs: dict[str, bytes]) -> None:
        if self.same_owner:
            os.fchown(fd, ti.uid, ti.gid)
        os.fchmod(fd, ti.mode & 0o7777)
        for k, v in xattrs.items():
            try:
                os.setxattr(fd, k, v)
            except OSError as e:
                self.warnings.append(f"xattr {k} on {ti.name}: {e.strerror}")
        os.utime(fd, ns=(int(ti.mtime * 1e9),) * 2)

    # -- entries ------------------------------------------------------------------
    def entry(self, ti: Member, stream: LayerStream) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise UnsafeLayer(f"layer has more than {MAX_ENTRIES} entries")
        path = normalize_name(ti.name)
        base = path.rpartition("/")[2]
        if base.startswith(WHITEOUT_PREFIX):
            self._whiteout(path, base)
            return
        if ti.sparse is not None:
            raise UnsafeLayer(f"sparse file {ti.name!r} in layer is not supported")
        if not path:  # the layer root itself
            if ti.isdir():
                self.dir_attrs[""] = _Attrs(ti.mode, ti.uid, ti.gid, ti.mtime, self._xattrs(ti))
            return
        self._ensure_parent(path)
        existing = self.types.get(path)
        if ti.isdir():
            if existing is not None and existing != "d":
                if existing == "w":
                    # deleted from the lower layers, then re-created here: the new
                    # directory must not show the old contents
                    self.opaque.add(path)
                self._remove(path)
                existing = None
            if existing is None:
                os.mkdir(path, 0o700, dir_fd=self.root)
                self.types[path] = "d"
            self.dir_attrs[path] = _Attrs(ti.mode, ti.uid, ti.gid, ti.mtime, self._xattrs(ti))
            return
        if existing is not None:
            self._remove(path)
        if ti.isreg():
            self._file(path, ti, stream)
        elif ti.issym():
            os.symlink(ti.linkname, path, dir_fd=self.root)
            self.types[path] = "l"
            if self.same_owner:
                os.chown(path, ti.uid, ti.gid, dir_fd=self.root, follow_symlinks=False)
            os.utime(path, ns=(int(ti.mtime * 1e9),) * 2, dir_fd=self.root,
                     follow_symlinks=False)
        elif ti.islnk():
            target = normalize_name(ti.linkname)
            t = self.types.get(target)
            if t is None or t == "d":
                raise UnsafeLayer(
                    f"hard link {ti.name!r} -> {ti.linkname!r}: the target is "
                    + ("a directory" if t == "d" else "not an earlier entry of this layer"),
                    hint="hard links may only point at files of the same layer")
            os.link(target, path, src_dir_fd=self.root, dst_dir_fd=self.root,
                    follow_symlinks=False)
            self.types[path] = t
        elif ti.ischr() or ti.isblk() or ti.isfifo():
            self._special(path, ti)
        else:
            raise UnsafeLayer(f"unsupported tar entry type {ti.type!r} for {ti.name!r}")

    def _file(self, path: str, ti: Member, stream: LayerStream) -> None:
        size = ti.size
        if size < 0:
            raise UnsafeLayer(f"negative size for {ti.name!r}")
        self.total += size
        if self.total > MAX_TOTAL:
            raise UnsafeLayer(f"layer claims more than {MAX_TOTAL} bytes of file data")
        if self.free is not None and self.total > self.free:
            raise CorruptLayer(
                f"layer entry {ti.name!r} claims {size} bytes; only {self.free} bytes free",
                hint="free disk space under the state root (or the layer is hostile)")
        fd = openat2_beneath(self.root, path,
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self.types[path] = "f"
        try:
            left = size
            for mv in stream.readinto_chunks(size):
                n = len(mv)
                while mv:
                    w = os.write(fd, mv)
                    mv = mv[w:]
                left -= n
                if self.on_bytes:
                    self.on_bytes(n)
            if left:
                raise CorruptLayer(f"layer truncated inside {ti.name!r}"
                                   f" ({left} of {size} bytes missing)",
                                   hint="the layer blob is incomplete; pull it again")
            self.size += size
            self._fix_fd(fd, ti, self._xattrs(ti))
        finally:
            os.close(fd)

    def _special(self, path: str, ti: Member) -> None:
        if ti.isfifo():
            os.mkfifo(path, 0o600, dir_fd=self.root)
        else:
            if not _IS_ROOT:
                self.warnings.append(f"skipped device node {ti.name} (needs root)")
                return
            kind = stat.S_IFCHR if ti.ischr() else stat.S_IFBLK
            os.mknod(path, kind | 0o600, os.makedev(ti.devmajor, ti.devminor),
                     dir_fd=self.root)
        self.types[path] = "o"
        fd = os.open(path, os.O_PATH | os.O_NOFOLLOW, dir_fd=self.root)
        try:
            # O_PATH fds do not allow fchmod: go through /proc/self/fd (no symlink).
            proc = f"/proc/self/fd/{fd}"
            if self.same_owner:
                os.chown(proc, ti.uid, ti.gid)
            os.chmod(proc, ti.mode & 0o7777)
            os.utime(proc, ns=(int(ti.mtime * 1e9),) * 2)
        finally:
            os.close(fd)

    def _whiteout(self, path: str, base: str) -> None:
        parent = path.rpartition("/")[0]
        if base == OPAQUE:
            self._ensure_parent(path)
            if parent and self.types.get(parent) is None:
                os.mkdir(parent, 0o755, dir_fd=self.root)
                self.types[parent] = "d"
            self.opaque.add(parent)
            return
        name = base[len(WHITEOUT_PREFIX):]
        if not name or name in (".", "..") or name.startswith(WHITEOUT_PREFIX):
            raise UnsafeLayer(f"invalid whiteout entry {path!r}")
        target = f"{parent}/{name}" if parent else name
        self._ensure_parent(target)
        if target in self.types:
            # whiteouts never hide entries of their own layer
            return
        if not _IS_ROOT:
            raise UnsafeLayer(f"whiteout {path!r} needs root (overlay whiteouts are"
                              " character devices)", hint="run pycompose as root")
        os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=self.root)
        self.types[target] = "w"
        self.whiteouts.add(target)

    def finish(self) -> None:
        for d in self.opaque:
            fd = os.open(d or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                         dir_fd=self.root)
            try:
                os.setxattr(fd, OPAQUE_XATTR, b"y")
            finally:
                os.close(fd)
        # implicit dirs get 0755 root:root; explicit ones their tar attributes
        for d in sorted(self.types, key=lambda p: -p.count("/") if p else 1):
            if self.types[d] != "d":
                continue
            attrs = self.dir_attrs.get(d)
            fd = os.open(d or ".", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                         dir_fd=self.root)
            try:
                if attrs is None:
                    os.fchmod(fd, 0o755)
                    continue
                if self.same_owner:
                    os.fchown(fd, attrs.uid, attrs.gid)
                os.fchmod(fd, attrs.mode & 0o7777)
                for k, v in attrs.xattrs.items():
                    try:
                        os.setxattr(fd, k, v)
                    except OSError as e:
                        self.warnings.append(f"xattr {k} on {d}/: {e.strerror}")
                os.utime(fd, ns=(int(attrs.mtime * 1e9),) * 2)
            finally:
                os.close(fd)


def _rmtree_at(dir_fd: int) -> None:
    """Remove the contents of ``dir_fd`` without following symlinks."""
    for name in os.listdir(dir_fd):
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            try:
                _rmtree_at(sub)
            finally:
                os.close(sub)
            os.rmdir(name, dir_fd=dir_fd)
        else:
            os.unlink(name, dir_fd=dir_fd)


def remove_tree(path: Path) -> None:
    """rmtree that also handles read-only dirs left by layers (mode 0555 etc.)."""
    def onerror(func, p, exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            func(p)
        except OSError:
            pass
    shutil.rmtree(path, onerror=onerror)


def extract_layer(src: BinaryIO, dest: Path, *, expected_diff_id: str | None = None,
                  expected_digest: str | None = None,
                  on_bytes: Callable[[int], None] | None = None,
                  meta_writer: Callable[[Path, LayerResult], None] | None = None,
                  same_owner: bool | None = None, threaded: bool = True) -> LayerResult:
    """Extract the layer read from ``src`` (gzip, zstd or plain tar) into ``dest``.

    ``dest`` must not exist; it is created atomically (temp dir + rename).  When
    ``dest`` appears meanwhile (another pull extracted the same layer) the work is
    discarded and the existing directory kept.  ``meta_writer(tmpdir, result)`` may add
    files next to ``diff/`` before the rename.  The unpacked tree is ``dest/diff``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{dest.name[:12]}-", dir=dest.parent))
    os.chmod(tmp, 0o711)
    ok = False
    stream = None
    try:
        diff = tmp / "diff"
        os.mkdir(diff, 0o755)
        try:
            st = os.statvfs(tmp)
            free = st.f_bavail * st.f_frsize
        except OSError:
            free = None
        root_fd = os.open(diff, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            stream = LayerStream(src, threaded=threaded)
            ex = _Extractor(root_fd, same_owner=_IS_ROOT if same_owner is None else same_owner,
                            free_bytes=free, on_bytes=on_bytes)
            reader = TarReader(stream)
            while True:
                ti = reader.next()
                if ti is None:
                    break
                ex.entry(ti, stream)
            tail = stream.drain()
            ex.finish()
        finally:
            os.close(root_fd)
        if tail and tail.strip(b"\0"):
            raise CorruptLayer("trailing garbage after the end of the layer tar")
        result = LayerResult(stream.diff_id, stream.digest, stream.compressed_size,
                             stream.size, ex.size, ex.entries, stream.compression,
                             ex.warnings)
        if expected_digest and result.digest != expected_digest:
            raise DigestMismatch(f"layer blob digest mismatch: expected {expected_digest},"
                                 f" got {result.digest}", hint="the blob is corrupt")
        if expected_diff_id and result.diff_id != expected_diff_id:
            raise DigestMismatch(f"layer diff_id mismatch: expected {expected_diff_id},"
                                 f" got {result.diff_id}",
                                 hint="the image config does not match its layers")
        if meta_writer:
            meta_writer(tmp, result)
        try:
            os.rename(tmp, dest)
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            # somebody else extracted the same layer first: keep theirs
            remove_tree(tmp)
        ok = True
        return result
    except OSError as e:
        raise ImageError(f"cannot extract layer into {dest}: {e}") from e
    finally:
        if stream is not None:
            stream.close()
        if not ok and tmp.exists():
            remove_tree(tmp)
