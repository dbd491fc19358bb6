"""Example tests of an application stack, using pycompose's pytest plugin.

``pycompose_stack`` (session) starts examples/webstack once and waits until every
service is healthy; ``pycompose_clean`` additionally restores the database and cache
volumes to their state right after start-up, so each test starts from empty tables.
"""

import json
import socket
import urllib.request

import pytest

from compose.testing import AsyncStack


def call(stack, method: str, path: str) -> dict:
    req = urllib.request.Request(stack.url("web", 8000, path=path), method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def test_a_visit_is_stored_in_postgres_and_counted_in_redis(pycompose_clean):
    assert call(pycompose_clean, "POST", "/visits") == {"counter": 1}
    assert call(pycompose_clean, "GET", "/visits") == {"rows": 1, "counter": 1}


def test_each_test_starts_from_the_snapshot(pycompose_clean):
    assert call(pycompose_clean, "GET", "/visits") == {"rows": 0, "counter": 0}
    for _ in range(3):
        call(pycompose_clean, "POST", "/visits")
    assert call(pycompose_clean, "GET", "/visits") == {"rows": 3, "counter": 3}


def test_postgres_from_inside_its_container(pycompose):
    res = pycompose.exec("db", ["psql", "-U", "app", "-d", "app", "-tAc",
                                "SELECT current_user, current_database()"])
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == "app|app"


def test_redis_from_the_host(pycompose):
    host, port = pycompose.host_port("cache", 6379)
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"PING\r\n")
        assert s.recv(16) == b"+PONG\r\n"


@pytest.mark.anyio
async def test_async_api(pycompose):
    stack = AsyncStack(pycompose)
    res = await stack.exec("cache", ["redis-cli", "ping"])
    assert res.stdout == "PONG\n"
    assert "Ready to accept connections" in await stack.logs("cache")


@pytest.fixture
def anyio_backend():
    return "asyncio"
