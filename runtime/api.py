"""The runtime's public Python API, used by the orchestrator, the CLI and tests.

    rt = Runtime(StatePaths.resolve())
    cid = rt.containers.create(spec)
    rt.containers.start(cid)
    rt.containers.wait(cid)            # -> exit code
    rt.containers.logs(cid, tail=10)   # -> iterator of LogEntry
    rt.containers.remove(cid)

Container references (``ref``) are full ids, unique id prefixes, or names.  Other parts
of the runtime add ``.images``, ``.networks`` and ``.volumes`` facades.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runtime.paths import StatePaths
from runtime.spec import ContainerSpec


class Containers:
    def __init__(self, paths: StatePaths, fork_server: bool = False) -> None:
        from runtime.container.store import ContainerStore

        self.store = ContainerStore(paths)
        self._fork_server = None
        self._want_fork_server = fork_server

    def _server(self):
        """The fork server, made on the first start (commands that start nothing never
        import it)."""
        if self._fork_server is None and self._want_fork_server:
            import os

            from runtime.container.forkserver import ForkServer

            # = runtime.container.start.PKG_DIR, without importing start (and what it
            # imports) in commands that end up starting nothing
            self._fork_server = ForkServer(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__))))
        return self._fork_server

    def close(self) -> None:
        """Stop the fork server (if any); running containers are unaffected."""
        if self._fork_server is not None:
            self._fork_server.close()

    def resolve(self, ref: str) -> str:
        return self.store.resolve(ref)

    def create(self, spec: ContainerSpec) -> str:
        from runtime.container.create import create

        return create(self.store, spec)

    def start(self, ref: str, attach_fd: int = -1,
              console_size: tuple[int, int] | None = None, prespawned=None) -> int:
        """Start; returns PID 1's host pid.  ``attach_fd``: the shim's end of an
        :func:`runtime.container.attach.socketpair`, attached before the exec."""
        from runtime.container.start import start

        return start(self.store, self.resolve(ref), attach_fd, console_size,
                     self._server(), prespawned)

    def run(self, spec: ContainerSpec) -> str:
        """create + start (detached)."""
        cid = self.create(spec)
        self.start(cid)
        return cid

    def stop(self, ref: str, timeout: float | None = None, signal: str | None = None, *,
             removing: bool = False) -> None:
        """``removing=True``: ``remove`` follows at once (the names stay in DNS until
        then, saving a network-state update per container in ``down``)."""
        from runtime.container.stop import stop

        stop(self.store, self.resolve(ref), timeout, signal, leave_dns=not removing)

    def restart(self, ref: str, timeout: float | None = None) -> int:
        cid = self.resolve(ref)
        self.stop(cid, timeout)
        return self.start(cid)

    def kill(self, ref: str, signal: str | int = "SIGKILL") -> None:
        from runtime.container.kill import kill

        kill(self.store, self.resolve(ref), signal)

    def remove(self, ref: str, force: bool = False) -> None:
        from runtime.container.delete import remove

        remove(self.store, self.resolve(ref), force)

    def wait(self, ref: str, timeout: float | None = None) -> int:
        from runtime.container.wait import wait

        return wait(self.store, self.resolve(ref), timeout)

    def get(self, ref: str):
        """The on-disk :class:`runtime.container.store.Record`."""
        return self.store.load(self.resolve(ref))

    def inspect(self, ref: str) -> dict[str, Any]:
        from runtime.container.inspect import inspect

        return inspect(self.get(ref))

    def list(self, all: bool = False, filters: tuple[str, ...] = (), size: bool = False):
        from runtime.container.listing import list_containers

        return list_containers(self.store, all, filters, size)

    def logs(self, ref: str, *, follow: bool = False, tail: int | None = None,
             since: str | None = None, until: str | None = None) -> Iterator:
        from runtime.container.logs import read_logs

        return read_logs(self.store, self.resolve(ref), tail=tail, since=since, until=until,
                         follow=follow)

    # ---- exec ------------------------------------------------------------------------
    def exec(self, ref: str, args: list[str] | tuple[str, ...], *, user: str | None = None,
             workdir: str | None = None, env: tuple[str, ...] | list[str] = (),
             tty: bool = False, stdin: bool | bytes = False, detach: bool = False,
             privileged: bool = False, timeout: float | None = None):
        """Run ``args`` in the running container and collect its output.

        Returns :class:`runtime.container.exec.ExecResult` ``(exit_code, stdout,
        stderr)``; 126/127 (message in ``stderr``) when the command cannot be run, as
        Docker.  ``stdin``: bytes to feed (``True`` = empty input, ``False`` = /dev/null).
        ``tty``: a pty from the container's devpts (output arrives in ``stdout``).
        ``detach``: return once the command has started (exit code 0).  ``timeout``:
        SIGKILL the command after that many seconds (``timed_out`` is set).
        """
        from runtime.container import exec as ex

        plan = ex.build_plan(self.store, self.resolve(ref), args, user=user, workdir=workdir,
                             env=env, tty=tty, privileged=privileged)
        data = stdin if isinstance(stdin, bytes) else (b"" if stdin else None)
        return ex.run_captured(plan, data, timeout=timeout, detach=detach)

    def exec_attached(self, ref: str, args: list[str] | tuple[str, ...], *,
                      user: str | None = None, workdir: str | None = None,
                      env: tuple[str, ...] | list[str] = (), tty: bool = False,
                      stdin_fd: int | None = None, stdout_fd: int = 1, stderr_fd: int = 2,
                      privileged: bool = False) -> int:
        """Interactive exec on the caller's fds (the CLI's ``exec``); returns the exit
        code.  With ``tty`` and a terminal on ``stdin_fd``: raw mode, the terminal's size
        and its changes, Ctrl-C to the command."""
        from runtime.container import exec as ex
        from runtime.container.attach import terminal_size

        size = terminal_size(stdin_fd) if tty and stdin_fd is not None else None
        if tty and size is None:
            size = terminal_size(stdout_fd)
        plan = ex.build_plan(self.store, self.resolve(ref), args, user=user, workdir=workdir,
                             env=env, tty=tty, privileged=privileged, console_size=size)
        return ex.run_attached(plan, stdin_fd, stdout_fd, stderr_fd)

    # ---- pause, top, stats, cp -----------------------------------------------------------
    def pause(self, ref: str) -> None:
        """Freeze every process of the container (cgroup freezer); status ``paused``."""
        from runtime.container.pause import pause

        pause(self.store, self.resolve(ref))

    def unpause(self, ref: str) -> None:
        from runtime.container.pause import unpause

        unpause(self.store, self.resolve(ref))

    def top(self, ref: str, ps_args: str | None = None) -> tuple[list[str], list[list[str]]]:
        """``(titles, rows)`` of the container's processes, host view (``docker top``);
        default columns UID PID PPID C STIME TTY TIME CMD, or the host ``ps``'s with
        ``ps_args``."""
        from runtime.container.top import top

        return top(self.store, self.resolve(ref), ps_args)

    def stats(self, refs: str | list[str], interval: float = 1.0, previous: dict | None = None):
        """``(list of runtime.container.stats.ContainerStats, samples)``; pass
        ``samples`` back as ``previous`` to stream without sleeping again."""
        from runtime.container.stats import collect

        ids = [self.resolve(r) for r in ([refs] if isinstance(refs, str) else refs)]
        return collect(self.store, ids, interval, previous)

    def cp_out(self, ref: str, path: str, out, follow_link: bool = False) -> None:
        """Write a tar stream of ``path`` (file or tree, named by its base name) to the
        binary file ``out``.  Paths are resolved inside the container's root."""
        from runtime.container import copy

        with copy.os_errors("cp"), \
                copy.container_root(self.store, self.resolve(ref)) as (k, rootfd):
            copy.write_tar(k, rootfd, path, out, follow_link=follow_link)

    def cp_in(self, ref: str, path: str, tar, archive: bool = False) -> None:
        """Extract the tar stream ``tar`` into directory ``path`` of the container (files
        owned by root unless ``archive``)."""
        from runtime.container import copy

        with copy.os_errors("cp"), \
                copy.container_root(self.store, self.resolve(ref)) as (k, rootfd):
            copy.extract_tar(k, rootfd, path, tar, owner=None if archive else (0, 0))

    def copy_to(self, ref: str, src: str, dst: str, archive: bool = False) -> None:
        """``docker cp SRC CTR:DST`` semantics (into a directory, or as a new name)."""
        from runtime.container.copy import copy_to, os_errors

        with os_errors("cp"):
            copy_to(self.store, self.resolve(ref), src, dst, archive)

    def copy_from(self, ref: str, src: str, dst: str, archive: bool = False,
                  follow_link: bool = False) -> None:
        """``docker cp CTR:SRC DST`` semantics."""
        from runtime.container.copy import copy_from, os_errors

        with os_errors("cp"):
            copy_from(self.store, self.resolve(ref), src, dst, archive, follow_link)

    def attach_socket(self, ref: str) -> str:
        return str(self.store.run_dir(self.resolve(ref)) / "attach.sock")

    def prune(self) -> list[str]:
        from runtime.container.prune import prune

        return prune(self.store)


class Runtime:
    """``fork_server=True`` (for long-lived callers such as ``up``): shims are forked by
    one pre-started lean process instead of each paying an interpreter start-up."""

    def __init__(self, paths: StatePaths, fork_server: bool = False) -> None:
        self.paths = paths
        self.containers = Containers(paths, fork_server)

    def close(self) -> None:
        self.containers.close()
