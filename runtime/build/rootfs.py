"""Path and user resolution *inside* a root directory (an image's merged rootfs or the
build context), never escaping it: symlinks are resolved relative to the root, ``..``
stops at the root, as a process chrooted there would see them."""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

from runtime.errors import InvalidInputError

MAX_SYMLINKS = 40


def resolve(root: Path, path: str, *, follow_last: bool = True) -> Path:
    """The host path of ``path`` (absolute or relative to ``/``) inside ``root``.

    Missing components are fine (the rest is appended as is); a symlink loop is an error.
    """
    todo = [p for p in path.split("/") if p and p != "."]
    todo.reverse()
    parts: list[str] = []
    hops = 0
    while todo:
        comp = todo.pop()
        if comp == "..":
            if parts:
                parts.pop()
            continue
        candidate = root.joinpath(*parts, comp)
        if not todo and not follow_last:
            parts.append(comp)
            break
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            parts.append(comp)
            continue
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise InvalidInputError(f"too many levels of symbolic links in {path!r}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                parts = []
            todo.extend(reversed([p for p in target.split("/") if p and p != "."]))
            continue
        parts.append(comp)
    return root.joinpath(*parts)


def relpath_in_root(root: Path, host_path: Path) -> str:
    return "/" + str(host_path.relative_to(root)).removeprefix(".")


def _read_db(root: Path, name: str) -> list[list[str]]:
    try:
        text = resolve(root, f"/etc/{name}").read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def lookup_user(root: Path, spec: str) -> tuple[int, int]:
    """``user[:group]`` (names or numbers) -> (uid, gid), names looked up in the root's
    ``/etc/passwd`` and ``/etc/group``.  A user without a group gets its primary group
    (0 when the user is numeric and unknown), like Docker."""
    user, _, group = spec.partition(":")
    passwd = _read_db(root, "passwd")
    uid: int | None = None
    gid: int | None = None
    if user.isdigit():
        uid = int(user)
        for row in passwd:
            if len(row) > 3 and row[2] == user and row[3].isdigit():
                gid = int(row[3])
                break
    else:
        for row in passwd:
            if len(row) > 3 and row[0] == user:
                uid = int(row[2])
                gid = int(row[3]) if row[3].isdigit() else 0
                break
        if uid is None:
            raise InvalidInputError(f"unable to find user {user}: no matching entries in "
                                    "passwd file",
                                    hint="Create the user in an earlier RUN step or use a "
                                         "numeric uid.")
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            for row in _read_db(root, "group"):
                if len(row) > 2 and row[0] == group:
                    gid = int(row[2])
                    break
            else:
                raise InvalidInputError(f"unable to find group {group}: no matching entries "
                                        "in group file")
    return uid, gid if gid is not None else 0


def makedirs(root: Path, path: str, uid: int = 0, gid: int = 0,
             mode: int = 0o755) -> tuple[Path, bool]:
    """``mkdir -p`` of ``path`` inside ``root``; new dirs get uid/gid/mode.

    Returns (host path, whether the last component was created)."""
    target = resolve(root, path)
    missing: list[Path] = []
    cur = target
    while not cur.exists():
        if cur.is_symlink():
            raise InvalidInputError(f"cannot create directory {path!r}: a dangling symlink "
                                    "is in the way")
        missing.append(cur)
        if cur == root:
            break
        cur = cur.parent
    if cur.exists() and not cur.is_dir():
        raise InvalidInputError(f"cannot create directory {path!r}: "
                                f"{relpath_in_root(root, cur)} is not a directory")
    for d in reversed(missing):
        os.mkdir(d, mode)
        os.chmod(d, mode)
        os.lchown(d, uid, gid)
    return target, bool(missing)


def clean_abs(path: str, workdir: str = "/") -> str:
    """An absolute, cleaned path; relative paths are taken from ``workdir``."""
    joined = path if path.startswith("/") else posixpath.join(workdir or "/", path)
    out = posixpath.normpath(joined)
    return "/" if out in (".", "//") else out
