"""The scheduler driven with plain strings (no containers)."""

import anyio
import pytest

from compose.scheduler import (
    CycleError,
    Edge,
    Failed,
    Skipped,
    Succeeded,
    check_acyclic,
    execute,
    reverse_edges,
)


def run(coro_fn, *args, **kwargs):
    return anyio.run(lambda: coro_fn(*args, **kwargs))


def test_dependencies_run_first_and_independent_nodes_overlap():
    log: list[str] = []
    gate = anyio.Event()

    async def action(node, ctx):
        log.append(f"begin {node}")
        if node == "a":
            # "a" only finishes after "b" began: proves a and b run at the same time.
            await gate.wait()
        if node == "b":
            gate.set()
        await anyio.sleep(0)
        log.append(f"end {node}")

    edges = {"web": [Edge("a"), Edge("b")]}
    out = run(execute, ["web", "a", "b"], edges, action)
    assert all(isinstance(o, Succeeded) for o in out.values())
    assert log.index("begin b") < log.index("end a")
    assert log.index("begin web") > max(log.index("end a"), log.index("end b"))


def test_each_node_starts_when_its_own_dependencies_allow_not_by_generation():
    log: list[str] = []
    slow_may_finish = anyio.Event()

    async def action(node, ctx):
        log.append(f"begin {node}")
        if node == "slow":
            await slow_may_finish.wait()
        if node == "fast-child":
            slow_may_finish.set()
        await anyio.sleep(0)

    # generation 0: slow, fast; generation 1: slow-child (needs slow), fast-child (needs fast)
    edges = {"slow-child": [Edge("slow")], "fast-child": [Edge("fast")]}
    out = run(execute, ["slow", "fast", "slow-child", "fast-child"], edges, action)
    assert all(isinstance(o, Succeeded) for o in out.values())
    assert log.index("begin fast-child") < log.index("begin slow-child")


def test_milestone_lets_dependent_start_before_dependency_is_done():
    log: list[str] = []
    release = anyio.Event()

    async def action(node, ctx):
        log.append(f"begin {node}")
        if node == "db":
            assert ctx.wanted("healthy") and not ctx.wanted("completed")
            ctx.reach("healthy")
            await release.wait()          # db keeps running (e.g. an attached service)
        else:
            release.set()

    out = run(execute, ["db", "app"], {"app": [Edge("db", "healthy")]}, action)
    assert isinstance(out["app"], Succeeded) and isinstance(out["db"], Succeeded)
    assert log == ["begin db", "begin app"]


def test_failure_skips_dependents_but_not_optional_ones():
    ran: list[str] = []

    async def action(node, ctx):
        ran.append(node)
        if node == "db":
            raise RuntimeError("boom")

    edges = {"api": [Edge("db", "healthy")], "worker": [Edge("api")],
             "ui": [Edge("db", required=False)], "other": []}
    out = run(execute, ["db", "api", "worker", "ui", "other"], edges, action)
    assert isinstance(out["db"], Failed) and str(out["db"].error) == "boom"
    assert out["api"] == Skipped("db", "healthy")
    assert out["worker"] == Skipped("api", "done")
    assert isinstance(out["ui"], Succeeded) and isinstance(out["other"], Succeeded)
    assert "api" not in ran and "worker" not in ran


def test_milestone_never_reached_skips_dependent():
    async def action(node, ctx):
        return None  # returns without announcing "healthy"

    out = run(execute, ["db", "app"], {"app": [Edge("db", "healthy")]}, action)
    assert out["app"] == Skipped("db", "healthy")


def test_limit_bounds_parallel_slots():
    active = 0
    peak = 0

    async def action(node, ctx):
        nonlocal active, peak
        async with ctx.slot():
            active += 1
            peak = max(peak, active)
            for _ in range(5):
                await anyio.sleep(0)
            active -= 1

    out = run(execute, [f"s{i}" for i in range(8)], {}, action, limit=2)
    assert all(isinstance(o, Succeeded) for o in out.values())
    assert peak == 2


def test_cycle_is_named():
    with pytest.raises(CycleError) as exc:
        check_acyclic(["a", "b", "c"], {"a": [Edge("b")], "b": [Edge("c")], "c": [Edge("a")]})
    cycle = exc.value.cycle
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}


def test_reverse_edges_stop_dependents_first():
    order: list[str] = []

    async def action(node, ctx):
        order.append(node)

    edges = {"web": [Edge("db")], "db": [Edge("net")]}
    rev = reverse_edges(["web", "db", "net"], edges)
    run(execute, ["net", "db", "web"], rev, action)
    assert order == ["web", "db", "net"]


def test_edges_to_unknown_nodes_are_ignored():
    async def action(node, ctx):
        return None

    out = run(execute, ["web"], {"web": [Edge("not-selected")]}, action)
    assert isinstance(out["web"], Succeeded)
