"""Compose ``build:`` through ``pycompose build`` and ``up --build``."""

from __future__ import annotations

import pytest

from tests.conftest import needs_root
from tests.integration.compose_fixtures import write

pytestmark = [pytest.mark.integration, needs_root]


def test_build_then_up_and_rebuild_on_change(run_cli, project_dir):
    app = project_dir / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(
        "FROM pcbox:1\nARG GREETING=hi\nCOPY msg.txt /msg.txt\n"
        "RUN echo \"$GREETING\" > /greeting\n"
        'CMD ["sh", "-c", "cat /greeting /msg.txt; exec sleep 1000"]\n')
    (app / "msg.txt").write_text("v1\n")
    f = write(project_dir, """
name: bld
services:
  app:
    build:
      context: ./app
      args: {GREETING: hello}
    stop_signal: SIGKILL
""")
    res = run_cli("-f", str(f), "--progress", "plain", "build")
    assert res.returncode == 0, res
    assert "Image bld-app Built" in res.stderr and "RUN echo" in res.stderr
    res = run_cli("-f", str(f), "--progress", "plain", "build")
    assert res.returncode == 0 and "CACHED" in res.stderr, res
    res = run_cli("-f", str(f), "up", "-d")
    assert res.returncode == 0, res
    logs = run_cli("-f", str(f), "logs", "--no-log-prefix").stdout
    assert logs.splitlines()[:2] == ["hello", "v1"]
    first = run_cli("-f", str(f), "ps", "-q").stdout.strip()

    (app / "msg.txt").write_text("v2\n")
    res = run_cli("-f", str(f), "up", "-d", "--build")
    assert res.returncode == 0, res
    second = run_cli("-f", str(f), "ps", "-q").stdout.strip()
    assert second and second != first  # a new image recreates the container
    assert "v2" in run_cli("-f", str(f), "logs", "--no-log-prefix").stdout

    res = run_cli("-f", str(f), "down", "--rmi", "local")
    assert res.returncode == 0, res
    assert "bld-app" not in run_cli("image", "ls").stdout


def test_build_failure_names_the_step(run_cli, project_dir):
    app = project_dir / "bad"
    app.mkdir()
    (app / "Dockerfile").write_text("FROM pcbox:1\nRUN echo about-to-fail; exit 9\n")
    f = write(project_dir, "name: bad\nservices:\n  bad:\n    build: ./bad\n")
    res = run_cli("-f", str(f), "build")
    assert res.returncode != 0, res
    assert "RUN echo about-to-fail" in res.stderr and "Traceback" not in res.stderr


def test_build_secrets_reach_run_mounts_and_not_the_image(run_cli, project_dir):
    app = project_dir / "sec"
    app.mkdir()
    (app / "Dockerfile").write_text(
        "FROM pcbox:1\n"
        "RUN --mount=type=secret,id=token cat /run/secrets/token > /seen-at-build\n"
        "RUN --mount=type=secret,id=envtok,required=true test -s /run/secrets/envtok\n"
        'CMD ["sh", "-c", "cat /seen-at-build; ls /run/secrets 2>&1; exec sleep 1000"]\n')
    (project_dir / "token.txt").write_text("build-time-token\n")
    f = write(project_dir, """
name: bsec
services:
  sec:
    build:
      context: ./sec
      secrets: [token, envtok]
    stop_signal: SIGKILL
secrets:
  token: {file: ./token.txt}
  envtok: {environment: TOK}
""")
    res = run_cli("-f", str(f), "up", "-d", env={"TOK": "from-env"})
    assert res.returncode == 0, res
    out = run_cli("-f", str(f), "logs", "--no-log-prefix").stdout
    assert "build-time-token" in out          # the RUN step saw the secret
    assert "No such file" in out              # and it is not in the image
    assert run_cli("-f", str(f), "down").returncode == 0
