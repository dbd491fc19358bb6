"""Execute one RUN step in a real container of our runtime.

The container gets the stage's layers as overlay lower dirs; its writable upper dir
(``<root>/containers/<id>/upper``) becomes the step's layer.  The container is always
removed afterwards (also on failure or cancellation), so a build leaves no container or
mount behind.  Heredoc scripts with a ``#!`` line are bind-mounted read-only under
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
                     mounts: tuple = ()) -> tuple[object, str]:
    """Run ``plan`` over ``layers``; on success call ``collect(upper_dir)`` before the
    container is removed and return (its result, output).  Raises RunStepFailed."""
    from runtime.api import Runtime
    from runtime.spec import ContainerSpec, NetworkMode, Process, RootFS

    rt = Runtime(paths)
    kind = build_network_kind(network)
    with _script_mounts(paths.builds / "tmp", plan.script_files) as script_mounts:
        spec_kw = {}
        if shm_size:
            spec_kw["shm_size"] = shm_size
        spec = ContainerSpec(
            image="<build>", image_id="", rootfs=RootFS(tuple(layers)),
            process=Process(args=plan.argv, env=tuple(env), cwd=cwd or "/", user=user),
            name=f"pycompose-build-{secrets.token_hex(6)}",
            labels=((BUILD_LABEL, "run"),), mounts=(*script_mounts, *mounts),
            network=NetworkMode(kind=kind), extra_hosts=extra_hosts, **spec_kw)
        cid = rt.containers.create(spec)
        try:
            if kind == "bridge":
                _attach_build_network(paths, cid)
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
            with contextlib.suppress(PycomposeError, OSError):
                _detach_build_network(paths, cid)
            rt.containers.remove(cid, force=True)


def build_network_kind(network: str) -> str:
    """``host``/``none`` as asked; ``default`` is the default bridge with outbound NAT
    once the network layer can wire build containers, else the host's network (what
    ``buildah``/``podman build --network=host`` give), so package installs still work."""
    if network in ("host", "none"):
        return network
    try:
        from runtime.network import builder  # type: ignore[attr-defined]  # noqa: F401
    except ImportError:
        return "host"
    return "bridge"


def _attach_build_network(paths: StatePaths, cid: str) -> None:
    """Wire the container into the default bridge with outbound NAT, when the network
    layer offers it (``runtime.network.build_attach``); else it stays isolated."""
    try:
        from runtime.network import builder as netbuild  # type: ignore[attr-defined]
    except ImportError:
        return
    netbuild.attach(paths, cid)


def _detach_build_network(paths: StatePaths, cid: str) -> None:
    try:
        from runtime.network import builder as netbuild  # type: ignore[attr-defined]
    except ImportError:
        return
    netbuild.detach(paths, cid)
