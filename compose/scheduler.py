"""The one generic dependency scheduler.

It knows nothing about containers: nodes are any hashable values, edges say "node A may
begin once node B has reached milestone M", and an async *action* runs per node.  Every
node starts the moment its own dependencies allow it (not in generation-sized batches).

Milestones are named points an action announces with ``ctx.reach("healthy")``; the
scheduler reaches ``"done"`` for it when the action returns.  A dependent waiting on a
milestone that its dependency can no longer reach (the action failed, or returned
without reaching it) does not run: it ends as :class:`Skipped` with the upstream cause,
unless the edge is ``required=False``, in which case it just proceeds.

``up`` uses milestones ``started``/``healthy``/``completed``; ``down`` runs the same
scheduler on the reversed graph with the default ``done`` milestone.
"""

from __future__ import annotations

import graphlib
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio

N = TypeVar("N", bound=Hashable)

DONE = "done"


@dataclass(frozen=True, slots=True)
class Edge(Generic[N]):
    """The dependent waits until ``target`` reaches ``milestone``."""

    target: N
    milestone: str = DONE
    required: bool = True


@dataclass(frozen=True, slots=True)
class Succeeded:
    pass


@dataclass(frozen=True, slots=True)
class Failed:
    error: BaseException


@dataclass(frozen=True, slots=True)
class Skipped(Generic[N]):
    """Not run because ``upstream`` failed or never reached ``milestone``."""

    upstream: N
    milestone: str


Outcome = Succeeded | Failed | Skipped


class CycleError(ValueError):
    def __init__(self, cycle: Sequence[Hashable]) -> None:
        super().__init__(" -> ".join(str(n) for n in cycle))
        self.cycle = list(cycle)


@dataclass
class _NodeState:
    events: dict[str, anyio.Event] = field(default_factory=dict)
    reached: set[str] = field(default_factory=set)
    finished: anyio.Event = field(default_factory=anyio.Event)

    def event(self, milestone: str) -> anyio.Event:
        if milestone not in self.events:
            self.events[milestone] = anyio.Event()
        return self.events[milestone]


class NodeContext(Generic[N]):
    """Handed to the action: announce milestones, ask what dependents wait for."""

    def __init__(self, node: N, state: _NodeState, wanted: frozenset[str],
                 limiter: anyio.CapacityLimiter | None) -> None:
        self.node = node
        self._state = state
        self._wanted = wanted
        self._limiter = limiter

    def reach(self, milestone: str) -> None:
        self._state.reached.add(milestone)
        self._state.event(milestone).set()

    def wanted(self, milestone: str) -> bool:
        """Does any dependent wait for this milestone?  (Skip waiting for health if not.)"""
        return milestone in self._wanted

    @asynccontextmanager
    async def slot(self):
        """Hold one unit of the parallelism limit for the heavy part of an action."""
        if self._limiter is None:
            yield
        else:
            async with self._limiter:
                yield


Action = Callable[[N, NodeContext[N]], Awaitable[None]]


def check_acyclic(nodes: Iterable[N], edges: Mapping[N, Sequence[Edge[N]]]) -> list[N]:
    """Return a topological order or raise :class:`CycleError` naming the cycle."""
    sorter: graphlib.TopologicalSorter = graphlib.TopologicalSorter()
    for node in nodes:
        sorter.add(node, *(e.target for e in edges.get(node, ())))
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as err:
        raise CycleError(list(reversed(err.args[1]))) from None


def reverse_edges(nodes: Iterable[N],
                  edges: Mapping[N, Sequence[Edge[N]]]) -> dict[N, list[Edge[N]]]:
    """The graph for stopping: each dependency waits until its dependents are done."""
    out: dict[N, list[Edge[N]]] = {n: [] for n in nodes}
    for node, node_edges in edges.items():
        for e in node_edges:
            out.setdefault(e.target, []).append(Edge(node, DONE, required=False))
    return out


async def execute(nodes: Iterable[N], edges: Mapping[N, Sequence[Edge[N]]], action: Action,
                  *, limit: int | None = None) -> dict[N, Outcome]:
    """Run ``action`` for every node as soon as its dependencies allow; return outcomes.

    Edges to nodes outside ``nodes`` are ignored (they are assumed satisfied).
    """
    node_list = list(dict.fromkeys(nodes))
    members = set(node_list)
    check_acyclic(node_list, edges)
    states = {n: _NodeState() for n in node_list}
    wanted: dict[N, set[str]] = {n: set() for n in node_list}
    for n in node_list:
        for e in edges.get(n, ()):
            if e.target in members:
                wanted[e.target].add(e.milestone)
    limiter = anyio.CapacityLimiter(limit) if limit and limit > 0 else None
    outcomes: dict[N, Outcome] = {}

    async def wait_for(edge: Edge[N]) -> bool:
        """True when the milestone was reached; False when it never will be."""
        state = states[edge.target]
        if edge.milestone in state.reached:
            return True
        async with anyio.create_task_group() as tg:
            async def on_reached() -> None:
                await state.event(edge.milestone).wait()
                tg.cancel_scope.cancel()

            async def on_finished() -> None:
                await state.finished.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(on_reached)
            tg.start_soon(on_finished)
        return edge.milestone in state.reached

    async def run_node(node: N) -> None:
        state = states[node]
        try:
            for edge in edges.get(node, ()):
                if edge.target not in members:
                    continue
                if not await wait_for(edge) and edge.required:
                    outcomes[node] = Skipped(edge.target, edge.milestone)
                    return
            ctx = NodeContext(node, state, frozenset(wanted[node]), limiter)
            try:
                await action(node, ctx)
            except Exception as err:  # the outcome carries it; dependents are skipped
                outcomes[node] = Failed(err)
                return
            ctx.reach(DONE)
            outcomes[node] = Succeeded()
        finally:
            state.finished.set()

    async with anyio.create_task_group() as tg:
        for node in node_list:
            tg.start_soon(run_node, node)
    return {n: outcomes[n] for n in node_list}
