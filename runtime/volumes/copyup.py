"""Copy-up: fill an empty volume with the image's content at the mount target (Docker's
behaviour on the first mount of an empty named or anonymous volume).

``copy_up(source, container_path, dest)`` where ``source`` is either

* a directory (a merged/mounted rootfs, or a plain rootfs dir), or
* a sequence of overlay lower directories, topmost first (``RootFS.layers``, optionally
  with the container's upper dir in front).  These are merged here with overlayfs
  semantics: whiteouts (a 0/0 character device, or an AUFS ``.wh.<name>`` file) hide
  lower entries, opaque dirs (``trusted.overlay.opaque``/``user.overlay.opaque`` = ``y``
  or a ``.wh..wh..opq`` file) hide lower directories' content.  This lets the caller
  copy up on the host side, before the container's mount namespace exists, without
  mounting anything.

``container_path`` is resolved inside the source like a chroot would: symlinks (``/var/run``
-> ``/run``) are followed but can never leave the source (``..`` stops at the root,
absolute link targets restart at the root).

Kept: content, owner/group, mode (incl. setuid/sticky), xattrs (except overlay's own),
symlinks, hardlinks (within the copied tree), device nodes, fifos, timestamps.  The
volume root takes the owner and mode of the image directory (``copyOwnership``).
Sockets are skipped.

Nothing is copied unless ``dest`` is empty.  The copy is built in a hidden staging dir
inside ``dest`` and committed (:mod:`runtime.volumes.staging`) under an flock on
``dest``: two containers starting at once copy once, and a copy-up killed half-way is
discarded (or finished, once committed) and redone next time.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections import deque
from collections.abc import Sequence
from pathlib import Path

from runtime.volumes import staging

MAX_SYMLINKS = 40
_SKIP_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")
_OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")

Rel = tuple[str, ...]


class DirTree:
    """A plain directory (or a mounted merged rootfs)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def lookup(self, rel: Rel) -> Path | None:
        p = self.root.joinpath(*rel)
        return p if os.path.lexists(p) else None

    def listdir(self, rel: Rel) -> list[str]:
        return sorted(os.listdir(self.root.joinpath(*rel)))


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(d: Path) -> bool:
    if os.path.lexists(d / ".wh..wh..opq"):
        return True
    for name in _OPAQUE_XATTRS:
        try:
            if os.getxattr(d, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def _lstat(p: Path) -> os.stat_result | None:
    try:
        return os.lstat(p)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


class LayerTree:
    """The merged view of overlay lower dirs (topmost first), without mounting."""

    def __init__(self, layers: Sequence[Path]) -> None:
        self.layers = [Path(p) for p in layers]
        self._opaque: dict[Path, bool] = {}

    def _is_opaque(self, d: Path) -> bool:
        hit = self._opaque.get(d)
        if hit is None:
            hit = self._opaque[d] = _is_opaque(d)
        return hit

    def lookup(self, rel: Rel) -> Path | None:
        if not rel:
            return self.layers[0] if self.layers else None
        for layer in self.layers:
            cur = layer
            opaque_here = False
            found_prefix = 0
            for i, comp in enumerate(rel):
                if os.path.lexists(cur / f".wh.{comp}"):
                    return None                        # whited out by this layer
                p = cur / comp
                st = _lstat(p)
                if st is None:
                    break
                if _is_whiteout(st):
                    return None
                if i == len(rel) - 1:
                    return p
                if not stat.S_ISDIR(st.st_mode):
                    return None                        # a file here hides lower dirs
                found_prefix = i + 1
                if self._is_opaque(p):
                    opaque_here = True
                cur = p
            if opaque_here and found_prefix > 0:
                return None                            # lower layers hidden below an opaque dir
        return None

    def listdir(self, rel: Rel) -> list[str]:
        candidates: set[str] = set()
        for layer in self.layers:
            d = layer.joinpath(*rel)
            st = _lstat(d)
            if st is None:
                continue
            if not stat.S_ISDIR(st.st_mode):
                break
            candidates.update(n for n in os.listdir(d) if not n.startswith(".wh."))
            if self._is_opaque(d):
                break
        return sorted(n for n in candidates if self.lookup((*rel, n)) is not None)


Tree = DirTree | LayerTree


def make_tree(source: Path | Sequence[Path]) -> Tree:
    if isinstance(source, (str, os.PathLike)):
        return DirTree(Path(source))
    return LayerTree(list(source))


def resolve_in_tree(tree: Tree, path: str) -> Rel | None:
    """Resolve ``path`` inside the tree, following symlinks without leaving it."""
    parts = deque(path.split("/"))
    resolved: list[str] = []
    hops = 0
    while parts:
        comp = parts.popleft()
        if comp in ("", "."):
            continue
        if comp == "..":
            if resolved:
                resolved.pop()
            continue
        real = tree.lookup((*resolved, comp))
        if real is None:
            return None
        if os.path.islink(real):
            hops += 1
            if hops > MAX_SYMLINKS:
                return None
            target = os.readlink(real)
            if target.startswith("/"):
                resolved = []
            parts.extendleft(reversed(target.split("/")))
            continue
        resolved.append(comp)
    return tuple(resolved)


def _copy_xattrs(src: Path, dst: Path) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if name.startswith(_SKIP_XATTR_PREFIXES):
            continue
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False),
                        follow_symlinks=False)
        except OSError as err:
            if err.errno not in (errno.ENOTSUP, errno.EPERM, errno.EOPNOTSUPP):
                raise


