"""Make the relative paths of a tree absolute against a directory.

Used for trees whose paths are relative to a directory other than the project
directory: included projects (their ``project_directory``) and services extended from
another file (that file's directory).  Covered: ``build`` / ``build.context``,
``build.additional_contexts`` (local ones), ``env_file``, ``label_file``, bind sources
of ``volumes`` (short syntax starting with ``.``, and long syntax), ``extends.file``,
``develop.watch[].path``, and top-level ``secrets``/``configs`` ``file``.  URLs
(``https://``, ``git@``, ``docker-image://`` ...) and ``~`` paths are left alone.
"""

from __future__ import annotations

import os
from typing import Any

from compose.loader.tree import CMap, CSeq

_REMOTE_PREFIXES = ("http://", "https://", "git://", "git@", "ssh://", "github.com/",
                    "docker-image://", "oci-layout://", "service:", "target:")


def is_remote(p: str) -> bool:
    return p.startswith(_REMOTE_PREFIXES) or "://" in p


def absolute(p: Any, base: str) -> Any:
    if not isinstance(p, str) or not p or is_remote(p) or p.startswith("~"):
        return p
    if os.path.isabs(p):
        return p
    return os.path.normpath(os.path.join(base, p))


def _set(m: CMap, key: str, base: str) -> None:
    v = m.get(key)
    if isinstance(v, str):
        m[key] = absolute(v, base)


def _short_volume(v: str, base: str) -> str:
    src, sep, rest = v.partition(":")
    if not sep or not src.startswith("."):
        return v  # a named volume, an absolute or ~ path, or an anonymous volume
    return absolute(src, base) + sep + rest


def rebase_service(svc: Any, base: str) -> Any:
    """Rebase one service mapping (in place); returns it."""
    if not isinstance(svc, CMap):
        return svc
    build = svc.get("build")
    if isinstance(build, str):
        svc["build"] = absolute(build, base)
    elif isinstance(build, CMap):
        _set(build, "context", base)
        if "context" not in build:
            build.put("context", base, build.pos)
        extra = build.get("additional_contexts")
        if isinstance(extra, CMap):
            for k in list(extra):
                _set(extra, k, base)
        elif isinstance(extra, CSeq):
            for i, item in enumerate(extra):
                if isinstance(item, str) and "=" in item:
                    name, _, p = item.partition("=")
                    extra[i] = f"{name}={absolute(p, base)}"
    for key in ("env_file", "label_file"):
        val = svc.get(key)
        if isinstance(val, str):
            svc[key] = absolute(val, base)
        elif isinstance(val, CSeq):
            for i, item in enumerate(val):
                if isinstance(item, str):
                    val[i] = absolute(item, base)
                elif isinstance(item, CMap):
                    _set(item, "path", base)
    vols = svc.get("volumes")
    if isinstance(vols, CSeq):
        for i, item in enumerate(vols):
            if isinstance(item, str):
                vols[i] = _short_volume(item, base)
            elif isinstance(item, CMap) and item.get("type") == "bind":
                _set(item, "source", base)
    ext = svc.get("extends")
    if isinstance(ext, CMap):
        _set(ext, "file", base)
    dev = svc.get("develop")
    if isinstance(dev, CMap) and isinstance(dev.get("watch"), CSeq):
        for item in dev["watch"]:
            if isinstance(item, CMap):
                _set(item, "path", base)
    return svc


def rebase_tree(tree: CMap, base: str) -> CMap:
    """Rebase every relative path of a whole compose document (in place)."""
    services = tree.get("services")
    if isinstance(services, CMap):
        for svc in services.values():
            rebase_service(svc, base)
    for section in ("secrets", "configs"):
        items = tree.get(section)
        if isinstance(items, CMap):
            for item in items.values():
                if isinstance(item, CMap):
                    _set(item, "file", base)
    return tree
