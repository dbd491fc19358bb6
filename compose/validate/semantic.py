"""Checks a JSON Schema cannot express, run on the typed model.

* references: ``depends_on`` (and the implicit dependencies of ``links``,
  ``volumes_from``, ``network_mode``/``ipc``/``pid``/``uts``/``cgroup: service:x``),
  service ``networks``, named ``volumes``, ``secrets``, ``configs``; each with a
  "did you mean" when a close name exists;
* dependency cycles, named (``a -> b -> a``);
* host ports published twice (same protocol, same port, overlapping host IPs);
* ``network_mode`` together with ``networks``; ``container_name`` with more than one
  replica; services with neither ``image`` nor ``build`` (the "consistency" check).

The syntax of ports, volumes, durations and sizes is checked while the model is built
(:mod:`compose.model.build`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from compose.errors import ConfigIssue, Pos
from compose.model.types import Project


def _hint(name: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def find_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """The first dependency cycle as ``[a, b, a]``, or None.  Iterative DFS in name
    order, so the result is deterministic."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = dict.fromkeys(edges, WHITE)
    for root in sorted(edges):
        if color[root] != WHITE:
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(edges.get(root, ())))]
        trail = [root]
        color[root] = GREY
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                trail.pop()
                color[node] = BLACK
                continue
            nxt = todo.pop(0)
            if nxt not in color:
                continue
            if color[nxt] == GREY:
                return [*trail[trail.index(nxt):], nxt]
            if color[nxt] == WHITE:
                color[nxt] = GREY
                trail.append(nxt)
                stack.append((nxt, sorted(edges.get(nxt, ()))))
    return None


def _issue(pos: Pos | None, path: str, message: str, hint: str | None = None) -> ConfigIssue:
    return ConfigIssue(pos, path, message, hint)


def check_references(project: Project) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    services = project.services
    disabled = project.disabled_services
    for name, svc in services.items():
        base = f"services.{name}"
        for dep_name, dep in svc.depends_on.items():
            if dep_name in services:
                continue
            via = f" (by {dep.via})" if dep.implicit else ""
            where = f"{base}.depends_on.{dep_name}" if not dep.implicit else f"{base}.{dep.via}"
            if dep_name in disabled:
                if dep.required:
                    issues.append(_issue(
                        dep.pos, where,
                        f"service {name!r} depends on service {dep_name!r}{via}, which is "
                        "disabled "
                        f"by its profiles ({', '.join(disabled[dep_name].profiles)})",
                        "enable the profile with --profile, or mark the dependency "
                        "`required: false`"))
                continue
            if not dep.required:
                continue
            issues.append(_issue(dep.pos, where,
                                 f"service {name!r} depends on undefined service "
                                 f"{dep_name!r}{via}",
                                 _hint(dep_name, services)))
        for net_name, net in svc.networks.items():
            if net_name not in project.networks:
                issues.append(_issue(net.pos or svc.pos, f"{base}.networks.{net_name}",
                                     f"service {name!r} refers to undefined network "
                                     f"{net_name!r}",
                                     _hint(net_name, project.networks) or
                                     "declare it under the top-level `networks:`"))
        if svc.network_mode and svc.networks:
            issues.append(_issue(svc.pos, f"{base}.network_mode",
                                 f"service {name!r} declares mutually exclusive `network_mode` "
                                 "and `networks`", "keep one of them"))
        for i, vol in enumerate(svc.volumes):
            if vol.type == "volume" and vol.source and vol.source not in project.volumes:
                issues.append(_issue(vol.pos, f"{base}.volumes[{i}]",
                                     f"service {name!r} refers to undefined volume "
                                     f"{vol.source!r}",
                                     _hint(vol.source, project.volumes) or
                                     "declare it under the top-level `volumes:`, or use a "
                                     "path starting with ./ for a bind mount"))
        for kind, refs, known in (("secret", svc.secrets, project.secrets),
                                  ("config", svc.configs, project.configs)):
            for i, ref in enumerate(refs):
                if ref.source not in known:
                    issues.append(_issue(ref.pos, f"{base}.{kind}s[{i}]",
                                         f"service {name!r} refers to undefined {kind} "
                                         f"{ref.source!r}",
                                         _hint(ref.source, known) or
                                         f"declare it under the top-level `{kind}s:`"))
        if svc.build is not None:
            for i, ref in enumerate(svc.build.secrets):
                if ref.source not in project.secrets:
                    issues.append(_issue(ref.pos, f"{base}.build.secrets[{i}]",
                                         f"service {name!r} refers to undefined secret "
                                         f"{ref.source!r}", _hint(ref.source, project.secrets)))
    return issues


