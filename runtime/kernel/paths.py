"""Resolve paths inside an untrusted root without ever leaving it.

An image (or a volume) may plant symlinks such as ``/etc/passwd -> /host/etc/shadow``
or ``/proc/self/root/...``.  Everything the runtime opens or mounts inside a rootfs goes
through :func:`open_in_root`: ``openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`` where
the kernel has it (5.6+), otherwise a component-by-component ``O_NOFOLLOW`` walk that
resolves symlinks itself, scoped to the root (``..`` at the root stays at the root, as
the kernel does for chroot).  Mount targets are then addressed as ``/proc/self/fd/N``.
"""

from __future__ import annotations

import errno
import os
import stat

from runtime.errors import KernelError
from runtime.kernel import consts as C

_MAX_LINKS = 40
_openat2_missing = False


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c and c != "."]


def open_in_root(k, rootfd: int, path: str, flags: int = C.O_PATH, mode: int = 0) -> int:
    """Open ``path`` (absolute or relative, interpreted inside ``rootfd``)."""
    global _openat2_missing
    if not _openat2_missing:
        try:
            return k.openat2(rootfd, path.lstrip("/") or ".", flags, mode,
                             C.RESOLVE_IN_ROOT | C.RESOLVE_NO_MAGICLINKS)
        except KernelError as e:
            if e.errno not in (errno.ENOSYS, errno.EPERM):  # EPERM: seccomp'd
                raise
            _openat2_missing = True
    return _walk(rootfd, path, flags, mode)


def _walk(rootfd: int, path: str, flags: int, mode: int) -> int:
    """Fallback resolver: follow symlinks by hand, clamped to the root."""
    todo = _components(path)
    stack: list[int] = []          # fds of the directories below the root
    links = 0

    def cur() -> int:
        return stack[-1] if stack else rootfd

    try:
        while todo:
            comp = todo.pop(0)
            last = not todo
            if comp == "..":
                if stack:
                    os.close(stack.pop())
                continue
            if last and flags & os.O_CREAT:
                fd = os.open(comp, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=cur())
                return fd
            try:
                st = os.stat(comp, dir_fd=cur(), follow_symlinks=False)
            except FileNotFoundError:
                raise KernelError("open", errno.ENOENT, path) from None
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > _MAX_LINKS:
                    raise KernelError("open", errno.ELOOP, path)
                target = os.readlink(comp, dir_fd=cur())
                if target.startswith("/"):
                    while stack:
                        os.close(stack.pop())
                todo = _components(target) + todo
                continue
            if last:
                return os.open(comp, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode,
                               dir_fd=cur())
            if not stat.S_ISDIR(st.st_mode):
                raise KernelError("open", errno.ENOTDIR, path)
            stack.append(os.open(comp, C.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW
                                 | os.O_CLOEXEC, dir_fd=cur()))
        return os.open(".", flags | os.O_CLOEXEC, dir_fd=cur()) if flags & ~C.O_PATH \
            else os.open(".", C.O_PATH | os.O_CLOEXEC, dir_fd=cur())
    finally:
        for fd in stack:
            os.close(fd)


def mkdirs_in_root(k, rootfd: int, path: str, mode: int = 0o755) -> int:
    """Create the missing directories of ``path`` inside the root; return an O_PATH fd."""
    parts = _components(path)
    fd = os.dup(rootfd)
    try:
        for i, comp in enumerate(parts):
            try:
                nfd = open_in_root(k, rootfd, "/".join(parts[: i + 1]),
                                   C.O_PATH | os.O_DIRECTORY)
            except KernelError as e:
                if e.errno != errno.ENOENT:
                    raise
                try:
                    os.mkdir(comp, mode, dir_fd=fd)
                except FileExistsError:
                    pass
                except OSError as oe:
                    raise KernelError("mkdir", oe.errno or errno.EIO, path) from None
                nfd = open_in_root(k, rootfd, "/".join(parts[: i + 1]),
                                   C.O_PATH | os.O_DIRECTORY)
            os.close(fd)
            fd = nfd
        return fd
    except BaseException:
        os.close(fd)
        raise


def mkfile_in_root(k, rootfd: int, path: str, mode: int = 0o644,
                   replace_symlink: bool = False) -> int:
    """Make sure a regular file exists at ``path`` (creating parents); O_PATH fd.

    ``replace_symlink``: a symlink in the last component (an image shipping
    ``/etc/hosts -> ../../etc/shadow``) is replaced by a plain file in the container's
    own writable layer instead of being followed.
    """
    parts = _components(path)
    if not parts:
        raise KernelError("open", errno.EISDIR, path)
    parent = mkdirs_in_root(k, rootfd, "/".join(parts[:-1]))
    try:
        if replace_symlink:
            try:
                if stat.S_ISLNK(os.stat(parts[-1], dir_fd=parent,
                                        follow_symlinks=False).st_mode):
                    os.unlink(parts[-1], dir_fd=parent)
            except FileNotFoundError:
                pass
        try:
            return open_in_root(k, rootfd, path, C.O_PATH)
        except KernelError as e:
            if e.errno != errno.ENOENT:
                raise
        try:
            os.close(os.open(parts[-1], os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
                             | os.O_CLOEXEC, mode, dir_fd=parent))
        except FileExistsError:
            pass
        return open_in_root(k, rootfd, path, C.O_PATH)
    finally:
        os.close(parent)


def fd_path(fd: int) -> str:
    """The magic-link path that lets mount(2) and friends address an fd."""
    return f"/proc/self/fd/{fd}"
