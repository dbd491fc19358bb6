"""A compose project as a Python object: ``Stack`` (sync) and ``AsyncStack`` (async).

In-process over the orchestrator (``compose.project``): no CLI text is parsed, no
daemon is needed.  Typical use::

    from compose.testing import Stack

    with Stack.from_files(["compose.yaml"], random_ports=True) as stack:   # up + down -v
        host, port = stack.host_port("redis", 6379)
        assert stack.exec("redis", ["redis-cli", "ping"]).stdout == "PONG\\n"

``up(wait=True)`` returns once every started service is ready: healthy where the
service (or its image) has a healthcheck, else its published TCP ports accept
connections, else running.  The time budget defaults to what the healthchecks
themselves allow (``start_period + (interval + timeout) * retries``, plus a margin)
rather than a constant.  Failures raise :mod:`compose.testing.errors` types with the
service's recent logs attached.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from compose.model.types import Project, Service
from compose.testing.errors import (
    PortNotPublished,
    ServiceExited,
    ServiceNotReady,
    ServiceUnhealthy,
)
from runtime.paths import StatePaths

POLL = 0.05
MARGIN = 10.0            # seconds added to the budget derived from healthchecks
DEFAULT_BUDGET = 60.0    # no healthcheck anywhere: how long a port may take to answer
LOG_TAIL = 50


@dataclass(frozen=True)
class ExecResult:
    """What ``exec`` captured.  ``stdout``/``stderr`` decoded as UTF-8 (replacing
    undecodable bytes); the raw bytes are in ``stdout_bytes``/``stderr_bytes``."""

    exit_code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes = b""
    stderr_bytes: bytes = b""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class ServiceContainer:
    """One running replica of a service."""

    id: str
    name: str
    service: str
    number: int
    status: str


class HostPort(tuple):
    """``(host, port)``; also ``.host`` and ``.port``."""

    __slots__ = ()

    def __new__(cls, host: str, port: int) -> HostPort:
        return super().__new__(cls, (host, port))

    @property
    def host(self) -> str:
        return self[0]

    @property
    def port(self) -> int:
        return self[1]


class Stack:
    """A compose project driven from Python (synchronous API; see :class:`AsyncStack`).

    Thread-safe for the read-only calls (``host_port``, ``exec``, ``logs``); ``up``,
    ``down``, ``restore`` hold the project's lock, as the CLI does.
    """

    def __init__(self, project: Project, paths: StatePaths, *,
                 files: Sequence[str] = (), profiles: Sequence[str] = (),
                 env: Mapping[str, str] | None = None, record: bool = False) -> None:
        from compose.project.context import ProjectContext

        self.project = project
        self.paths = paths
        self.files = tuple(files)
        self.profiles = tuple(profiles)
        self.env = dict(env or {})
        self.record = record
        self._ctx = ProjectContext(project=project, paths=paths)
        self._lock = threading.Lock()
        self._snapshots: Any = None

    # ---- construction ----------------------------------------------------------------
    @classmethod
    def from_files(cls, files: Sequence[str | Path], project_name: str | None = None,
                   env: Mapping[str, str] | None = None, profiles: Sequence[str] = (), *,
                   root: str | Path | None = None, run_dir: str | Path | None = None,
                   project_directory: str | Path | None = None,
                   random_ports: bool = False, record: bool = False) -> Stack:
        """Load the project from compose files (validated as ``pycompose config`` does).

        ``env``: variables for interpolation, on top of the process environment.
        ``root``/``run_dir``: the state root (default: ``PYCOMPOSE_ROOT`` or the normal
        root).  ``random_ports``: publish every port on a random ``127.0.0.1`` host port
        (tests, parallel runs).  ``record``: note the stack under the root so that a
        later :func:`compose.testing.sessions.reap_stale` can clean it up if this process
        dies without ``down``.
        """
        import os

        from compose.loader import LoadOptions
        from compose.project_loader import load_project
        from compose.testing.ports import randomize_ports

        paths = StatePaths.resolve(root, run_dir)
        environ = dict(os.environ)
        for k in ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES"):
            environ.pop(k, None)
        environ.update(env or {})
        abs_files = tuple(str(Path(f).absolute()) for f in files)
        opts = LoadOptions(files=abs_files, project_name=project_name,
                           project_directory=str(project_directory)
                           if project_directory else None,
                           profiles=tuple(profiles), environ=environ)
        project = load_project(opts)
        if random_ports:
            project = randomize_ports(project)
        return cls(project, paths, files=abs_files, profiles=profiles, env=env,
                   record=record)

    @classmethod
    def from_record(cls, rec: Any, paths: StatePaths) -> Stack:
        """The stack a :class:`~compose.testing.sessions.StackRecord` describes (to bring
        down what a dead session left).  When its files are gone, an empty project of
        that name: ``down`` still removes its containers (found by label)."""
        from compose.errors import ConfigError

        try:
            return cls.from_files(rec.files, rec.project, rec.env, rec.profiles,
                                  root=paths.root, run_dir=paths.run_dir,
                                  project_directory=rec.project_dir)
        except (ConfigError, OSError):
            project = Project(name=rec.project, working_dir=rec.project_dir or "/",
                              services={})
            return cls(project, paths)

    # ---- properties --------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.project.name

    @property
    def services(self) -> list[str]:
        return list(self.project.services)

    def __repr__(self) -> str:
        return f"<Stack {self.name!r} services={self.services} root={str(self.paths.root)!r}>"

    # ---- lifecycle ---------------------------------------------------------------------
    def up(self, *, wait: bool = True, services: Sequence[str] = (),
           timeout: float | None = None, build: bool | None = None,
           pull: str | None = None) -> list[ServiceContainer]:
        """Create and start the project (or ``services`` and their dependencies); with
        ``wait``, return once every started service is ready (see module docstring).
        ``timeout``: overall readiness budget in seconds (default: derived)."""
        from compose.project.lock import project_lock
        from compose.project.up import UpOptions, up

        if self.record:
            self._write_record()
        started = time.monotonic()
        opts = UpOptions(services=tuple(services), build=build, pull=pull)
        with project_lock(self.paths, self.name):
            anyio.run(up, self._ctx, opts)
        found = self.containers()
        if services:
            from compose.project.select import with_dependencies

            wanted = set(with_dependencies(self.project, tuple(services), no_deps=False))
            found = [c for c in found if c.service in wanted]
        if wait:
            budget = timeout if timeout is not None else self._derived_budget(found)
            deadline = started + budget
            for c in found:
                self._wait_ready(c, deadline)
        return found

    def down(self, *, volumes: bool = True, timeout: float | None = 0) -> None:
        """Stop and remove containers and networks, and (by default, unlike the CLI)
        the project's named volumes.  ``timeout``: seconds before SIGKILL (0: at once;
        test data is thrown away anyway)."""
        from compose.project.down import DownOptions, down
        from compose.project.lock import project_lock

        if self._snapshots is not None:
            self._snapshots.discard()
            self._snapshots = None
        with project_lock(self.paths, self.name):
            anyio.run(down, self._ctx, DownOptions(volumes=volumes, remove_orphans=True,
                                                   timeout=timeout))
        if self.record:
            from compose.testing.sessions import remove_record

            remove_record(self.paths, self.name)

    def close(self) -> None:
        """Release host handles (netlink sockets); the stack itself keeps running."""
        self._ctx.close()

    def __enter__(self) -> Stack:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.down()
        finally:
            self.close()

    def _write_record(self) -> None:
        from compose.testing.sessions import StackRecord, write_record

        write_record(self.paths, StackRecord(
            project=self.name, files=list(self.files), project_dir=self.project.working_dir,
            profiles=list(self.profiles), env=self.env))

    # ---- lookups -----------------------------------------------------------------------
    def service(self, name: str) -> Service:
        """The service's model (``compose.model.types.Service``); NoSuchService with a
        did-you-mean for unknown names."""
        return self.project.service(name)

    def containers(self, service: str | None = None) -> list[ServiceContainer]:
        from compose.project.observe import project_containers

        if service is not None:
            self.service(service)
        return [ServiceContainer(o.id, o.name, o.service, o.number, o.status)
                for o in project_containers(self._ctx.containers, self.name)
                if service is None or o.service == service]

    def container(self, service: str, index: int = 1) -> ServiceContainer:
        for c in self.containers(service):
            if c.number == index:
                return c
        from runtime.errors import NotFoundError

        raise NotFoundError(f"service {service!r} has no container #{index} in project "
                            f"{self.name!r}", hint="is the stack up? (Stack.up())")

    def host_port(self, service: str, container_port: int, protocol: str = "tcp",
                  index: int = 1) -> HostPort:
        """Where the host reaches ``container_port`` of the service's ``index``-th
        container: ``(host, port)``.  A binding on every address reads as 127.0.0.1."""
        c = self.container(service, index)
        bindings = self._ctx.networks.port(c.id, container_port, protocol)
        if not bindings:
            published = sorted({(p.target, p.protocol) for p in self.service(service).ports})
            raise PortNotPublished(
                f"service {service!r} does not publish {container_port}/{protocol}",
                hint="published ports: " + (", ".join(f"{t}/{p}" for t, p in published)
                                            or "none") + " (add it under `ports:`)")
        b = sorted(bindings, key=lambda b: (b.host_ip not in ("", "0.0.0.0", "127.0.0.1"),
                                            b.host_ip))[0]
        host = b.host_ip if b.host_ip not in ("", "0.0.0.0", "::") else "127.0.0.1"
        return HostPort(host, b.host_port)

    def url(self, service: str, port: int, scheme: str = "http", path: str = "",
            index: int = 1) -> str:
        host, hport = self.host_port(service, port, index=index)
        if ":" in host:
            host = f"[{host}]"
        if path and not path.startswith("/"):
            path = "/" + path
        return f"{scheme}://{host}:{hport}{path}"

    # ---- interaction -------------------------------------------------------------------
    def exec(self, service: str, cmd: Sequence[str] | str, *, index: int = 1,
             user: str | None = None, workdir: str | None = None,
             env: Mapping[str, str] | None = None, stdin: bytes | None = None,
             timeout: float | None = None) -> ExecResult:
        """Run ``cmd`` (a list, or a string run with ``sh -c``) in the service's running
        container; never raises for a non-zero exit code (check ``exit_code``)."""
        args = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        c = self.container(service, index)
        res = self._ctx.containers.exec(
            c.id, args, user=user, workdir=workdir,
            env=[f"{k}={v}" for k, v in (env or {}).items()],
            stdin=stdin if stdin is not None else False, timeout=timeout)
        return ExecResult(res.exit_code, res.stdout.decode(errors="replace"),
                          res.stderr.decode(errors="replace"), res.stdout, res.stderr)

    def logs(self, service: str | None = None, *, tail: int | None = None,
             since: str | None = None, prefix: bool = True) -> str:
        """The output of the service's containers (all services when None), merged in
        time order, as ``pycompose logs --no-color`` prints it."""
        import heapq

        found = self.containers(service)
        width = max((len(c.name) for c in found), default=0)

        def stream(i: int, c: ServiceContainer):
            for e in self._ctx.containers.logs(c.id, tail=tail, since=since):
                yield e.time, i, e

        lines = []
        for _, i, e in heapq.merge(*(stream(i, c) for i, c in enumerate(found))):
            text = e.data.decode(errors="replace").rstrip("\n")
            lines.append(f"{found[i].name.ljust(width)} | {text}" if prefix else text)
        return "\n".join(lines) + ("\n" if lines else "")

    def stop(self, *services: str, timeout: float | None = None) -> None:
        from compose.project.lifecycle import stop

        with self._lock:
            anyio.run(lambda: stop(self._ctx, services, timeout=timeout))

    def start(self, *services: str, wait: bool = True, timeout: float | None = None) -> None:
        from compose.project.lifecycle import start

        started = time.monotonic()
        with self._lock:
            anyio.run(start, self._ctx, services)
        if wait:
            found = [c for c in self.containers() if not services or c.service in services]
            budget = timeout if timeout is not None else self._derived_budget(found)
            for c in found:
                self._wait_ready(c, started + budget)

    # ---- fast reset --------------------------------------------------------------------
    def snapshot(self, *services: str) -> None:
        """Remember the named volumes of ``services`` (default: every service with a
        named volume) as they are now; :meth:`restore` brings them back.  The services
        are stopped while their volumes are copied (a consistent copy), then started."""
        from compose.testing.snapshot import Snapshots

        if self._snapshots is None:
            self._snapshots = Snapshots(self)
        self._snapshots.take(services)

    def restore(self, *services: str, timeout: float | None = None) -> float:
        """Put the snapshotted volumes back (kill, swap contents, start, wait ready);
        returns the seconds it took."""
        if self._snapshots is None:
            from runtime.errors import UsageError

            raise UsageError("restore() before snapshot()",
                             hint="call stack.snapshot() once the stack is ready")
        return self._snapshots.restore(services, timeout=timeout)

    # ---- readiness ---------------------------------------------------------------------
    def _health_budget(self, c: ServiceContainer) -> float | None:
        hc = self._ctx.containers.inspect(c.id).get("Config", {}).get("Healthcheck")
        if not hc or (hc.get("Test") or ["NONE"])[0] == "NONE":
            return None
        ns = 1e9

        def sec(key: str, default: float) -> float:
            v = hc.get(key)
            return v / ns if v else default

        retries = hc.get("Retries") or 3
        return (sec("StartPeriod", 0) + (sec("Interval", 30) + sec("Timeout", 30)) * retries)

    def _derived_budget(self, found: Sequence[ServiceContainer]) -> float:
        budgets = [b for c in found if (b := self._health_budget(c)) is not None]
        return (max(budgets) if budgets else DEFAULT_BUDGET) + MARGIN

    def _tail(self, service: str) -> str:
        try:
            return self.logs(service, tail=LOG_TAIL)
        except Exception:
            return ""

    def _wait_ready(self, c: ServiceContainer, deadline: float) -> None:
        svc = self.project.services.get(c.service)
        ports = [p.target for p in (svc.ports if svc else ()) if p.protocol == "tcp"]
        while True:
            state = self._ctx.containers.inspect(c.id)["State"]
            health = (state.get("Health") or {}).get("Status")
            status = state.get("Status", "")
            if status in ("exited", "dead"):
                code = state.get("ExitCode")
                if code == 0 and health is None and not ports:
                    return  # a one-shot job that completed
                raise ServiceExited(f"service {c.service!r} ({c.name}) exited with code "
                                    f"{code} before it was ready", service=c.service,
                                    exit_code=code, logs=self._tail(c.service))
            if health == "unhealthy":
                raise ServiceUnhealthy(f"service {c.service!r} ({c.name}) is unhealthy",
                                       service=c.service, logs=self._tail(c.service),
                                       hint="its healthcheck log: pycompose inspect / ps; "
                                            "the service's logs are attached")
            if health == "healthy" or (health is None and status == "running"
                                       and all(self._port_answers(c, p) for p in ports)):
                return
            if time.monotonic() > deadline:
                what = ("healthy" if health is not None else
                        f"answering on {ports}" if ports else "running")
                raise ServiceNotReady(f"service {c.service!r} ({c.name}) was not {what} in "
                                      "time", service=c.service, logs=self._tail(c.service),
                                      hint="raise the timeout (up(timeout=...), "
                                           "pycompose_timeout) or check the logs")
            time.sleep(POLL)

    def _port_answers(self, c: ServiceContainer, port: int) -> bool:
        try:
            host, hport = self.host_port(c.service, port, index=c.number)
        except PortNotPublished:
            return True
        try:
            with socket.create_connection((host, hport), timeout=1.0):
                return True
        except OSError:
            return False


class AsyncStack:
    """The same API for async code (asyncio or trio, through anyio): every blocking
    call runs in a worker thread.  ``async with AsyncStack.from_files(...) as stack:``."""

    def __init__(self, stack: Stack) -> None:
        self.sync = stack

    @classmethod
    def from_files(cls, files: Sequence[str | Path], project_name: str | None = None,
                   env: Mapping[str, str] | None = None, profiles: Sequence[str] = (),
                   **kwargs: Any) -> AsyncStack:
        return cls(Stack.from_files(files, project_name, env, profiles, **kwargs))

    @property
    def name(self) -> str:
        return self.sync.name

    @property
    def project(self) -> Project:
        return self.sync.project

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    async def up(self, **kwargs: Any) -> list[ServiceContainer]:
        return await self._run(self.sync.up, **kwargs)

    async def down(self, **kwargs: Any) -> None:
        await self._run(self.sync.down, **kwargs)

    def service(self, name: str) -> Service:
        return self.sync.service(name)

    async def host_port(self, *args: Any, **kwargs: Any) -> HostPort:
        return await self._run(self.sync.host_port, *args, **kwargs)

    async def url(self, *args: Any, **kwargs: Any) -> str:
        return await self._run(self.sync.url, *args, **kwargs)

    async def exec(self, *args: Any, **kwargs: Any) -> ExecResult:
        return await self._run(self.sync.exec, *args, **kwargs)

    async def logs(self, *args: Any, **kwargs: Any) -> str:
        return await self._run(self.sync.logs, *args, **kwargs)

    async def snapshot(self, *services: str) -> None:
        await self._run(self.sync.snapshot, *services)

    async def restore(self, *services: str, **kwargs: Any) -> float:
        return await self._run(self.sync.restore, *services, **kwargs)

    async def __aenter__(self) -> AsyncStack:
        try:
            await self.up()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.down()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        with anyio.CancelScope(shield=True):
            try:
                await self.down()
            finally:
                self.sync.close()