def check_cycles(project: Project) -> list[ConfigIssue]:
    edges = {n: [d for d in s.depends_on if d in project.services]
             for n, s in project.services.items()}
    cycle = find_cycle(edges)
    if not cycle:
        return []
    first = project.services[cycle[0]].depends_on[cycle[1]]
    return [_issue(first.pos, f"services.{cycle[0]}.depends_on",
                   "dependency cycle detected: " + " -> ".join(cycle),
                   "remove one of these dependencies")]


def _overlaps(a: str | None, b: str | None) -> bool:
    wild = (None, "", "0.0.0.0", "::")
    return a in wild or b in wild or a == b


def check_ports(project: Project) -> list[ConfigIssue]:
    """A host port published twice (by one service or two) cannot work."""
    issues: list[ConfigIssue] = []
    seen: dict[tuple[str, int], list[tuple[str | None, str, Pos | None]]] = {}
    for name, svc in project.services.items():
        for i, port in enumerate(svc.ports):
            rng = port.published_range()
            if rng is None or rng[0] != rng[1]:
                continue  # random port, or a host range (any free port of it)
            key = (port.protocol, rng[0])
            for ip, other, _pos in seen.get(key, ()):
                if _overlaps(ip, port.host_ip):
                    where = "by the same service" if other == name else f"by service {other!r}"
                    issues.append(_issue(port.pos, f"services.{name}.ports[{i}]",
                                         f"host port {rng[0]}/{port.protocol} is already "
                                         f"published {where}",
                                         "publish another host port, or leave the host "
                                         "port out to get a free one"))
                    break
            seen.setdefault(key, []).append((port.host_ip, name, port.pos))
    return issues


def check_services(project: Project, *, consistency: bool = True) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for name, svc in project.services.items():
        base = f"services.{name}"
        if consistency and svc.image is None and svc.build is None \
                and not svc.provider:
            issues.append(_issue(svc.pos, base,
                                 f"service {name!r} has neither an image nor a build context "
                                 "specified", "add `image:` or `build:`"))
        if svc.container_name and svc.replicas > 1:
            issues.append(_issue(svc.pos, f"{base}.container_name",
                                 f"service {name!r} sets container_name, so it cannot have "
                                 f"{svc.replicas} replicas", "remove container_name or scale"))
        if svc.network_mode == "host" and any(p.published for p in svc.ports):
            issues.append(_issue(svc.ports[0].pos, f"{base}.ports",
                                 "ports cannot be published with network_mode: host",
                                 "the service already uses the host's ports: remove `ports`"))
        if svc.scale is not None and svc.deploy is not None and \
                svc.deploy.replicas is not None and svc.scale != svc.deploy.replicas:
            issues.append(_issue(svc.pos, f"{base}.scale",
                                 f"scale ({svc.scale}) and deploy.replicas "
                                 f"({svc.deploy.replicas}) disagree"))
    return issues


def check_project(project: Project, *, consistency: bool = True) -> list[ConfigIssue]:
    """Every semantic problem of ``project`` (after profiles were applied)."""
    issues = check_services(project, consistency=consistency)
    if consistency:
        issues += check_references(project)
        issues += check_cycles(project)
        # compose-go does not check this (the engine would fail at `up`), and its test
        # corpus has a project publishing one port twice: part of "consistency"
        issues += check_ports(project)
    return issues
