"""Which services an operation touches: the named ones plus what they depend on."""

from __future__ import annotations

from collections.abc import Sequence

from compose.model.types import Project


def with_dependencies(project: Project, names: Sequence[str], *, no_deps: bool = False
                      ) -> list[str]:
    """``names`` (all services when empty) and, unless ``no_deps``, every service they
    transitively depend on; returned in declaration order."""
    if not names:
        return list(project.services)
    for n in names:
        project.service(n)  # NoSuchService with a did-you-mean
    chosen = set(names)
    if not no_deps:
        todo = list(names)
        while todo:
            svc = project.services[todo.pop()]
            for dep, d in svc.depends_on.items():
                if dep in project.services and dep not in chosen:
                    chosen.add(dep)
                    todo.append(dep)
                elif dep not in project.services and d.required:
                    project.service(dep)
    return [n for n in project.services if n in chosen]


def dependents_of(project: Project, name: str) -> list[str]:
    """Services that (transitively) depend on ``name``."""
    out: list[str] = []
    frontier = [name]
    while frontier:
        cur = frontier.pop()
        for sname, svc in project.services.items():
            if cur in svc.depends_on and sname not in out:
                out.append(sname)
                frontier.append(sname)
    return out
