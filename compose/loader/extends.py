"""``extends``: a service built on another one, from the same file or another file.

The base service (itself resolved first, recursively) is merged under the local one
with the multi-file merge rules (:mod:`compose.loader.merge`).  A base from another
file was rebased to that file's directory when it was read, so its relative paths
stay right.  Cycles are reported with the chain of services.  References the base
makes to other services (``depends_on``, ``links``...) are copied, not imported.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from compose.errors import ConfigIssue, Pos
from compose.loader.merge import merge, strip
from compose.loader.paths import absolute
from compose.loader.tree import CMap

#: Loads another compose file for ``extends.file``: absolute path -> its services
#: mapping (interpolated, rebased), or None when it could not be read (issue recorded).
OtherFileLoader = Callable[[str], "CMap | None"]


class ExtendsResolver:
    def __init__(self, issues: list[ConfigIssue], load_other: OtherFileLoader) -> None:
        self.issues = issues
        self.load_other = load_other

    def resolve_all(self, doc: CMap, filename: str, workdir: str) -> None:
        """Resolve ``extends`` of every service of ``doc`` (in place)."""
        services = doc.get("services")
        if not isinstance(services, CMap):
            return
        for name in list(services):
            self.resolve(name, services, filename, workdir, [])

    def resolve(self, name: str, services: CMap, filename: str, workdir: str,
                stack: list[tuple[str, str]]) -> Any:
        svc = services.get(name)
        if not isinstance(svc, CMap) or "extends" not in svc:
            return svc
        me = (filename, name)
        if me in stack:
            chain = " -> ".join(s for _, s in [*stack[stack.index(me):], me])
            self.issue(svc.vpos.get("extends") or svc.pos, ("services", name, "extends"),
                       f"circular reference in extends: {chain}",
                       "a service cannot extend itself, directly or through others")
            services[name] = _without(svc, "extends")
            return services[name]
        ext = svc["extends"]
        epos = svc.vpos.get("extends") or svc.pos
        base_name: Any = None
        other: str | None = None
        if isinstance(ext, str):
            base_name = ext
        elif isinstance(ext, CMap):
            base_name = ext.get("service")
            other = ext.get("file")
        if not isinstance(base_name, str) or not base_name:
            self.issue(epos, ("services", name, "extends"),
                       f"extends.{name}.service is required",
                       "write `extends: {service: NAME}` or `extends: NAME`")
            services[name] = _without(svc, "extends")
            return services[name]
        base_services: CMap | None = services
        base_file, base_dir = filename, workdir
        if other is not None:
            if not isinstance(other, str):
                self.issue(epos, ("services", name, "extends", "file"),
                           "extends.file must be a string")
                services[name] = _without(svc, "extends")
                return services[name]
            path = absolute(other, workdir)
            if not os.path.isfile(path):
                self.issue(epos, ("services", name, "extends", "file"),
                           f"extended file {path} not found")
                services[name] = _without(svc, "extends")
                return services[name]
            base_services = self.load_other(path)
            base_file, base_dir = path, os.path.dirname(path)
            if base_services is None:
                services[name] = _without(svc, "extends")
                return services[name]
        if base_name not in base_services:
            where = f" in {base_file}" if other is not None else ""
            from difflib import get_close_matches

            close = get_close_matches(base_name, [str(k) for k in base_services], n=1)
            self.issue(epos, ("services", name, "extends"),
                       f"cannot extend service {base_name!r}{where}: service not found",
                       f"did you mean {close[0]!r}?" if close else None)
            services[name] = _without(svc, "extends")
            return services[name]
        base = self.resolve(base_name, base_services, base_file, base_dir, [*stack, me])
        if not isinstance(base, CMap):
            base = CMap(epos)
        merged = merge(strip(base), _without(svc, "extends"), ("services", name))
        services[name] = merged
        return merged

    def issue(self, pos: Pos | None, path: tuple, message: str, hint: str | None = None
              ) -> None:
        from compose.loader.tree import format_path

        self.issues.append(ConfigIssue(pos, format_path(path), message, hint))


def _without(m: CMap, key: str) -> CMap:
    out = CMap(m.pos)
    for k, v in m.items():
        if k != key:
            out.copy_entry(m, k, v, keep=False)
            if k in m.tags:
                out.tags[k] = m.tags[k]
    return out
