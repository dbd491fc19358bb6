"""The service dependency graph (networkx, imported here only: it costs ~100 ms).

An edge ``a -> b`` means "a needs b": from ``depends_on`` (with its ``condition``,
``required`` and ``restart``) and from what implies a dependency (``links``,
``volumes_from``, ``network_mode``/``ipc``/``pid``/``uts``/``cgroup: service:b``;
already folded into ``Service.depends_on`` by the model, edge attribute ``via``).
Edges to services that are not in the project (disabled optional dependencies) are
left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from compose.errors import ConfigError, ConfigIssue

if TYPE_CHECKING:
    import networkx as nx

    from compose.model.types import Project


_MILESTONES = {"service_started": "started", "service_healthy": "healthy",
               "service_completed_successfully": "completed"}


def scheduler_edges(project: Project) -> dict[str, list[Any]]:
    """``depends_on`` as :mod:`compose.scheduler` edges (no networkx needed): a
    service waits for each dependency's milestone (``started``/``healthy``/
    ``completed``), ``required: false`` edges do not block on failure.  Dependencies
    outside the project (disabled optional ones) are left out."""
    from compose.scheduler import Edge

    return {name: [Edge(dep, _MILESTONES.get(d.condition, "started"), d.required)
                   for dep, d in sorted(svc.depends_on.items()) if dep in project.services]
            for name, svc in project.services.items()}


class ServiceGraph:
    def __init__(self, project: Project) -> None:
        import networkx as nx

        self.project = project
        g = nx.DiGraph()
        g.add_nodes_from(project.services)
        for name, svc in project.services.items():
            for dep, d in svc.depends_on.items():
                if dep in project.services:
                    g.add_edge(name, dep, condition=d.condition, required=d.required,
                               restart=d.restart, via=d.via)
        self.graph: nx.DiGraph = g

    # --- queries -------------------------------------------------------------------
    def find_cycle(self) -> list[str] | None:
        """A dependency cycle as ``[a, b, a]``, or None."""
        import networkx as nx

        try:
            edges = nx.find_cycle(self.graph)
        except nx.NetworkXNoCycle:
            return None
        return [edges[0][0], *(e[1] for e in edges)]

    def check_acyclic(self) -> None:
        cycle = self.find_cycle()
        if cycle:
            dep = self.project.services[cycle[0]].depends_on[cycle[1]]
            raise ConfigError([ConfigIssue(dep.pos, f"services.{cycle[0]}.depends_on",
                                           "dependency cycle detected: " + " -> ".join(cycle))])

    def start_order(self, services: Iterable[str] | None = None) -> list[str]:
        """Dependencies first; ties broken by name so the order is stable."""
        import networkx as nx

        self.check_acyclic()
        g = self.graph if services is None else self.graph.subgraph(
            self.with_dependencies(services))
        return list(nx.lexicographical_topological_sort(g.reverse(copy=False)))

    def stop_order(self, services: Iterable[str] | None = None) -> list[str]:
        """Dependents first (the reverse of the start order)."""
        return list(reversed(self.start_order(services)))

    def dependencies_of(self, name: str) -> set[str]:
        """Everything that must be up before ``name`` (transitively)."""
        import networkx as nx

        self.project.service(name)
        return set(nx.descendants(self.graph, name))

    def dependents_of(self, name: str) -> set[str]:
        """Everything that (transitively) needs ``name``."""
        import networkx as nx

        self.project.service(name)
        return set(nx.ancestors(self.graph, name))

    def with_dependencies(self, names: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for n in names:
            out.add(n)
            out |= self.dependencies_of(n)
        return out

    def edge(self, a: str, b: str) -> dict[str, Any]:
        return dict(self.graph.edges[a, b])

    # --- rendering -----------------------------------------------------------------
    def _label(self, a: str, b: str) -> str:
        e = self.graph.edges[a, b]
        parts = [e["condition"] if e["via"] == "depends_on" else e["via"]]
        if not e["required"]:
            parts.append("optional")
        if e["restart"] and e["via"] == "depends_on":
            parts.append("restart")
        return ", ".join(parts)

    def to_text(self) -> str:
        """A tree per root service (nothing depends on it), dependencies below."""
        lines: list[str] = []
        roots = sorted(n for n in self.graph if self.graph.in_degree(n) == 0) or \
            sorted(self.graph)

        def walk(node: str, prefix: str, trail: tuple[str, ...]) -> None:
            deps = sorted(self.graph.successors(node))
            for i, dep in enumerate(deps):
                last = i == len(deps) - 1
                branch = "└── " if last else "├── "
                loop = " (cycle)" if dep in trail else ""
                lines.append(f"{prefix}{branch}{dep} ({self._label(node, dep)}){loop}")
                if not loop:
                    walk(dep, prefix + ("    " if last else "│   "), (*trail, dep))

        for root in roots:
            lines.append(root)
            walk(root, "", (root,))
        return "\n".join(lines) + ("\n" if lines else "")

    def to_dot(self) -> str:
        out = [f'digraph "{self.project.name}" {{', "  rankdir=LR;"]
        for n in sorted(self.graph):
            out.append(f'  "{n}";')
        for a, b in sorted(self.graph.edges):
            style = ' style="dashed"' if not self.graph.edges[a, b]["required"] else ""
            out.append(f'  "{a}" -> "{b}" [label="{self._label(a, b)}"{style}];')
        out.append("}")
        return "\n".join(out) + "\n"

    def to_mermaid(self) -> str:
        ids = {n: f"s{i}" for i, n in enumerate(sorted(self.graph))}
        out = ["graph TD"]
        for n, i in ids.items():
            out.append(f'  {i}["{n}"]')
        for a, b in sorted(self.graph.edges):
            arrow = "-.->" if not self.graph.edges[a, b]["required"] else "-->"
            out.append(f"  {ids[a]} {arrow}|{self._label(a, b)}| {ids[b]}")
        return "\n".join(out) + "\n"
