"""The service graph: orders, transitive dependencies, cycles, renderings."""

import pytest

from compose.errors import ConfigError, NoSuchService
from compose.graph import ServiceGraph
from tests.unit._compose_helpers import project_of

TEXT = """\
services:
  web:
    image: x
    depends_on:
      api: {condition: service_healthy}
      cache: {condition: service_started, required: false}
  api:
    image: x
    links: [db]
    volumes_from: [files]
  db: {image: x}
  cache: {image: x}
  files: {image: x}
  sidecar: {image: x, network_mode: "service:api"}
"""


@pytest.fixture
def graph(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NO_CACHE", "1")
    return ServiceGraph(project_of(tmp_path, TEXT))


def test_edges_carry_their_origin(graph):
    assert graph.edge("web", "api") == {"condition": "service_healthy", "required": True,
                                        "restart": False, "via": "depends_on"}
    assert graph.edge("api", "db")["via"] == "links"
    assert graph.edge("api", "files")["via"] == "volumes_from"
    assert graph.edge("sidecar", "api")["via"] == "network_mode"
    assert graph.edge("web", "cache")["required"] is False


def test_orders(graph):
    order = graph.start_order()
    for a, b in [("db", "api"), ("files", "api"), ("api", "web"), ("cache", "web"),
                 ("api", "sidecar")]:
        assert order.index(a) < order.index(b)
    assert graph.stop_order() == list(reversed(order))
    assert graph.start_order(["api"]) == ["db", "files", "api"]


def test_dependencies(graph):
    assert graph.dependencies_of("web") == {"api", "cache", "db", "files"}
    assert graph.dependencies_of("db") == set()
    assert graph.dependents_of("api") == {"web", "sidecar"}
    with pytest.raises(NoSuchService):
        graph.dependencies_of("nope")


def test_renderings(graph):
    text = graph.to_text()
    assert text.splitlines()[0] == "sidecar"
    assert "web\n├── api (service_healthy)\n│   ├── db (links)\n│   └── files (volumes_from)\n" \
           "└── cache (service_started, optional)\n" in text
    dot = graph.to_dot()
    assert dot.startswith('digraph "proj" {')
    assert '"web" -> "cache" [label="service_started, optional" style="dashed"];' in dot
    mermaid = graph.to_mermaid()
    assert mermaid.startswith("graph TD\n")
    assert '-.->|service_started, optional|' in mermaid


def test_cycle_detection_names_the_cycle(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NO_CACHE", "1")
    from compose.model.types import frozen_map

    p = project_of(tmp_path, "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x}\n")
    import dataclasses

    b = dataclasses.replace(p.services["b"], depends_on=frozen_map(
        {"a": dataclasses.replace(p.services["a"].depends_on["b"], service="a")}))
    g = ServiceGraph(dataclasses.replace(p, services=frozen_map({**p.services, "b": b})))
    assert g.find_cycle() in (["a", "b", "a"], ["b", "a", "b"])
    with pytest.raises(ConfigError, match="dependency cycle detected"):
        g.start_order()


def test_scheduler_edges(tmp_path, monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NO_CACHE", "1")
    from compose.graph import scheduler_edges
    from compose.scheduler import Edge

    edges = scheduler_edges(project_of(tmp_path, TEXT))
    assert edges["web"] == [Edge("api", "healthy", True), Edge("cache", "started", False)]
    assert edges["api"] == [Edge("db", "started", True), Edge("files", "started", True)]
    assert edges["db"] == []
