"""``volume export`` / ``volume import``: a volume's content as a tar stream.

Format: POSIX pax, entries ``.`` (the volume root) then ``./path`` in sorted walk order,
numeric owners only (no user/group names), xattrs as ``SCHILY.xattr.*`` records (GNU
tar and bsdtar understand them), mtimes in nanoseconds as a pax ``mtime`` record,
hardlinks as tar links.  Sockets are skipped.  Export of an imported volume reproduces
the original archive byte for byte (tested).

Import is all-or-nothing:

1. the whole archive is read and validated first (a corrupt or truncated archive, an
   absolute or ``..`` path, a path through a symlink of the archive, a hardlink to
   outside it, an unknown entry type: clear error, nothing changed);
2. it is extracted into a hidden staging dir inside the volume (same filesystem, also
   for tmpfs/bind driver volumes), owners/modes/xattrs/times applied without ever
   following a symlink;
3. only then is it committed (:mod:`runtime.volumes.staging`: a SIGKILL at any point
   leaves the old or the new content).  An import into a non-empty volume is refused
   unless ``replace``.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from runtime.errors import ConflictError, InvalidInputError
from runtime.volumes import staging

XATTR_PREFIX = "SCHILY.xattr."
_ENC = "utf-8"
_TYPES = {tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
          tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE,
          tarfile.GNUTYPE_SPARSE}


class CorruptArchive(InvalidInputError):
    """The archive cannot be read or would write outside the volume."""


# -- export ---------------------------------------------------------------------------

def _walk_sorted(root: Path) -> Iterator[tuple[Path, str]]:
    """Depth-first, each directory's entries in sorted order (deterministic)."""
    yield root, "."

    def rec(d: Path, arc: str) -> Iterator[tuple[Path, str]]:
        for name in sorted(os.listdir(d)):
            p, a = d / name, f"{arc}/{name}"
            yield p, a
            if stat.S_ISDIR(os.lstat(p).st_mode):
                yield from rec(p, a)

    yield from rec(root, ".")


def write_tar(src: Path, out: BinaryIO) -> int:
    """Write the content of ``src`` as a tar stream to ``out``; returns entries written."""
    count = 0
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT,
                      encoding=_ENC) as tar:
        for path, arc in _walk_sorted(Path(src)):
            st = os.lstat(path)
            if stat.S_ISSOCK(st.st_mode):
                continue
            ti = tar.gettarinfo(str(path), arcname=arc)
            if ti is None:
                continue
            ti.uname = ti.gname = ""
            pax = {"mtime": f"{st.st_mtime_ns // 10**9}.{st.st_mtime_ns % 10**9:09d}"}
            with contextlib.suppress(OSError):
                for name in sorted(os.listxattr(path, follow_symlinks=False)):
                    value = os.getxattr(path, name, follow_symlinks=False)
                    pax[XATTR_PREFIX + name] = value.decode(_ENC, "surrogateescape")
            ti.pax_headers = pax
            if ti.isreg():
                with open(path, "rb") as f:
                    tar.addfile(ti, f)
            else:
                tar.addfile(ti)
            count += 1
    return count


# -- import ---------------------------------------------------------------------------

def _norm(name: str, what: str) -> str:
    if name.startswith("/") or "\x00" in name:
        raise CorruptArchive(f"archive {what} {name!r} is an absolute path",
                             hint="volume archives hold relative paths only")
    norm = posixpath.normpath(name)
    if norm == ".." or norm.startswith("../"):
        raise CorruptArchive(f"archive {what} {name!r} escapes the volume",
                             hint="refusing to write outside the volume")
    return norm


def _validate(members: list[tarfile.TarInfo]) -> list[tuple[str, tarfile.TarInfo]]:
    symlinks: set[str] = set()
    seen: set[str] = set()
    out = []
    for m in members:
        if m.type not in _TYPES:
            raise CorruptArchive(f"unsupported archive entry type {m.type!r} for {m.name!r}",
                                 hint="only files, dirs, links, devices and fifos")
        name = _norm(m.name, "path")
        parts = name.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in symlinks:
                raise CorruptArchive(f"archive path {m.name!r} goes through a symlink",
                                     hint="refusing to write through symlinks")
        if name == "." and not m.isdir():
            raise CorruptArchive("archive root entry '.' is not a directory")
        if m.islnk():
            target = _norm(m.linkname, "hardlink target")
            if target not in seen or target in symlinks or target == ".":
                raise CorruptArchive(
                    f"archive hardlink {m.name!r} points to {m.linkname!r}, "
                    "which is not an earlier file of the archive",
                    hint="the archive is damaged or not a volume export")
        if m.issym():
            symlinks.add(name)
        else:
            symlinks.discard(name)
        seen.add(name)
        out.append((name, m))
    return out


def _mtime_ns(m: tarfile.TarInfo) -> int:
    raw = m.pax_headers.get("mtime")
    if raw:
        sec, _, frac = raw.partition(".")
        try:
            return int(sec) * 10**9 + int((frac + "000000000")[:9])
        except ValueError:
            pass
    return int(m.mtime * 10**9)


def _apply_attrs(path: Path, m: tarfile.TarInfo) -> None:
    os.chown(path, m.uid, m.gid, follow_symlinks=False)
    if not m.issym():
        os.chmod(path, m.mode & 0o7777)
    for key, value in m.pax_headers.items():
        if key.startswith(XATTR_PREFIX):
            os.setxattr(path, key[len(XATTR_PREFIX):], value.encode(_ENC, "surrogateescape"),
                        follow_symlinks=False)
    ns = _mtime_ns(m)
    os.utime(path, ns=(ns, ns), follow_symlinks=False)


