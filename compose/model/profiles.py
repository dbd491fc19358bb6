"""Profiles: which services are enabled.

A service without ``profiles`` is always enabled.  A service with profiles is enabled
when one of them is active (``--profile`` / ``COMPOSE_PROFILES``; ``*`` activates all)
or when the service is named on the command line, which also activates its profiles
(so ``pycompose up debug-tool`` brings the tool and the services of its profile).
Dependencies are *not* enabled automatically: depending on a disabled service is an
error unless the dependency is ``required: false`` (then it is dropped).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from compose.model.types import Project, frozen_map


def apply_profiles(project: Project, active: Iterable[str],
                   explicit: Iterable[str] = ()) -> Project:
    active_set = {p for p in active if p}
    explicit = set(explicit)
    for name in explicit:
        svc = project.services.get(name)
        if svc is not None:
            active_set.update(svc.profiles)
    every = "*" in active_set
    enabled, disabled = {}, {}
    for name, svc in project.services.items():
        on = (not svc.profiles or every or name in explicit
              or any(p in active_set for p in svc.profiles))
        (enabled if on else disabled)[name] = svc
    # optional dependencies on disabled services are dropped
    for name, svc in list(enabled.items()):
        drop = [d for d, dep in svc.depends_on.items() if d in disabled and not dep.required]
        if drop:
            enabled[name] = dataclasses.replace(svc, depends_on=frozen_map(
                {d: dep for d, dep in svc.depends_on.items() if d not in drop}))
    return dataclasses.replace(project, services=frozen_map(enabled),
                               disabled_services=frozen_map(disabled),
                               profiles=tuple(sorted(active_set)))
