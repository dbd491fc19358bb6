"""Execute one RUN step in a real container of our runtime.

The container gets the stage's layers as overlay lower dirs; its writable upper dir
(``<root>/containers/<id>/upper``) becomes the step's layer.  The container is always
removed afterwards (also on failure or cancellation), so a build leaves no container or
mount behind.  Network ``default`` attaches it to the ``pycompose-build`` bridge
(outbound NAT).  Heredoc scripts with a ``#!`` line are bind-mounted read-only under
``/dev`` (the container's private tmpfs), so they never end up in the layer.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from runtime.build import instructions as ins
from runtime.errors import PycomposeError, RuntimeFailure
from runtime.paths import StatePaths

BUILD_LABEL = "io.pycompose.build"
_swept = False


class RunStepFailed(RuntimeFailure):
    """A RUN command exited non-zero; ``output`` is what it printed."""

    def __init__(self, message: str, output: str, exit_code: int, *,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output
        self.command_exit = exit_code


@dataclass(frozen=True)
class RunPlan:
    argv: tuple[str, ...]
    script_files: tuple[tuple[str, str], ...] = ()  # (container path, content)


def plan_run(run: ins.Run, shell: list[str]) -> RunPlan:
    """argv for a RUN, heredocs included, as BuildKit runs them."""
    if not run.shell_form:
        return RunPlan(tuple(run.command))
    cmd = run.command[0]
    if not run.heredocs:
        return RunPlan((*shell, cmd))
    first = run.heredocs[0]
    if len(run.heredocs) == 1 and cmd.strip() in (f"<<{first.name}", f"<<-{first.name}",
                                                  f"<<'{first.name}'", f'<<"{first.name}"',
                                                  f"<<-'{first.name}'", f'<<-"{first.name}"'):
        if first.content.startswith("#!"):
            path = f"/dev/.pycompose-heredoc-{secrets.token_hex(4)}"
            return RunPlan((path,), ((path, first.content),))
        return RunPlan((*shell, first.content))
    # a command with heredocs: the shell reads the documents itself
    text = cmd + "\n" + "".join(f"{d.content}{d.name}\n" for d in run.heredocs)
    return RunPlan((*shell, text))


@contextlib.contextmanager
def _script_mounts(tmp_root: Path, files: tuple[tuple[str, str], ...]) -> Iterator[list]:
    from runtime.spec import Mount

    if not files:
        yield []
        return
    tmp_root.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix="heredoc-", dir=tmp_root))
    from runtime.build.stale import OWNER_FILE, owner_token

    (d / OWNER_FILE).write_text(owner_token())
    try:
        mounts = []
        for i, (target, content) in enumerate(files):
            p = d / str(i)
            p.write_text(content)
            os.chmod(p, 0o755)
            mounts.append(Mount(type="bind", target=target, source=str(p), read_only=True))
        yield mounts
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_in_container(paths: StatePaths, *, layers: list[Path], plan: RunPlan,
                     env: list[str], cwd: str, user: str, network: str,
                     extra_hosts: tuple[tuple[str, str], ...] = (),
                     shm_size: int | None = None,
                     collect: Callable[[Path], object],
                     on_output: Callable[[str], None] | None = None,
                     mounts: tuple = (),
                     running: set[str] | None = None) -> tuple[object, str]:
    """Run ``plan`` over ``layers``; on success call ``collect(upper_dir)`` before the
    container is removed and return (its result, output).  Raises RunStepFailed."""
    from runtime.api import Runtime
    from runtime.build.stale import OWNER_LABEL, cleanup_containers, owner_token
    from runtime.spec import ContainerSpec, Process, RootFS

    global _swept
    if not _swept:  # once per process: RUN containers of builds that were killed
        _swept = True
        cleanup_containers(paths)

    rt = Runtime(paths)
    network_mode = build_network_mode(paths, network)
    with _script_mounts(paths.builds / "tmp", plan.script_files) as script_mounts:
        spec_kw = {}
        if shm_size:
            spec_kw["shm_size"] = shm_size
        spec = ContainerSpec(
            image="<build>", image_id="", rootfs=RootFS(tuple(layers)),
            process=Process(args=plan.argv, env=tuple(env), cwd=cwd or "/", user=user),
            name=f"pycompose-build-{secrets.token_hex(6)}",
            labels=((BUILD_LABEL, "run"), (OWNER_LABEL, owner_token())),
            mounts=(*script_mounts, *mounts),
            network=network_mode, extra_hosts=extra_hosts, **spec_kw)
        cid = rt.containers.create(spec)
        if running is not None:
            running.add(cid)
        try:
            try:
                rt.containers.start(cid)
            except PycomposeError as e:
                raise RunStepFailed(f"could not start the RUN container: {e.message}",
                                    "", 125, hint=e.hint) from None
            if on_output is not None:  # stream the output while the step runs
                for entry in rt.containers.logs(cid, follow=True):
                    on_output(entry.data.decode("utf-8", "replace"))
            code = rt.containers.wait(cid)
            # the complete output (streaming may miss lines written while it attached)
            output = "".join(e.data.decode("utf-8", "replace")
                             for e in rt.containers.logs(cid))
            if code != 0:
                raise RunStepFailed(f"process {list(plan.argv)!r} did not complete "
                                    f"successfully: exit code: {code}", output, code)
            upper = rt.containers.store.dir(cid) / "upper"
            return collect(upper), output
        finally:
            if running is not None:
                running.discard(cid)
            rt.containers.remove(cid, force=True)


BUILD_NETWORK = "pycompose-build"


def build_network_mode(paths: StatePaths, network: str):
    """``host``/``none`` as asked; ``default``: the ``pycompose-build`` bridge network
    (outbound NAT, created on first use and kept, like Docker's default bridge)."""
    from runtime.spec import NetworkAttachment, NetworkMode

    if network in ("host", "none"):
        return NetworkMode(kind=network)  # type: ignore[arg-type]
    from runtime.errors import ConflictError
    from runtime.network.api import Networks

    nets = Networks(paths)
    try:
        if not nets.exists(BUILD_NETWORK):
            with contextlib.suppress(ConflictError):  # a concurrent build made it
                nets.create(BUILD_NETWORK, labels={BUILD_LABEL: "default"})
    finally:
        nets.close()
    return NetworkMode(kind="bridge", attachments=(NetworkAttachment(BUILD_NETWORK),))