def _remove(path: Path) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def _extract(tar: tarfile.TarFile, entries: list[tuple[str, tarfile.TarInfo]],
             stage: Path) -> tarfile.TarInfo | None:
    """Extract into ``stage``; returns the root ('.') entry whose attrs go on the volume."""
    root_entry = None
    dirs: list[tuple[Path, tarfile.TarInfo]] = []
    for name, m in entries:
        if name == ".":
            root_entry = m
            continue
        dst = stage / name
        if m.isdir():
            if not (os.path.isdir(dst) and not os.path.islink(dst)):
                _remove(dst)
                os.mkdir(dst, 0o700)
            dirs.append((dst, m))
            continue
        _remove(dst)
        if m.isreg():
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as f:
                src = tar.extractfile(m)
                if src is not None:
                    shutil.copyfileobj(src, f, 1 << 20)
        elif m.issym():
            os.symlink(m.linkname, dst)
        elif m.islnk():
            os.link(stage / posixpath.normpath(m.linkname), dst, follow_symlinks=False)
        else:
            kind = {tarfile.CHRTYPE: stat.S_IFCHR, tarfile.BLKTYPE: stat.S_IFBLK,
                    tarfile.FIFOTYPE: stat.S_IFIFO}[m.type]
            os.mknod(dst, kind | 0o600, os.makedev(m.devmajor, m.devminor))
        _apply_attrs(dst, m)
    for dst, m in sorted(dirs, key=lambda x: len(x[0].parts), reverse=True):
        _apply_attrs(dst, m)
    return root_entry


@contextlib.contextmanager
def _seekable(inp: BinaryIO, spool_dir: Path) -> Iterator[BinaryIO]:
    try:
        inp.seek(0, os.SEEK_CUR)
        seekable = inp.seekable()
    except (OSError, AttributeError, ValueError):
        seekable = False
    if seekable:
        yield inp
        return
    with tempfile.TemporaryFile(dir=spool_dir) as tmp:
        shutil.copyfileobj(inp, tmp, 1 << 20)
        tmp.seek(0)
        yield tmp


def extract_tar(inp: BinaryIO, dest: Path, *, replace: bool = False) -> int:
    """Import a tar stream into the directory ``dest`` (all or nothing, crash-safe: see
    :mod:`runtime.volumes.staging`); returns the number of entries."""
    dest = Path(dest)
    with staging.locked(dest):
        staging.recover(dest)
        if not replace and os.listdir(dest):
            raise ConflictError(f"volume directory {dest} is not empty",
                                hint="import into a new or empty volume, or pass --force to "
                                     "replace its content")
        with _seekable(inp, dest) as f:
            try:
                tar = tarfile.open(fileobj=f, mode="r:*", encoding=_ENC)  # noqa: SIM115
            except (tarfile.TarError, EOFError, OSError) as err:
                detail = str(err).strip().splitlines()[-1:] or [type(err).__name__]
                raise CorruptArchive(f"cannot read the archive ({detail[0].lstrip('- ')})",
                                     hint="the input is not a (complete) tar archive; "
                                          "nothing was changed") from None
            with tar:
                try:
                    entries = _validate(tar.getmembers())
                except (tarfile.TarError, EOFError, OSError) as err:
                    raise CorruptArchive(f"the archive is damaged: {err}",
                                         hint="the tar file is truncated or corrupt; "
                                              "nothing was changed") from None
                stage = staging.new_stage(dest)
                try:
                    root_entry = _extract(tar, entries, stage)
                    if root_entry is not None:
                        _apply_attrs(stage, root_entry)
                    else:
                        st = os.lstat(dest)
                        os.chown(stage, st.st_uid, st.st_gid)
                        os.chmod(stage, st.st_mode & 0o7777)
                except (tarfile.TarError, EOFError) as err:
                    _remove(stage)
                    raise CorruptArchive(f"the archive is damaged: {err}",
                                         hint="the tar file is truncated or corrupt; "
                                              "nothing was changed") from None
                except BaseException:
                    _remove(stage)
                    raise
        staging.commit(stage, dest, replace=replace)
        if root_entry is not None:
            _apply_attrs(dest, root_entry)
    return len(entries)


# -- volume-level operations (used by ``pycompose volume export|import``) -------------

def export_volume(store, name: str, out: BinaryIO) -> int:
    """Write volume ``name`` as a tar stream (mounts a driver_opts volume if needed)."""
    return write_tar(store.prepare(name), out)


def import_volume(store, name: str, inp: BinaryIO, *, replace: bool = False) -> int:
    """Import a tar stream into volume ``name``, creating it when missing.

    Refused while a container uses the volume.  On any error a volume created here is
    removed again and an existing one is left exactly as it was."""
    from runtime.volumes.inuse import volume_users

    created = False
    if not store.exists(name):
        store.create(name)
        created = True
    users = volume_users(store.paths).get(name)
    if users:
        raise ConflictError(f"volume {name} is in use by container(s) {', '.join(sorted(users))}",
                            hint="stop and remove the container(s) before importing")
    try:
        return extract_tar(inp, store.prepare(name), replace=replace)
    except BaseException:
        if created:
            store.remove(name, force=True)
        raise
