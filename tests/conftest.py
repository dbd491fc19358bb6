"""Shared fixtures.

* ``state_paths``: a fresh temporary root (and run dir) per test; tests never touch
  ``/var/lib/pycompose``.
* ``run_cli``: runs the real ``pycompose`` command as a subprocess of this checkout.
* ``needs_root``: integration tests skip with a reason when not root.
* The session-wide leak check: after the suite, no mount, interface, netns, cgroup or
  process that the tests created may remain on the host (see ``tests/hostleaks.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import hostleaks

REPO = Path(__file__).resolve().parent.parent
# The shared research folder (conformance corpus); tests needing it skip when absent.
SHARED = next((p for p in (REPO.parent / "shared", Path("/work/shared")) if p.is_dir()),
              REPO.parent / "shared")
CORPUS = SHARED / "corpus"


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:  # shown by pytest on a failed assert
        return f"rc={self.returncode}\n--stdout--\n{self.stdout}\n--stderr--\n{self.stderr}"


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("COMPOSE_FILE", None)
    env.pop("COMPOSE_PROJECT_NAME", None)
    env.pop("COMPOSE_PROFILES", None)
    if extra:
        env.update(extra)
    return env


@pytest.fixture
def state_paths(tmp_path: Path):
    from runtime.paths import StatePaths

    return StatePaths.resolve(tmp_path / "root", tmp_path / "run")


@pytest.fixture
def run_cli(state_paths):
    """Run ``pycompose ARGS`` with this test's temporary root; returns a CliResult."""

    def run(*args: str, cwd: str | Path | None = None, env: dict[str, str] | None = None,
            input: str | None = None, timeout: float = 120) -> CliResult:
        full_env = cli_env(env)
        full_env.setdefault("PYCOMPOSE_ROOT", str(state_paths.root))
        full_env.setdefault("PYCOMPOSE_RUN_DIR", str(state_paths.run_dir))
        proc = subprocess.run(
            [sys.executable, "-m", "compose", *args], cwd=cwd, env=full_env, input=input,
            capture_output=True, text=True, timeout=timeout,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (namespaces, mounts)")


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config._pycompose_host_before = hostleaks.snapshot()  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = getattr(session.config, "_pycompose_host_before", None)
    if before is None or hasattr(session.config, "workerinput"):
        return  # xdist workers: the controller checks once for everyone
    leaked = hostleaks.diff(before, hostleaks.snapshot())
    if leaked:
        report = "\n".join(f"  {kind}: {item}" for kind, item in leaked)
        msg = f"pycompose tests leaked host objects:\n{report}\n"
        sys.stderr.write(msg)
        if os.environ.get("PYCOMPOSE_LEAKCHECK", "strict") == "strict":
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
