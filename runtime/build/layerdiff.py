"""Turn an overlay upper directory into an OCI layer tar.

* char device 0:0 (an overlay whiteout) -> empty regular file ``.wh.<name>``;
* a directory with ``trusted.overlay.opaque=y`` -> the directory entry plus
  ``<dir>/.wh..wh..opq``;
* ``trusted.overlay.*`` xattrs are dropped (``origin``, ``impure`` on copied-up dirs);
  ``security.capability`` and ``user.*`` xattrs are kept as PAX ``SCHILY.xattr.*``;
* whiteouts are checked *before* hard-link detection (on kernel 6.x all whiteouts of a
  filesystem can share one inode, which would otherwise become bogus hard links);
* entries are sorted, owners numeric, names without user/group names, so the same tree
  gives the same tar (and the same diff_id) every time;
* ``exclude`` drops paths the runtime created for a step rather than the step itself
  (mount points such as ``/etc/hosts`` or ``/proc``) when they are empty.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
KEEP_XATTR_PREFIXES = ("user.", "security.capability")
# Mount points the container runtime creates for every RUN step; left out of the layer
# when they are empty (a file or dir that is only a mount point, not the step's work).
RUNTIME_MOUNTPOINTS = ("etc", "etc/hosts", "etc/hostname", "etc/resolv.conf", "proc", "sys",
                       "dev", "dev/shm", "dev/pts", "dev/mqueue", ".pycompose-init")


def _xattrs(path: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for name in names:
        try:
            out[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
    return out


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _only_mountpoints(rel: str, full: str, st: os.stat_result, skip: set[str]) -> bool:
    """Is ``rel`` an empty file/dir the runtime made as a mount point (a dir counts when
    everything in it is such a mount point too)?"""
    if rel not in skip:
        return False
    if stat.S_ISREG(st.st_mode):
        return st.st_size == 0
    if stat.S_ISDIR(st.st_mode):
        try:
            with os.scandir(full) as it:
                return all(_only_mountpoints(f"{rel}/{e.name}", e.path,
                                             e.stat(follow_symlinks=False), skip)
                           for e in it)
        except OSError:
            return False
    return False


def write_layer_tar(upper: Path, out: BinaryIO,
                    exclude_empty: Iterable[str] = RUNTIME_MOUNTPOINTS) -> int:
    """Write the tar of ``upper`` to ``out``; returns the number of entries."""
    skip = set(exclude_empty)
    links: dict[tuple[int, int], str] = {}
    count = 0
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as tf:

        def add(rel: str, full: str, st: os.stat_result) -> None:
            nonlocal count
            ti = tarfile.TarInfo(rel)
            ti.mode = stat.S_IMODE(st.st_mode)
            ti.uid, ti.gid = st.st_uid, st.st_gid
            ti.uname = ti.gname = ""
            ti.mtime = int(st.st_mtime)
            xattrs = _xattrs(full)
            pax: dict[str, str] = {}
            for name, value in xattrs.items():
                if name.startswith(KEEP_XATTR_PREFIXES) and name not in OPAQUE_XATTRS:
                    pax["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
            if pax:
                ti.pax_headers = pax
            if _is_whiteout(st):
                head, _, name = rel.rpartition("/")
                wh = tarfile.TarInfo((head + "/" if head else "") + ".wh." + name)
                wh.mode, wh.mtime = 0, ti.mtime
                tf.addfile(wh)
                count += 1
                return
            if stat.S_ISDIR(st.st_mode):
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
                count += 1
                if any(xattrs.get(x) == b"y" for x in OPAQUE_XATTRS):
                    op = tarfile.TarInfo(rel + "/.wh..wh..opq")
                    op.mode, op.mtime = 0, ti.mtime
                    tf.addfile(op)
                    count += 1
                return
            if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                first = links.get(key)
                if first is not None:
                    ti.type = tarfile.LNKTYPE
                    ti.linkname = first
                    tf.addfile(ti)
                    count += 1
                    return
                links[key] = rel
            if stat.S_ISREG(st.st_mode):
                ti.type = tarfile.REGTYPE
                ti.size = st.st_size
                with open(full, "rb") as f:
                    tf.addfile(ti, f)
            elif stat.S_ISLNK(st.st_mode):
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(full)
                tf.addfile(ti)
            elif stat.S_ISFIFO(st.st_mode):
                ti.type = tarfile.FIFOTYPE
                tf.addfile(ti)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                ti.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
                tf.addfile(ti)
            else:
                return  # sockets are not stored in layers
            count += 1

        def walk(rel_dir: str, full_dir: str) -> None:
            try:
                with os.scandir(full_dir) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except FileNotFoundError:
                return
            for e in entries:
                rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
                st = e.stat(follow_symlinks=False)
                if rel in skip and _only_mountpoints(rel, e.path, st, skip):
                    continue
                add(rel, e.path, st)
                if stat.S_ISDIR(st.st_mode):
                    walk(rel, e.path)

        walk("", str(upper))
    return count
