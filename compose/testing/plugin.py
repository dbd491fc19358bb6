"""The pytest plugin (registered through the ``pytest11`` entry point ``pycompose``).

Configuration (``pytest.ini`` ``[pytest]`` or ``pyproject.toml``
``[tool.pytest.ini_options]``; command-line flags win)::

    pycompose_files = tests/compose.yaml        # one per line; relative to the ini file
    pycompose_profiles = debug                  # optional
    pycompose_services = db cache               # optional subset (+ their dependencies)
    pycompose_env = POSTGRES_PASSWORD=test      # optional, one KEY=VALUE per line
    pycompose_project_name = myapp              # prefix of the unique project names
    pycompose_reset = db                        # services whose volumes are snapshotted
    pycompose_timeout = 120                     # readiness budget (default: derived)
    pycompose_random_ports = true               # publish on random 127.0.0.1 ports
    pycompose_root = /var/lib/pycompose         # state root (default: PYCOMPOSE_ROOT/normal)

Fixtures:

* ``pycompose_stack`` (session): the :class:`~compose.testing.stack.Stack`, started once
  and ready (healthy / port answering), brought down (``down -v``) at the end.  Each
  pytest-xdist worker gets its own project (``<prefix>-<worker>-<random>``) with random
  host ports, so workers and concurrent CI jobs never clash.
* ``pycompose`` (function): the same stack; with ``@pytest.mark.pycompose(reset=True)``
  (or ``reset=["db"]``) the snapshotted volumes are restored before the test.
* ``pycompose_clean`` (function): the stack, with every ``pycompose_reset`` service's
  volumes restored before the test.

Flags: ``--pycompose-file``, ``--pycompose-root``, ``--pycompose-keep`` (leave the stack
up and print how to reach it).  On a failing test using the stack, the services' recent
logs are attached to the report (section ``pycompose logs``).  Stacks of sessions that
were killed (SIGKILL, a cancelled CI job) are brought down by the next session using the
same root (``compose.testing.sessions``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import pytest

STACK_KEY = pytest.StashKey[Any]()
KEPT_KEY = pytest.StashKey[list]()
LOG_TAIL = 100


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pycompose", "compose stacks as fixtures (pycompose)")
    group.addoption("--pycompose-file", action="append", default=None, metavar="FILE",
                    help="compose file for the pycompose_stack fixture (repeatable; "
                         "replaces the pycompose_files ini option)")
    group.addoption("--pycompose-root", default=None, metavar="DIR",
                    help="pycompose state root (default: pycompose_root, PYCOMPOSE_ROOT, "
                         "the normal root)")
    group.addoption("--pycompose-keep", action="store_true", default=False,
                    help="leave the stack up after the session (for debugging)")
    parser.addini("pycompose_files", "compose files (one per line)", type="linelist",
                  default=[])
    parser.addini("pycompose_profiles", "compose profiles to enable", type="args", default=[])
    parser.addini("pycompose_services", "services to start (default: all)", type="args",
                  default=[])
    parser.addini("pycompose_env", "KEY=VALUE interpolation variables (one per line)",
                  type="linelist", default=[])
    parser.addini("pycompose_project_name", "prefix of the unique project names",
                  default="pytest")
    parser.addini("pycompose_reset", "services whose named volumes are snapshotted once "
                  "ready and restored by pycompose_clean", type="args", default=[])
    parser.addini("pycompose_timeout", "readiness budget in seconds (default: derived "
                  "from the healthchecks)", default="")
    parser.addini("pycompose_random_ports", "publish ports on random 127.0.0.1 host ports",
                  type="bool", default=True)
    parser.addini("pycompose_root", "pycompose state root", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pycompose(reset=True|[services]): restore the snapshotted volumes of "
                   "the stack's services before this test (with the `pycompose` fixture)")
    config.stash[KEPT_KEY] = []


def _base_dir(config: pytest.Config) -> Path:
    return Path(config.inipath).parent if config.inipath else config.rootpath


def _files(config: pytest.Config) -> list[str]:
    cli = config.getoption("--pycompose-file")
    if cli:
        return [str(Path(f).absolute()) for f in cli]
    base = _base_dir(config)
    return [str(base / f) for f in config.getini("pycompose_files")]


def _root(config: pytest.Config) -> str | None:
    root = config.getoption("--pycompose-root") or config.getini("pycompose_root")
    if root and not os.path.isabs(root):
        root = str(_base_dir(config) / root)
    return root or None


def project_name(config: pytest.Config) -> str:
    """``<prefix>-<worker>-<random>``: unique per xdist worker and per session."""
    prefix = config.getini("pycompose_project_name") or "pytest"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}-{worker}-{secrets.token_hex(3)}".lower()


def host_problem() -> str | None:
    """Why this host cannot run containers (what ``pycompose system check`` says)."""
    from runtime import features

    missing = features.missing_required(features.check())
    if not missing:
        return None
    lines = [f"  - {f.name}: {f.detail or 'missing'}" + (f" ({f.disables})" if f.disables
                                                          else "") for f in missing]
    return ("pycompose cannot run containers on this host:\n" + "\n".join(lines) +
            "\n(run `pycompose system check` for the full report)")


@pytest.fixture(scope="session")
def pycompose_stack(request: pytest.FixtureRequest):
    """The session's compose stack, up and ready; ``down -v`` at the end."""
    from compose.errors import ConfigError
    from compose.testing.sessions import reap_stale
    from compose.testing.stack import Stack

    config = request.config
    files = _files(config)
    if not files:
        pytest.fail("pycompose_stack: no compose file configured (set `pycompose_files` "
                    "in pytest.ini/pyproject.toml or pass --pycompose-file)", pytrace=False)
    problem = host_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    env = {}
    for line in config.getini("pycompose_env"):
        k, sep, v = line.partition("=")
        if sep:
            env[k.strip()] = v.strip()
    timeout = config.getini("pycompose_timeout")
    keep = config.getoption("--pycompose-keep")
    try:
        stack = Stack.from_files(files, project_name(config), env,
                                 config.getini("pycompose_profiles"), root=_root(config),
                                 random_ports=config.getini("pycompose_random_ports"),
                                 record=True)
    except ConfigError as err:
        pytest.fail(f"pycompose: invalid compose configuration:\n{err}", pytrace=False)
    reap_stale(stack.paths)
    config.stash[STACK_KEY] = stack
    try:
        stack.up(services=config.getini("pycompose_services"),
                 timeout=float(timeout) if timeout else None)
        reset = config.getini("pycompose_reset")
        if reset:
            stack.snapshot(*reset)
        yield stack
    finally:
        if keep:
            from compose.testing.sessions import StackRecord, write_record

            write_record(stack.paths, StackRecord(project=stack.name, files=list(files),
                                                  keep=True))
            config.stash[KEPT_KEY].append(stack)
            stack.close()
        else:
            try:
                stack.down(volumes=True)
            finally:
                stack.close()
                config.stash[STACK_KEY] = None


