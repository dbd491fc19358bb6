"""``user: name[:group]`` / ``uid[:gid]`` -> ids, looked up in the *image's* files.

The passwd and group files are opened through :func:`runtime.kernel.paths.open_in_root`,
so a symlinked ``/etc/passwd`` can never make us read a host file.  Semantics follow
Docker: numeric ids need no entry; a user name must exist; the primary gid comes from
the passwd entry unless a group is given; supplementary groups are the groups listing
the user name, plus ``group_add`` entries (names or numbers); HOME from passwd, else "/".
"""

from __future__ import annotations

import errno
import os

from runtime.errors import KernelError, RuntimeFailure
from runtime.kernel.paths import open_in_root

_MAX = 1 << 20  # 1 MiB is plenty for passwd/group


class ExecUser:
    """uid, primary gid, supplementary gids, home (a plain class: no dataclasses import
    in the shim)."""

    __slots__ = ("gid", "groups", "home", "uid")

    def __init__(self, uid: int, gid: int, groups: tuple[int, ...], home: str) -> None:
        self.uid, self.gid, self.groups, self.home = uid, gid, groups, home

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExecUser) and (self.uid, self.gid, self.groups, self.home) \
            == (other.uid, other.gid, other.groups, other.home)

    def __repr__(self) -> str:
        return f"ExecUser({self.uid}, {self.gid}, {self.groups}, {self.home!r})"


def _read_table(k, rootfd: int, path: str) -> list[list[str]]:
    try:
        fd = open_in_root(k, rootfd, path, os.O_RDONLY)
    except KernelError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return []
        raise
    try:
        data = os.read(fd, _MAX)
    finally:
        os.close(fd)
    rows = []
    for line in data.decode("utf-8", "replace").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def resolve_user(k, rootfd: int, user: str, group_add: tuple[str, ...] | list[str] = ()
                 ) -> ExecUser:
    passwd = _read_table(k, rootfd, "/etc/passwd")
    groups = _read_table(k, rootfd, "/etc/group")
    name, _, group = (user or "0").partition(":")
    pw = None
    for row in passwd:
        if len(row) >= 6 and (row[0] == name or (name.isdigit() and row[2] == name)):
            pw = row
            break
    if pw is None and not name.isdigit():
        raise RuntimeFailure(f"unable to find user {name}: no matching entries in passwd file",
                             hint="use a numeric uid or a user that exists in the image")
    uid = int(pw[2]) if pw else int(name)
    gid = int(pw[3]) if pw else 0 if not group else -1
    home = pw[5] if pw and pw[5] else "/"

    def gid_of(g: str) -> int:
        if g.isdigit():
            return int(g)
        for row in groups:
            if len(row) >= 3 and row[0] == g:
                return int(row[2])
        raise RuntimeFailure(f"unable to find group {g}: no matching entries in group file",
                             hint="use a numeric gid or a group that exists in the image")

    if group:
        gid = gid_of(group)
    extra: list[int] = []
    if pw is not None:
        for row in groups:
            if len(row) >= 4 and pw[0] in row[3].split(",") and row[2].isdigit():
                g = int(row[2])
                if g != gid and g not in extra:
                    extra.append(g)
    for g in group_add:
        n = gid_of(g)
        if n not in extra:
            extra.append(n)
    return ExecUser(uid, gid, tuple(extra), home)
