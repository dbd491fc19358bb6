"""``include``: import another compose project's resources.

Each entry is a path (or ``{path, project_directory, env_file}``; ``path`` may list
override files after the main one).  The included project is loaded on its own: its
relative paths resolve against its project directory (default: the main included
file's directory), it interpolates with its own ``.env`` (or ``env_file``) overlaid by
the including project's environment, and its own ``include``/``extends`` are applied.
Its services, networks, volumes, secrets, configs and models are then added to the
including document; a resource the including file also defines is merged (the
including file's definition overrides the imported one, like a later ``-f`` file, as
compose-go does).  An include cycle is an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from compose.errors import ConfigIssue, Pos
from compose.loader.paths import absolute
from compose.loader.tree import CMap, CSeq, format_path

SECTIONS = ("services", "networks", "volumes", "secrets", "configs", "models")

#: (files, project_dir, environment, include_stack) -> merged included document or None
ProjectLoader = Callable[[list[str], str, Mapping[str, str], list[str]], "CMap | None"]
#: (env files, lookup environment) -> values, or None when a file failed (issue recorded)
EnvReader = Callable[[list[str], Mapping[str, str], "Pos | None", tuple], "dict | None"]


def apply_includes(doc: CMap, workdir: str, env: Mapping[str, str], stack: list[str],
                   issues: list[ConfigIssue], load_project: ProjectLoader,
                   read_env: EnvReader, warnings: list[str] | None = None) -> CMap:
    entries = doc.get("include")
    if entries is None:
        return doc
    ipos = doc.vpos.get("include") or doc.pos
    if not isinstance(entries, CSeq):
        issues.append(ConfigIssue(ipos, "include", "include must be a list"))
        return doc
    for i, entry in enumerate(entries):
        epos = entries.ipos[i] if i < len(entries.ipos) else ipos
        where = ("include", i)
        paths: Any
        project_dir: Any = None
        env_files: Any = None
        if isinstance(entry, str):
            paths = [entry]
        elif isinstance(entry, CMap):
            paths = entry.get("path")
            project_dir = entry.get("project_directory")
            env_files = entry.get("env_file")
        else:
            issues.append(ConfigIssue(epos, format_path(where),
                                      "include entry must be a path or a mapping"))
            continue
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not paths or not all(
                isinstance(p, str) and p for p in paths):
            issues.append(ConfigIssue(epos, format_path((*where, "path")),
                                      "include.path is required (a path or a list of paths)"))
            continue
        files = [absolute(p, workdir) for p in paths]
        main = files[0]
        if main in stack:
            chain = "\n include ".join([*stack, main])
            issues.append(ConfigIssue(epos, format_path(where),
                                      f"include cycle detected:\n{chain}"))
            continue
        if not os.path.isfile(main):
            issues.append(ConfigIssue(epos, format_path((*where, "path")),
                                      f"included file {main} not found"))
            continue
        pdir = absolute(project_dir, workdir) if isinstance(project_dir, str) else \
            os.path.dirname(main)
        if isinstance(env_files, str):
            env_files = [env_files]
        if env_files is None:
            dotenv = os.path.join(pdir, ".env")
            env_list = [dotenv] if os.path.isfile(dotenv) else []
        elif isinstance(env_files, list):
            env_list = [absolute(f, workdir) for f in env_files
                        if isinstance(f, str) and f != "/dev/null"]
        else:
            issues.append(ConfigIssue(epos, format_path((*where, "env_file")),
                                      "include.env_file must be a path or a list of paths"))
            continue
        values = read_env(env_list, env, epos, where)
        if values is None:
            continue
        inc_env = {**values, **env}  # the including project's environment wins
        included = load_project(files, pdir, inc_env, [*stack, main])
        if included is None:
            continue
        _resolve_bare_environment(included, inc_env)
        _import(doc, included, main, warnings if warnings is not None else [])
    doc.remove("include")
    return doc


def _resolve_bare_environment(doc: CMap, env: Mapping[str, str]) -> None:
    """Bare ``environment`` keys of included services take the included env's value."""
    services = doc.get("services")
    if not isinstance(services, CMap):
        return
    for svc in services.values():
        if not isinstance(svc, CMap):
            continue
        e = svc.get("environment")
        if isinstance(e, CSeq):
            for i, item in enumerate(e):
                if isinstance(item, str) and "=" not in item and item in env:
                    e[i] = f"{item}={env[item]}"
        elif isinstance(e, CMap):
            for k, v in e.items():
                if v is None and k in env:
                    e[k] = env[k]


def _import(doc: CMap, included: CMap, source: str, warnings: list[str]) -> None:
    """Add the included project's resources to ``doc``.  A resource the including file
    defines too is merged: the imported definition is the base, the local one the
    override (``!reset``/``!override`` apply), as compose-go does; a warning says so
    when the two definitions differ."""
    from compose.loader.merge import merge, strip

    for section in SECTIONS:
        items = included.get(section)
        if not isinstance(items, CMap):
            continue
        target = doc.get(section)
        if target is None:
            target = CMap(items.pos)
            doc.put(section, target, items.pos, included.kpos.get(section))
        if not isinstance(target, CMap):
            continue
        for name, value in items.items():
            if name in target:
                local = target[name]
                if strip(local) != value:
                    where = target.kpos.get(name)
                    warnings.append(f"{where or 'the including file'}: {section}.{name} "
                                    f"overrides the definition included from {source}")
                if target.tags.get(name) or local is None:
                    continue  # !reset / !override / empty: the local definition as written
                target[name] = merge(strip(value), local, (section, name))
                continue
            target.copy_entry(items, name, value, keep=False)
