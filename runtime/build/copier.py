"""COPY/ADD file placement, as Docker does it.

* a directory source copies its *contents*; a file lands at ``dest`` or, when ``dest``
  ends with ``/`` or is an existing directory, at ``dest/<name>``;
* several sources (or a glob matching several) need a directory destination;
* relative ``dest`` is relative to WORKDIR; missing parents are created (0755, root);
* copied entries keep mode and mtime; owner 0:0 from the context (the source owner
  when copying from a stage/image), unless ``--chown``; ``--chmod`` (octal) overrides the
  mode of everything copied;
* a top-level symlink source is followed (inside the source root); symlinks below a
  copied directory are copied as symlinks.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from runtime.build.context import BuildContext, Entry, relative_to_source
from runtime.build.rootfs import clean_abs, makedirs, resolve
from runtime.errors import InvalidInputError


@dataclass(frozen=True)
class CopyOptions:
    uid: int | None = None          # --chown, resolved
    gid: int | None = None
    chmod: int | None = None        # --chmod
    keep_owner: bool = False        # --from: keep the source's owner


def parse_chmod(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        mode = int(value, 8)
    except ValueError:
        raise InvalidInputError(f"invalid --chmod={value}: only octal modes are supported",
                                hint="Write --chmod=0755 or --chmod=644.") from None
    if mode > 0o7777:
        raise InvalidInputError(f"invalid --chmod={value}: mode out of range")
    return mode


def _copy_file(src: Path, dst: Path) -> None:
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        size = os.fstat(fin.fileno()).st_size
        copied = 0
        try:
            while copied < size:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), size - copied)
                if n == 0:
                    break
                copied += n
        except OSError:
            fin.seek(copied)
            fout.seek(copied)
            shutil.copyfileobj(fin, fout, 1 << 20)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def place_entry(src_root: Path, entry: Entry, target: Path, opts: CopyOptions) -> None:
    src = src_root / entry.rel if entry.rel != "." else src_root
    st = os.lstat(src)
    if opts.keep_owner:
        uid, gid = st.st_uid, st.st_gid
    else:
        uid, gid = 0, 0
    if opts.uid is not None:
        uid = opts.uid
        gid = opts.gid if opts.gid is not None else 0
    mode = stat.S_IMODE(st.st_mode) if opts.chmod is None else opts.chmod
    exists = os.path.lexists(target)
    if entry.kind == "d":
        if exists and not (target.is_dir() and not target.is_symlink()):
            _remove(target)
            exists = False
        if not exists:
            os.mkdir(target, 0o700)
        os.chmod(target, mode)
        os.lchown(target, uid, gid)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        return
    if exists:
        _remove(target)
    if entry.kind == "f":
        _copy_file(src, target)
        os.lchown(target, uid, gid)
        os.chmod(target, mode)  # after chown: chown clears setuid bits
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif entry.kind == "l":
        os.symlink(os.readlink(src), target)
        os.lchown(target, uid, gid)
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    else:
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            return  # an overlay whiteout from an extracted archive: nothing to copy
        os.mknod(target, st.st_mode, st.st_rdev)
        os.lchown(target, uid, gid)


def copy_sources(src: BuildContext, sources: list[str], dest: str, workdir: str,
                 dest_root: Path, opts: CopyOptions, *, what: str = "COPY",
                 where: str = "build context") -> int:
    """Copy ``sources`` (paths/globs in ``src``) to ``dest`` inside ``dest_root``.

    Returns the number of entries written.
    """
    matches: list[str] = []
    for source in sources:
        found = src.match(source)
        if not found:
            raise InvalidInputError(
                f"{what} failed: {source!r} not found in the {where}"
                + (" (or excluded by .dockerignore)" if where == "build context" else ""),
                hint="Check the path (relative to the build context) and .dockerignore.")
        matches.extend(found)
    dest_abs = clean_abs(dest, workdir)
    want_dir = dest.endswith("/") or dest.endswith("/.") or dest in (".", "")
    dest_host = resolve(dest_root, dest_abs)
    if len(matches) > 1 and not want_dir and not dest_host.is_dir():
        raise InvalidInputError(
            f"when using {what} with more than one source file, the destination must be a "
            "directory and end with a /",
            hint=f"Write {what} ... {dest.rstrip('/')}/")
    count = 0
    for rel in matches:
        entries = src.tree(rel)
        src_rel = rel
        if entries[0].kind == "l":
            real = resolve(src.root, rel)
            if not real.exists():
                raise InvalidInputError(f"{what} failed: {rel!r} is a dangling symlink")
            src_rel = str(real.relative_to(src.root)) if real != src.root else "."
            entries = src.tree(src_rel)
        if entries[0].kind == "d":
            target_dir, _ = makedirs(dest_root, dest_abs)
            if opts.uid is not None or opts.chmod is not None:
                # the destination dir itself takes --chown/--chmod like its contents
                place_entry(src.root, entries[0], target_dir, opts)
            for e in entries[1:]:
                sub = relative_to_source(e.rel, src_rel, True)
                place_entry(src.root, e, target_dir / sub, opts)
                count += 1
        else:
            if want_dir or dest_host.is_dir():
                parent, _ = makedirs(dest_root, dest_abs)
                target = parent / posixpath.basename(rel)
            else:
                parent, _ = makedirs(dest_root, posixpath.dirname(dest_abs) or "/")
                target = parent / posixpath.basename(dest_abs)
            place_entry(src.root, entries[0], target, opts)
            count += 1
    return count