@pytest.fixture
def pycompose(request: pytest.FixtureRequest, pycompose_stack):
    """The session stack; ``@pytest.mark.pycompose(reset=...)`` restores volumes first."""
    marker = request.node.get_closest_marker("pycompose")
    reset = marker.kwargs.get("reset") if marker else None
    if reset:
        services = () if reset is True else tuple(reset)
        pycompose_stack.restore(*services)
    return pycompose_stack


@pytest.fixture
def pycompose_clean(request: pytest.FixtureRequest, pycompose_stack):
    """The session stack with the ``pycompose_reset`` services' volumes restored."""
    if not request.config.getini("pycompose_reset"):
        pytest.fail("pycompose_clean needs the `pycompose_reset` ini option (the services "
                    "whose volumes are snapshotted)", pytrace=False)
    pycompose_stack.restore()
    return pycompose_stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed or "pycompose_stack" not in getattr(item, "fixturenames", ()):
        return
    stack = item.config.stash.get(STACK_KEY, None)
    if stack is None:
        return
    try:
        text = stack.logs(tail=LOG_TAIL)
    except Exception as err:  # never hide the test's own failure
        text = f"(could not read the logs: {err})"
    rep.sections.append((f"pycompose logs ({stack.name}, last {LOG_TAIL} lines per "
                         "container)", text or "(no output)"))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for stack in terminalreporter.config.stash.get(KEPT_KEY, []):
        root = stack.paths.root
        files = " ".join(f"-f {f}" for f in stack.files)
        terminalreporter.write_line(
            f"pycompose: stack {stack.name!r} left up (--pycompose-keep). Inspect it with\n"
            f"  PYCOMPOSE_ROOT={root} pycompose {files} -p {stack.name} ps\n"
            f"and remove it with\n"
            f"  PYCOMPOSE_ROOT={root} pycompose {files} -p {stack.name} down -v")
