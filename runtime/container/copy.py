"""``cp``: tar streams out of and into a container's filesystem, never leaving its root.

The container's root is reached as a directory fd:

* running or paused: ``/proc/<pid1>/root`` (its mount namespace: overlay *and* volumes,
  tmpfs, binds, exactly what the processes see);
* created or exited: the overlay is mounted for the duration of the copy on
  ``<container dir>/merged`` and detached afterwards (volumes are not visible then).

Every path inside it is resolved with :func:`runtime.kernel.paths.open_in_root`
(``RESOLVE_IN_ROOT``: ``..`` and absolute symlinks stay inside, magic links refused);
a user path whose ``..`` climbs above ``/`` is refused outright.  Files are then
created relative to their parent's fd with ``O_NOFOLLOW``, so a symlink planted in the
container can never redirect a write to the host.  Archive members with absolute
names or ``..`` components are refused.  The same extractor writes into host
directories (``cp CTR:SRC DST``), with the destination directory as its root.

Ownership follows ``docker cp``: files copied in belong to root (0:0), files copied out
to the caller, unless ``archive`` (``-a``) keeps the archive's ids.  Modes, mtimes and
symlinks are preserved.
"""

from __future__ import annotations

import errno
import os
import stat
import tarfile
from contextlib import contextmanager
from typing import BinaryIO

from runtime.container.store import ContainerStore
from runtime.errors import InvalidInputError, KernelError, NotFoundError, RuntimeFailure
from runtime.kernel import consts as C
from runtime.kernel.paths import mkdirs_in_root, open_in_root


@contextmanager
def os_errors(what: str):
    """OSError (read-only mount, disk full, permission) -> a clear RuntimeFailure."""
    try:
        yield
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        raise RuntimeFailure(f"{what}: {e.strerror or e}{where}") from None


def check_path(path: str) -> list[str]:
    """The components of a container path; refuses ``..`` that climbs above ``/``."""
    parts: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if not parts:
                raise InvalidInputError(f"path {path!r} escapes the container's root",
                                        hint="use a path inside the container")
            parts.pop()
            continue
        parts.append(comp)
    return parts


