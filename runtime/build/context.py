"""The build context: which files COPY/ADD can see, and their content hashes.

Paths are context-relative, slash separated, cleaned; ``..`` is clamped at the context
root (as BuildKit scopes sources to the context).  Files excluded by ``.dockerignore``
are invisible.  Symlinks are never followed out of the context: a symlink is an entry
of its own (copied as a symlink), and globs match names, not link targets.

File hashes are memoised by ``(dev, ino, size, mtime_ns, ctime_ns)`` so a rebuild reads
only files that changed; ``HashCache`` can persist that memo between builds.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from runtime.build.dockerignore import Matcher, clean
from runtime.build.rootfs import resolve
from runtime.errors import InvalidInputError
from runtime.fsutil import atomic_write_json, read_json

_GLOB_CHARS = re.compile(r"[*?\[]")
RACY_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Entry:
    """One file system object in the context (``rel`` is context-relative)."""

    rel: str
    kind: str  # "f" file, "d" directory, "l" symlink, "o" other (fifo, device: skipped)
    mode: int  # permission bits incl. setuid/setgid/sticky
    size: int
    link: str = ""


def _kind(st_mode: int) -> str:
    if stat.S_ISREG(st_mode):
        return "f"
    if stat.S_ISDIR(st_mode):
        return "d"
    if stat.S_ISLNK(st_mode):
        return "l"
    return "o"


def _component_regex(part: str) -> re.Pattern[str]:
    """Go ``filepath.Match`` for one path component."""
    out: list[str] = []
    i = 0
    while i < len(part):
        ch = part[i]
        i += 1
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\" and i < len(part):
            out.append(re.escape(part[i]))
            i += 1
        elif ch == "[":
            end = part.find("]", i + 1 if i < len(part) and part[i] in "^]" else i)
            if end < 0:
                raise InvalidInputError(f"syntax error in pattern {part!r}")
            out.append("[" + part[i:end].replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.S)


class HashCache:
    """Persistent ``stat key -> sha256`` memo for context files (one JSON file)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, str] = {}
        self.dirty = False
        if path is not None and path.is_file():
            try:
                self.data = read_json(path)
            except (OSError, ValueError):
                self.data = {}

    def save(self) -> None:
        if self.path is not None and self.dirty:
            if len(self.data) > 200_000:  # keep it bounded
                self.data = dict(list(self.data.items())[-100_000:])
            atomic_write_json(self.path, self.data)
            self.dirty = False


class BuildContext:
    def __init__(self, root: Path, matcher: Matcher | None = None,
                 hash_cache: HashCache | None = None) -> None:
        self.root = root.resolve()
        self.matcher = matcher or Matcher([])
        self.hashes = hash_cache or HashCache(None)
        if not self.root.is_dir():
            raise InvalidInputError(f"build context {str(root)!r} is not a directory",
                                    hint="Pass the directory that holds the files to COPY.")

    # -- paths ---------------------------------------------------------------------
    @staticmethod
    def normalise(source: str) -> str:
        rel = clean("/" + source).lstrip("/")
        return rel or "."

    def resolve_parents(self, rel: str, follow_last: bool = False) -> str:
        """``rel`` with symlinks in its directories resolved *inside* the root."""
        if rel == ".":
            return rel
        host = resolve(self.root, rel, follow_last=follow_last)
        return str(host.relative_to(self.root)) if host != self.root else "."

    def path(self, rel: str) -> Path:
        return self.root if rel == "." else self.root / rel

    def visible(self, rel: str) -> bool:
        return rel == "." or not self.matcher.excluded(rel)

    def lstat_entry(self, rel: str) -> Entry | None:
        try:
            st = os.lstat(self.path(rel))
        except (FileNotFoundError, NotADirectoryError):
            return None
        kind = _kind(st.st_mode)
        link = os.readlink(self.path(rel)) if kind == "l" else ""
        return Entry(rel, kind, stat.S_IMODE(st.st_mode), st.st_size if kind == "f" else 0,
                     link)

    # -- sources ---------------------------------------------------------------------
    def match(self, source: str) -> list[str]:
        """Context paths a COPY source names (glob expanded, sorted); [] if none."""
        rel = self.normalise(source)
        if not _GLOB_CHARS.search(rel):
            rel = self.resolve_parents(rel)
            entry = self.lstat_entry(rel)
            return [rel] if entry is not None and self.visible(rel) else []
        parts = rel.split("/")
        current = ["."]
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: list[str] = []
            if not _GLOB_CHARS.search(part):
                for base in current:
                    cand = part if base == "." else f"{base}/{part}"
                    cand = self.resolve_parents(cand, follow_last=not last)
                    if self.lstat_entry(cand) is not None:
                        nxt.append(cand)
            else:
                regex = _component_regex(part)
                for base in current:
                    try:
                        names = sorted(os.listdir(self.path(base)))
                    except (NotADirectoryError, FileNotFoundError):
                        continue
                    for name in names:
                        if regex.fullmatch(name):
                            cand = name if base == "." else f"{base}/{name}"
                            full = self.path(cand)
                            if last or (full.is_dir() and not full.is_symlink()):
                                nxt.append(cand)
            current = nxt
        return sorted(r for r in current if self.visible(r))

    def tree(self, rel: str) -> list[Entry]:
        """``rel`` and, for a directory, every visible entry below it (sorted, no follow)."""
        top = self.lstat_entry(rel)
        if top is None:
            return []
        out = [top]
        if top.kind == "d":
            self._walk(rel, out)
        return out

    def _walk(self, rel: str, out: list[Entry]) -> None:
        base = self.path(rel)
        try:
            with os.scandir(base) as it:
                items = sorted(it, key=lambda e: e.name)
        except OSError as e:
            raise InvalidInputError(f"cannot read {str(base)!r} in the build context: "
                                    f"{e.strerror}") from None
        for item in items:
            child = item.name if rel == "." else f"{rel}/{item.name}"
            st = item.stat(follow_symlinks=False)
            kind = _kind(st.st_mode)
            visible = self.visible(child)
            if not visible:
                if kind == "d" and self.matcher.may_reinclude_under(child):
                    # excluded dir, but an exception may bring back files below it
                    sub: list[Entry] = []
                    self._walk(child, sub)
                    if sub:
                        out.append(Entry(child, "d", stat.S_IMODE(st.st_mode), 0))
                        out.extend(sub)
                continue
            link = os.readlink(item.path) if kind == "l" else ""
            out.append(Entry(child, kind, stat.S_IMODE(st.st_mode),
                             st.st_size if kind == "f" else 0, link))
            if kind == "d":
                self._walk(child, out)

    def file_digest(self, rel: str) -> str:
        path = self.path(rel)
        st = os.lstat(path)
        key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{path}"
        cached = self.hashes.data.get(key)
        if cached is not None:
            return cached
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        digest = h.hexdigest()
        if time.time() - st.st_mtime > RACY_SECONDS:
            # a file changed within the timestamp granularity could change again with the
            # same stat key ("racy git"): only settled files are memoised
            self.hashes.data[key] = digest
            self.hashes.dirty = True
        return digest


def relative_to_source(entry_rel: str, source_rel: str, source_is_dir: bool) -> str:
    """Where ``entry_rel`` lands relative to the destination.

    A directory source copies its *contents*; a file source lands under its own name.
    """
    if source_is_dir:
        if entry_rel == source_rel:
            return "."
        return entry_rel[len(source_rel) + 1:] if source_rel != "." else entry_rel
    return posixpath.basename(entry_rel)
