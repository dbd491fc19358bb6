"""From compose files to a validated, typed :class:`~compose.model.types.Project`.

``load_project(options)`` = load (``compose.loader``) -> JSON Schema -> build the model
(normalize) -> profiles -> semantic checks.  Every problem of every step that could run
is raised together as one :class:`~compose.errors.ConfigError`: a schema error in one
service does not hide a bad port in another (only the subtrees the schema rejected are
skipped when building the model).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compose.errors import ConfigError, ConfigIssue, NoSuchService
from compose.loader import LoadedConfig, LoadOptions, load_config
from compose.model.build import Builder
from compose.model.profiles import apply_profiles
from compose.model.types import Project, frozen_map
from compose.validate.semantic import check_project

__all__ = ["build_project", "load_project", "schema_issues", "select_services"]


def schema_issues(data: Any, positions: Any = None, *, use_cache: bool = True
                  ) -> list[ConfigIssue]:
    """JSON-Schema issues of ``data``.  Valid trees are remembered (see
    compose.validate.cache): an unchanged project skips the validator, and even
    importing jsonschema-rs and compiling the schema (~10-20 ms, against ~0.3 ms for
    the cache key) on every ``up``/``ps``/``down``."""
    from compose.validate import cache

    key = cache.tree_key(data) if use_cache else ""
    if use_cache and cache.is_known_valid(key):
        return []
    from compose.validate.schema import validate_schema

    issues = validate_schema(data, positions)
    if not issues and use_cache:
        cache.remember_valid(key)
    return issues


def _schema_paths(issues: Sequence[ConfigIssue]) -> list[tuple]:
    """The subtrees the schema rejected: a service attribute, or a top-level entry."""
    out = []
    for i in issues:
        parts = i.path.replace("[", ".").replace("]", "").split(".")
        if len(parts) >= 3 and parts[0] == "services":
            out.append(tuple(parts[:3]))
        elif len(parts) >= 2 and parts[0] in ("services", "networks", "volumes", "secrets",
                                              "configs", "models"):
            out.append((parts[0], parts[1]))
        else:
            out.append((parts[0],) if parts[0] else ())
    return out


def build_project(data: Mapping[str, Any], positions: Any = None, *, project_name: str,
                  project_dir: str | Path, environment: Mapping[str, str] | None = None,
                  profiles: Sequence[str] = (), services: Sequence[str] = (),
                  consistency: bool = True, validate: bool = True,
                  read_env_files: bool = True, resolve_paths: bool = True,
                  files: Sequence[str] = (), warnings: Sequence[str] = ()) -> Project:
    """Validate and normalize an already loaded tree (plain dicts/lists)."""
    issues: list[ConfigIssue] = []
    data = dict(data)
    warns = list(warnings)
    if "version" in data:
        data.pop("version")
        warns.append("the attribute `version` is obsolete, it will be ignored, please "
                      "remove it to avoid potential confusion")
    if validate:
        issues += schema_issues(data, positions)
    skip = _schema_paths(issues)
    if () in skip:  # the top level itself is broken: nothing more can be said safely
        raise ConfigError(issues)
    builder = Builder(data, positions, project_name=project_name,
                      project_dir=str(project_dir), environment=environment or {},
                      skip=[s for s in skip if s], read_env_files=read_env_files,
                      resolve_paths=resolve_paths)
    try:
        project = builder.build()
    except (AttributeError, TypeError, KeyError) as err:
        if issues:  # a shape the schema already reported
            raise ConfigError(issues) from None
        raise ConfigError([ConfigIssue(None, "", f"cannot read the project: {err}")]) from err
    issues += builder.issues
    wanted = set(project.services)
    if services and all(s in project.services for s in services):
        wanted = set(select_services(project, services).services)
    for name, env_issues in builder.env_issues.items():
        if name in wanted:
            issues += env_issues
    unknown = [s for s in services if s not in project.services]
    if unknown and not issues:
        raise NoSuchService(unknown[0], project.services)
    project = apply_profiles(project, profiles, services)
    project = dataclasses.replace(project, files=tuple(files), warnings=tuple(warns),
                                  environment=dict(environment or {}))
    broken = {f"services.{s[1]}" for s in skip if len(s) >= 2 and s[0] == "services"}
    issues += [i for i in check_project(project, consistency=consistency)
               # "no image" because the schema rejected `image:` was already said
               if not (i.path in broken and "neither an image" in i.message)]
    if issues:
        raise ConfigError(issues)
    return project


def load_project(options: LoadOptions, services: Sequence[str] = (), *,
                 consistency: bool = True, loaded: LoadedConfig | None = None,
                 resolve_paths: bool = True) -> Project:
    """Load, validate and normalize the project named by ``options``.

    ``services``: services named on the command line (they are enabled even when their
    profiles are not, and an unknown name raises NoSuchService)."""
    cfg = loaded if loaded is not None else load_config(options)
    return build_project(cfg.data, cfg.positions, project_name=cfg.project_name,
                         project_dir=cfg.project_dir, environment=cfg.environment,
                         profiles=cfg.profiles, services=services, consistency=consistency,
                         files=cfg.files, resolve_paths=resolve_paths,
                         warnings=cfg.warnings)


def select_services(project: Project, names: Sequence[str], *,
                    with_dependencies: bool = True) -> Project:
    """The project restricted to ``names`` (and, by default, what they depend on)."""
    for n in names:
        project.service(n)  # NoSuchService with did-you-mean
    keep: set[str] = set()
    todo = list(names)
    while todo:
        n = todo.pop()
        if n in keep or n not in project.services:
            continue
        keep.add(n)
        if with_dependencies:
            todo.extend(project.services[n].depends_on)
    return dataclasses.replace(project, services=frozen_map(
        {k: v for k, v in project.services.items() if k in keep}))