# ---- the container's root as an fd ------------------------------------------------------
@contextmanager
def container_root(store: ContainerStore, cid: str):
    from runtime.kernel import kernel

    k = kernel()
    rec = store.load(cid)
    st = rec.state
    if rec.status.value in ("running", "paused") and st.get("pid"):
        from runtime.container.store import pid_alive

        pid = int(st["pid"])
        fd = os.open(f"/proc/{pid}/root", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if not pid_alive(pid, st.get("pid_start")):
                raise NotFoundError(f"container {rec.name} stopped during the copy")
            yield k, fd
        finally:
            os.close(fd)
        return
    merged = rec.dir / "merged"
    r = rec.spec.rootfs
    data = (f"lowerdir={':'.join(str(p) for p in r.layers)},upperdir={rec.dir / 'upper'},"
            f"workdir={rec.dir / 'work'}")
    if len(data) > 3500:
        raise InvalidInputError("cp on a stopped container with this many image layers is "
                                "not supported", hint="start the container first")
    (rec.dir / "upper").mkdir(exist_ok=True)
    (rec.dir / "work").mkdir(exist_ok=True)
    merged.mkdir(exist_ok=True)
    k.mount("overlay", str(merged), "overlay", 0, data)
    try:
        fd = os.open(merged, C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            yield k, fd
        finally:
            os.close(fd)
    finally:
        k.umount2(str(merged), C.MNT_DETACH)


def _open_parent(k, rootfd: int, parts: list[str]) -> int:
    try:
        return open_in_root(k, rootfd, "/".join(parts[:-1]), C.O_PATH | os.O_DIRECTORY)
    except KernelError as e:
        raise _not_found(e, "/" + "/".join(parts)) from None


def _not_found(e: KernelError, path: str) -> Exception:
    if e.errno in (errno.ENOENT, errno.ENOTDIR):
        return NotFoundError(f"no such file or directory in the container: {path}")
    if e.errno in (errno.ELOOP, errno.EXDEV):
        return InvalidInputError(f"refusing {path}: it resolves outside the container's "
                                 "root", hint="symlinks are resolved inside the container")
    return e


def stat_path(k, rootfd: int, path: str) -> os.stat_result | None:
    """lstat of ``path`` inside the root (None if missing); the parent is resolved
    in-root, the last component is not followed."""
    parts = check_path(path)
    if not parts:
        return os.stat(rootfd)
    try:
        pfd = open_in_root(k, rootfd, "/".join(parts[:-1]), C.O_PATH | os.O_DIRECTORY)
    except KernelError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise _not_found(e, path) from None
    try:
        return os.stat(parts[-1], dir_fd=pfd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    finally:
        os.close(pfd)


# ---- out -----------------------------------------------------------------------------------
def write_tar(k, rootfd: int, path: str, out: BinaryIO, arcname: str | None = None,
              follow_link: bool = False) -> None:
    """A tar stream of ``path`` (a file, a symlink or a whole tree) named ``arcname``
    (default: its base name)."""
    parts = check_path(path)
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if not parts:
            _add_tree(tar, os.dup(rootfd), arcname or ".")
            return
        pfd = _open_parent(k, rootfd, parts)
        try:
            name = parts[-1]
            if follow_link:
                st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    os.close(pfd)
                    pfd = -1
                    try:
                        tfd = open_in_root(k, rootfd, "/".join(parts), C.O_PATH)
                    except KernelError as e:
                        raise _not_found(e, path) from None
                    try:
                        _add_fd(tar, tfd, arcname or name)
                    finally:
                        os.close(tfd)
                    return
            try:
                st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:
                raise NotFoundError(f"no such file or directory in the container: {path}"
                                    ) from None
            _add(tar, pfd, name, arcname or name, st)
        finally:
            if pfd >= 0:
                os.close(pfd)


def _info(arcname: str, st: os.stat_result) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(arcname)
    ti.mode = stat.S_IMODE(st.st_mode)
    ti.uid, ti.gid = st.st_uid, st.st_gid
    ti.mtime = int(st.st_mtime)
    return ti


def _add_fd(tar: tarfile.TarFile, pathfd: int, arcname: str) -> None:
    """Add what an O_PATH fd names (followed symlink target)."""
    st = os.stat(pathfd)
    if stat.S_ISDIR(st.st_mode):
        _add_tree(tar, os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC,
                               dir_fd=pathfd), arcname)
    elif stat.S_ISREG(st.st_mode):
        fd = os.open(f"/proc/self/fd/{pathfd}", os.O_RDONLY | os.O_CLOEXEC)
        ti = _info(arcname, st)
        ti.size = st.st_size
        with os.fdopen(fd, "rb") as f:
            tar.addfile(ti, f)


def _add(tar: tarfile.TarFile, pfd: int, name: str, arcname: str, st: os.stat_result
         ) -> None:
    mode = st.st_mode
    ti = _info(arcname, st)
    if stat.S_ISREG(mode):
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
        ti.size = os.fstat(fd).st_size
        with os.fdopen(fd, "rb") as f:
            tar.addfile(ti, f)
    elif stat.S_ISLNK(mode):
        ti.type = tarfile.SYMTYPE
        ti.linkname = os.readlink(name, dir_fd=pfd)
        tar.addfile(ti)
    elif stat.S_ISDIR(mode):
        dfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                      dir_fd=pfd)
        _add_tree(tar, dfd, arcname, st)
    elif stat.S_ISFIFO(mode):
        ti.type = tarfile.FIFOTYPE
        tar.addfile(ti)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        ti.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        tar.addfile(ti)
    # sockets are skipped, as tar does


def _add_tree(tar: tarfile.TarFile, dfd: int, arcname: str,
              st: os.stat_result | None = None) -> None:
    """Add directory ``dfd`` (consumed) and everything below it, never following links."""
    try:
        ti = _info(arcname, st or os.fstat(dfd))
        ti.type = tarfile.DIRTYPE
        tar.addfile(ti)
        for entry in sorted(os.listdir(dfd)):
            try:
                est = os.stat(entry, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            _add(tar, dfd, entry, f"{arcname.rstrip('/')}/{entry}" if arcname != "."
                 else entry, est)
    finally:
        os.close(dfd)


# ---- in --------------------------------------------------------------------------------------
def _member_parts(name: str) -> list[str]:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise InvalidInputError(f"refusing archive member {name!r}: it points outside the "
                                "destination")
    return parts


def extract_tar(k, rootfd: int, dest: str, src: BinaryIO, *, rename: str | None = None,
                owner: tuple[int, int] | None = (0, 0)) -> None:
    """Extract the tar stream ``src`` into directory ``dest`` inside the root.

    ``rename``: new name for the archive's top-level entry (``cp a CTR:/new-name``).
    ``owner``: (uid, gid) for every entry, or None to keep the archive's ids.
    """
    dparts = check_path(dest)
    try:
        destfd = open_in_root(k, rootfd, "/".join(dparts), C.O_PATH | os.O_DIRECTORY)
    except KernelError as e:
        raise _not_found(e, dest) from None
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    try:
        with tarfile.open(fileobj=src, mode="r|*") as tar:
            for m in tar:
                parts = _member_parts(m.name)
                if not parts:
                    continue
                if rename:
                    parts[0] = rename
                _extract_one(k, destfd, parts, m, tar, owner)
                if m.isdir():
                    dirs.append(("/".join(parts), m))
        for rel, m in reversed(dirs):   # directory modes/times last (writes done)
            fd = open_in_root(k, destfd, rel, C.O_PATH | os.O_DIRECTORY)
            try:
                os.chmod(f"/proc/self/fd/{fd}", m.mode & 0o7777)
                os.utime(f"/proc/self/fd/{fd}", (m.mtime, m.mtime))
            finally:
                os.close(fd)
    except tarfile.TarError as e:
        raise InvalidInputError(f"not a valid tar stream: {e}") from None
    finally:
        os.close(destfd)


def _extract_one(k, destfd: int, parts: list[str], m: tarfile.TarInfo,
                 tar: tarfile.TarFile, owner: tuple[int, int] | None) -> None:
    try:
        pfd = mkdirs_in_root(k, destfd, "/".join(parts[:-1]))
    except KernelError as e:
        raise InvalidInputError(f"refusing archive member {m.name!r}: its directory cannot "
                                f"be created inside the destination ({e.message})") from None
    name = parts[-1]
    uid, gid = owner if owner is not None else (m.uid, m.gid)
    try:
        try:
            old = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            old = None
        if m.isdir():
            if old is not None and not stat.S_ISDIR(old.st_mode):
                os.unlink(name, dir_fd=pfd)
                old = None
            if old is None:
                os.mkdir(name, 0o700, dir_fd=pfd)
            os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)
            return
        if old is not None:
            if stat.S_ISDIR(old.st_mode):
                raise InvalidInputError(f"cannot overwrite directory {'/'.join(parts)} with "
                                        "a non-directory")
            os.unlink(name, dir_fd=pfd)
        if m.isreg():
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=pfd)
            try:
                f = tar.extractfile(m)
                while f is not None and (chunk := f.read(1 << 20)):
                    os.write(fd, chunk)
                os.fchown(fd, uid, gid)
                os.fchmod(fd, m.mode & 0o7777)    # after chown: chown clears setuid
                os.utime(fd, (m.mtime, m.mtime))
            finally:
                os.close(fd)
            return
        if m.issym():
            os.symlink(m.linkname, name, dir_fd=pfd)
        elif m.islnk():
            target = _member_parts(m.linkname)
            tfd = _open_parent(k, destfd, target)
            try:
                os.link(target[-1], name, src_dir_fd=tfd, dst_dir_fd=pfd,
                        follow_symlinks=False)
            finally:
                os.close(tfd)
            return
        elif m.isfifo():
            os.mkfifo(name, m.mode & 0o7777, dir_fd=pfd)
        elif m.ischr() or m.isblk():
            kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(name, kind | (m.mode & 0o7777), os.makedev(m.devmajor, m.devminor),
                     dir_fd=pfd)
        else:
            return
        os.chown(name, uid, gid, dir_fd=pfd, follow_symlinks=False)
        if not m.issym():
            os.chmod(name, m.mode & 0o7777, dir_fd=pfd)
        os.utime(name, (m.mtime, m.mtime), dir_fd=pfd, follow_symlinks=False)
    finally:
        os.close(pfd)


