"""End to end with real server software no one here wrote: Debian's redis-server and
PostgreSQL in images bootstrapped with mmdebstrap (no registry), healthchecks, named
volumes, published ports reached from the host with redis-cli and psql; the data
survives ``down`` and ``up``."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import needs_root
from tests.integration.compose_fixtures import write

pytestmark = [pytest.mark.integration, pytest.mark.slow, needs_root,
              pytest.mark.timeout(1800)]

STACK = """
name: e2e
services:
  cache:
    image: debian:bookworm-slim
    # The volume's root is root-owned (the image has no /data): hand it to redis
    # first, as the official images' entrypoints do.
    command:
      - sh
      - -c
      - |
        chown redis:redis /data
        exec setpriv --reuid redis --regid redis --init-groups redis-server \
          --bind 0.0.0.0 --protected-mode no --dir /data --appendonly yes \
          --appendfsync always
    volumes: ["cachedata:/data"]
    ports: ["127.0.0.1::6379"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 1s
      start_interval: 200ms
      start_period: 30s
  db:
    image: debian:bookworm-slim
    environment:
      PGDATA: /var/lib/postgresql/data
    command:
      - sh
      - -c
      - |
        set -e
        if [ ! -s "$$PGDATA/PG_VERSION" ]; then
          chown postgres:postgres "$$PGDATA"; chmod 700 "$$PGDATA"
          setpriv --reuid postgres --regid postgres --init-groups \\
            /usr/lib/postgresql/15/bin/initdb -D "$$PGDATA" -U postgres --auth=trust
          echo "host all all 0.0.0.0/0 trust" >> "$$PGDATA/pg_hba.conf"
        fi
        exec setpriv --reuid postgres --regid postgres --init-groups \\
          /usr/lib/postgresql/15/bin/postgres -D "$$PGDATA" -c listen_addresses='*' \\
          -c unix_socket_directories=/tmp
    volumes: ["dbdata:/var/lib/postgresql/data"]
    ports: ["127.0.0.1::5432"]
    stop_signal: SIGINT
    healthcheck:
      test: ["CMD", "pg_isready", "-h", "127.0.0.1", "-U", "postgres"]
      interval: 1s
      start_interval: 200ms
      start_period: 60s
  app:
    image: debian:bookworm-slim
    command: ["sleep", "infinity"]
    depends_on:
      cache: {condition: service_healthy}
      db: {condition: service_healthy}
volumes:
  cachedata: {}
  dbdata: {}
"""


def _port(run_cli, f, service, port):
    res = run_cli("-f", str(f), "port", service, str(port))
    assert res.returncode == 0, res
    return res.stdout.strip().rsplit(":", 1)[1]


def _redis(port, *args):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", port, *args],
                          capture_output=True, text=True, timeout=30)


def _psql(port, sql):
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", port, "-U", "postgres",
                           "-At", "-c", sql], capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def debian_with_servers(tmp_path_factory):
    if not shutil.which("mmdebstrap"):
        pytest.skip("mmdebstrap is not installed (apt-get install mmdebstrap)")
    for tool in ("redis-cli", "psql"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed on the host (redis-tools, "
                        "postgresql-client)")
    return tmp_path_factory.mktemp("e2e")


def test_redis_and_postgres_stack(run_cli, project_dir, debian_with_servers):
    res = run_cli("image", "bootstrap", "--include", "redis-server", "--include",
                  "postgresql", "debian:bookworm-slim", timeout=1500)
    assert res.returncode == 0, res
    f = write(project_dir, STACK)
    res = run_cli("-f", str(f), "up", "-d", "--wait", timeout=300)
    assert res.returncode == 0, res
    assert res.stderr.index("Container e2e-db-1 Healthy") < \
        res.stderr.index("Container e2e-app-1 Started")

    rport, pport = _port(run_cli, f, "cache", 6379), _port(run_cli, f, "db", 5432)
    assert _redis(rport, "SET", "greeting", "hello from the host").stdout.strip() == "OK"
    r = _psql(pport, "CREATE TABLE notes(x text); INSERT INTO notes VALUES ('kept');")
    assert r.returncode == 0, r.stderr

    res = run_cli("-f", str(f), "down", "-t", "20")
    assert res.returncode == 0, res
    res = run_cli("-f", str(f), "up", "-d", "--wait", timeout=300)
    assert res.returncode == 0, res
    rport, pport = _port(run_cli, f, "cache", 6379), _port(run_cli, f, "db", 5432)
    assert _redis(rport, "GET", "greeting").stdout.strip() == "hello from the host"
    assert _psql(pport, "SELECT x FROM notes").stdout.strip() == "kept"