def _copy_meta(src: Path, dst: Path, st: os.stat_result) -> None:
    is_link = stat.S_ISLNK(st.st_mode)
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not is_link:
        os.chmod(dst, stat.S_IMODE(st.st_mode))   # after chown: chown clears setuid
    _copy_xattrs(src, dst)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


class _Copier:
    def __init__(self, tree: Tree) -> None:
        self.tree = tree
        self.links: dict[tuple[int, int], Path] = {}
        self.count = 0

    def copy_children(self, rel: Rel, dst_dir: Path) -> None:
        for name in self.tree.listdir(rel):
            src = self.tree.lookup((*rel, name))
            if src is None:
                continue
            self.copy_entry((*rel, name), src, dst_dir / name)

    def copy_entry(self, rel: Rel, src: Path, dst: Path) -> None:
        st = os.lstat(src)
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(dst, 0o700)
            self.copy_children(rel, dst)
        elif stat.S_ISSOCK(mode) or _is_whiteout(st):
            return
        else:
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and key in self.links:
                os.link(self.links[key], dst, follow_symlinks=False)
                self.count += 1
                return
            if stat.S_ISREG(mode):
                shutil.copyfile(src, dst, follow_symlinks=False)
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(src), dst)
            else:                                   # fifo, char/block device
                os.mknod(dst, mode, st.st_rdev)
            if st.st_nlink > 1:
                self.links[key] = dst
        _copy_meta(src, dst, st)
        self.count += 1


def copy_up(source: Path | Sequence[Path], container_path: str, dest: Path) -> bool:
    """Copy the image content at ``container_path`` into the empty volume dir ``dest``.

    Returns True when something was copied (the volume root then has the image dir's
    owner and mode), False when ``dest`` is not empty or the path is not a directory in
    the image.  Callers skip the call entirely for ``volume.nocopy``.
    """
    tree = make_tree(source)
    dest = Path(dest)
    with staging.locked(dest):
        staging.recover(dest)
        if os.listdir(dest):
            return False
        rel = resolve_in_tree(tree, container_path)
        src = tree.lookup(rel) if rel is not None else None
        if src is None or not stat.S_ISDIR(os.lstat(src).st_mode):
            return False
        stage = staging.new_stage(dest)
        try:
            _Copier(tree).copy_children(rel, stage)
            st = os.stat(src)
            os.chown(stage, st.st_uid, st.st_gid)
            os.chmod(stage, stat.S_IMODE(st.st_mode))
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        staging.commit(stage, dest, replace=False)
        return True