# ---- docker cp semantics -------------------------------------------------------------------
def _is_dir_in_root(k, rootfd: int, path: str) -> bool:
    try:
        fd = open_in_root(k, rootfd, "/".join(check_path(path)), C.O_PATH | os.O_DIRECTORY)
    except KernelError:
        return False
    os.close(fd)
    return True


def _target(k, rootfd: int, dst: str, src_is_dir: bool) -> tuple[str, str | None]:
    """(directory to extract into, new name of the top entry) for ``cp ... DST``."""
    if _is_dir_in_root(k, rootfd, dst):
        return dst, None
    if dst.endswith("/"):
        raise NotFoundError(f"destination directory {dst} does not exist")
    st = stat_path(k, rootfd, dst)
    if st is not None and src_is_dir:
        raise InvalidInputError(f"cannot copy a directory to a file: {dst}")
    parts = check_path(dst)
    parent = "/" + "/".join(parts[:-1])
    if not _is_dir_in_root(k, rootfd, parent):
        raise NotFoundError(f"no such directory: {parent}")
    return parent, parts[-1]


def copy_to(store: ContainerStore, cid: str, src: str, dst: str, archive: bool = False
            ) -> None:
    """``cp SRC CTR:DST`` (host file or tree into the container)."""
    import tempfile

    from runtime.kernel import kernel

    k = kernel()
    src = os.path.abspath(src)
    if not os.path.lexists(src):
        raise NotFoundError(f"no such file or directory: {src}")
    real = os.path.realpath(src)   # the host side is the user's own: follow its links
    with tempfile.TemporaryFile() as tmp:
        hostfd = os.open(os.path.dirname(real) or "/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            write_tar(k, hostfd, os.path.basename(real) or "/", tmp,
                      arcname=os.path.basename(src.rstrip("/")) or ".")
        finally:
            os.close(hostfd)
        tmp.seek(0)
        with container_root(store, cid) as (k, rootfd):
            into, rename = _target(k, rootfd, dst, os.path.isdir(real))
            extract_tar(k, rootfd, into, tmp, rename=rename,
                        owner=None if archive else (0, 0))


def copy_from(store: ContainerStore, cid: str, src: str, dst: str, archive: bool = False,
              follow_link: bool = False) -> None:
    """``cp CTR:SRC DST`` (container file or tree to the host)."""
    import tempfile

    with tempfile.TemporaryFile() as tmp:
        with container_root(store, cid) as (k, rootfd):
            st = stat_path(k, rootfd, src)
            if st is None:
                raise NotFoundError(f"no such file or directory in the container: {src}")
            src_is_dir = stat.S_ISDIR(st.st_mode) or (follow_link and _is_dir_in_root(
                k, rootfd, src))
            write_tar(k, rootfd, src, tmp, follow_link=follow_link)
        tmp.seek(0)
        dst = os.path.abspath(dst) + ("/" if dst.endswith("/") else "")
        hostfd = os.open("/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            into, rename = _target(k, hostfd, dst, src_is_dir)
        finally:
            os.close(hostfd)
        rootfd = os.open(into, C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            extract_tar(k, rootfd, "/", tmp, rename=rename,
                        owner=None if archive else (os.getuid(), os.getgid()))
        finally:
            os.close(rootfd)
