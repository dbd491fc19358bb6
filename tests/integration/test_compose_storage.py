"""Compose storage: named/anonymous/external volumes across down, binds, tmpfs,
secrets and configs, all through ``up``/``down`` with real containers."""

from __future__ import annotations

import pytest

from tests.conftest import needs_root
from tests.integration.compose_fixtures import write

pytestmark = [pytest.mark.integration, needs_root]

STACK = """
name: store
services:
  app:
    image: pcbox:1
    user: "1000:1000"
    command: ["sh", "-c", "echo started; exec sleep 1000"]
    stop_signal: SIGKILL
    volumes:
      - data:/data
      - /anon
      - ./site:/site:ro
      - shared:/shared
    tmpfs:
      - /scratch:size=1m
    secrets:
      - db_password
      - source: api_key
        target: /etc/api.key
        mode: 0440
    configs:
      - app_config
volumes:
  data: {}
  shared:
    external: true
secrets:
  db_password:
    file: ./db_password.txt
  api_key:
    environment: API_KEY
configs:
  app_config:
    content: |
      setting=1
"""


def _exec(run_cli, f, *cmd, user=None):
    args = ["-f", str(f), "exec", "-T"] + (["-u", user] if user else []) + ["app", *cmd]
    return run_cli(*args)


def test_storage_end_to_end(run_cli, project_dir):
    (project_dir / "site").mkdir()
    (project_dir / "site" / "index.html").write_text("v1\n")
    (project_dir / "db_password.txt").write_text("s3cret-pw\n")
    f = write(project_dir, STACK)
    env = {"API_KEY": "key-123"}
    # external volume must exist
    res = run_cli("-f", str(f), "up", "-d", env=env)
    assert res.returncode == 4, res
    assert "external volume 'shared' not found" in res.stderr
    assert run_cli("volume", "create", "shared").returncode == 0
    assert run_cli("volume", "create", "other-project-vol").returncode == 0
    res = run_cli("-f", str(f), "up", "-d", env=env)
    assert res.returncode == 0, res

    # named volume + anonymous volume + bind (live, read-only) + tmpfs size
    assert _exec(run_cli, f, "sh", "-c", "echo kept > /data/file && echo a > /anon/f",
                 user="0").returncode == 0
    (project_dir / "site" / "index.html").write_text("v2\n")
    assert _exec(run_cli, f, "cat", "/site/index.html").stdout == "v2\n"
    assert _exec(run_cli, f, "sh", "-c", "echo x > /site/new").returncode != 0
    res = _exec(run_cli, f, "sh", "-c",
                "dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>&1; echo rc=$?")
    assert "rc=1" in res.stdout or "No space" in res.stdout

    # secrets: owned by the container user, mode 0400; config 0444; long-syntax mode
    res = _exec(run_cli, f, "sh", "-c", "cat /run/secrets/db_password; stat -c '%a %u' "
                "/run/secrets/db_password /etc/api.key /app_config; cat /etc/api.key")
    assert res.returncode == 0, res
    lines = res.stdout.splitlines()
    assert lines[0] == "s3cret-pw"
    assert lines[1:4] == ["400 1000", "440 1000", "444 1000"]
    assert lines[4] == "key-123"
    # never in inspect or logs
    cid = run_cli("-f", str(f), "ps", "-q").stdout.strip()
    inspect = run_cli("container", "inspect", cid).stdout
    assert "s3cret-pw" not in inspect and "key-123" not in inspect
    assert "s3cret-pw" not in run_cli("-f", str(f), "logs").stdout

    # down keeps named volumes; up again sees the data
    assert run_cli("-f", str(f), "down").returncode == 0
    assert run_cli("-f", str(f), "up", "-d", env=env).returncode == 0
    assert _exec(run_cli, f, "cat", "/data/file").stdout == "kept\n"

    # down -v removes the project's named and anonymous volumes and nothing else
    res = run_cli("-f", str(f), "down", "-v")
    assert res.returncode == 0, res
    names = run_cli("volume", "ls", "-q").stdout.split()
    assert "store_data" not in names
    assert "shared" in names and "other-project-vol" in names
    assert [n for n in names if len(n) == 64] == []  # the anonymous /anon volume
    run_cli("volume", "rm", "shared", "other-project-vol")


def test_driver_opts_volume_is_unmounted_by_down(run_cli, project_dir, tmp_path):
    host_dir = tmp_path / "hostdata"
    host_dir.mkdir()
    f = write(project_dir, f"""
name: dopts
services:
  app:
    image: pcbox:1
    command: ["sh", "-c", "echo from-container > /mnt/out; exec sleep 1000"]
    stop_signal: SIGKILL
    volumes: ["bound:/mnt"]
volumes:
  bound:
    driver_opts: {{type: none, o: bind, device: "{host_dir}"}}
""")
    assert run_cli("-f", str(f), "up", "-d").returncode == 0

    def mounted() -> bool:
        return any("dopts_bound" in line for line in open("/proc/self/mountinfo"))

    import time

    for _ in range(50):
        if (host_dir / "out").exists():
            break
        time.sleep(0.1)
    assert (host_dir / "out").read_text() == "from-container\n"
    assert mounted()
    assert run_cli("-f", str(f), "down").returncode == 0
    assert not mounted()
    assert (host_dir / "out").exists()  # the data stays where it was
