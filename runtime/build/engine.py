"""The build engine: Dockerfile + context -> image in the store.

Flow: parse -> global ARGs -> pick the target stage and the stages it needs (FROM a
stage, ``COPY --from``) -> build those stages concurrently (anyio; a stage waits only
for the stages it uses) -> register the target's final state as an image.

Each instruction is a step with a cache key (:mod:`runtime.build.cachekey`); a hit
reuses the stored state (config + layers) without running anything.  Filesystem steps
make a layer: RUN from the container's upper dir, COPY/ADD/WORKDIR from a private
overlay mount; the layer tar goes through ``ImageStore.add_layer``.  Metadata steps
change only the config (history entry with ``empty_layer``), like Docker.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.build import instructions as ins
from runtime.build.cache import BuildCache, StepState
from runtime.build.cachekey import sources_digest, step_key
from runtime.build.context import BuildContext, HashCache
from runtime.build.copier import CopyOptions, copy_sources, parse_chmod
from runtime.build.dockerfile import parse_dockerfile
from runtime.build.dockerignore import load_matcher
from runtime.build.events import BuildEvent, EventSink, ignore
from runtime.build.expand import expand_heredoc, expand_instruction
from runtime.build.layerdiff import RUNTIME_MOUNTPOINTS, write_layer_tar
from runtime.build.overlay import workspace
from runtime.build.rootfs import clean_abs, lookup_user, makedirs
from runtime.errors import InvalidInputError, NotFoundError, PycomposeError, RuntimeFailure
from runtime.images.digest import chain_ids
from runtime.images.store import Image, ImageStore, LayerInfo
from runtime.paths import StatePaths

DEFAULT_SHELL = ["/bin/sh", "-c"]
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Docker's predefined ARGs: usable in RUN without an ARG line, never in history/cache.
PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
              "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")


class BuildError(RuntimeFailure):
    """A build step failed; the message names the step."""


class _DependencyFailed(BuildError):
    """A stage could not continue because a stage it uses failed (secondary error)."""


@dataclass
class BuildRequest:
    context: Path
    dockerfile: Path | None = None          # default <context>/Dockerfile
    dockerfile_text: str | None = None      # inline Dockerfile (compose dockerfile_inline)
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    network: str = "default"                # default | host | none
    secrets: Mapping[str, Path] = field(default_factory=dict)  # RUN --mount=type=secret
    extra_hosts: tuple[tuple[str, str], ...] = ()
    shm_size: int | None = None


@dataclass
class BuildResult:
    image: Image
    steps: int
    cached: int
    layers_created: int


@dataclass
class _StageRun:
    """Mutable per-stage build state."""

    stage: ins.Stage
    state: StepState
    key: str
    args: dict[str, str]            # in-scope ARG values
    total: int                      # steps in this stage (for "[i/n]")
    done: Any = None                # anyio.Event set when finished
    cmd_set: bool = False           # a CMD was given in this stage (ENTRYPOINT keeps it)
    result: tuple[StepState, str] | None = None
    error: BaseException | None = None


def _now_iso() -> str:
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e9):09d}Z"


def _env_dict(env_list: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in env_list:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def _set_env(env_list: list[str], key: str, value: str) -> list[str]:
    out = [e for e in env_list if e.partition("=")[0] != key]
    out.append(f"{key}={value}")
    return out


class Builder:
    """``Builder(paths).build(request)`` (sync) or ``await builder.build_async(request)``."""

    def __init__(self, paths: StatePaths, events: EventSink = ignore,
                 puller: Callable[[str], Image] | None = None) -> None:
        self.paths = paths
        self.store = ImageStore(paths)
        self.cache = BuildCache(paths.builds, self.store)
        self.emit = events
        self._puller = puller
        self._step_no = 0
        self.cached_steps = 0
        self.total_steps = 0
        self.layers_created = 0
        self._declared_args: set[str] = set()
        self._downloads: dict[str, tuple[bytes, str | None]] = {}
        self._first_error: PycomposeError | None = None
        self._running: set[str] = set()   # RUN containers in flight (ids)

    # -- entry points -----------------------------------------------------------------
    def build(self, req: BuildRequest) -> BuildResult:
        """Synchronous build.  In the main thread, Ctrl-C kills the running RUN
        containers first (a RUN cannot be cancelled otherwise), so the build stops at
        once and still removes every container and mount it made."""
        import signal
        import threading

        import anyio

        if threading.current_thread() is not threading.main_thread():
            return anyio.run(self.build_async, req)
        previous = signal.getsignal(signal.SIGINT)

        def on_sigint(signum: int, frame: Any) -> None:
            self._abort_running()
            raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_sigint)
        try:
            return anyio.run(self.build_async, req)
        finally:
            signal.signal(signal.SIGINT, previous)

    async def build_async(self, req: BuildRequest) -> BuildResult:
        import anyio

        from runtime.build.stale import cleanup_workspaces

        cleanup_workspaces(self.paths.builds / "tmp")  # left by killed builds
        text, filename, dockerfile_path = self._read_dockerfile(req)
        df = parse_dockerfile(text, filename)
        context = BuildContext(req.context, load_matcher(req.context.resolve(), dockerfile_path),
                               HashCache(self.paths.builds / "context-hashes.json"))
        meta = self._meta_args(df, req)
        target = self._target(df, req.target)
        needed = self._needed(df, target, meta)
        runs: dict[int, _StageRun] = {}
        for st in df.stages:
            if st.index in needed:
                runs[st.index] = _StageRun(st, StepState({}, ()), "", {},
                                           len(st.instructions) + 1, anyio.Event())
        with self.store.lease():
            try:
                async with anyio.create_task_group() as tg:
                    for idx in sorted(runs):
                        tg.start_soon(self._run_stage, df, runs, idx, context, meta, req)
            except BaseExceptionGroup as group:
                raise (self._first_error or _root_cause(group)) from None
            final_state, _ = runs[target.index].result  # type: ignore[misc]
            config = dict(final_state.config)
            if req.labels:
                cfg = dict(config.get("config") or {})
                labels = dict(cfg.get("Labels") or {})
                labels.update(req.labels)
                cfg["Labels"] = labels
                config["config"] = cfg
            from runtime.images.reference import parse as parse_ref

            tags = [parse_ref(t) for t in req.tags]
            image = await anyio.to_thread.run_sync(
                lambda: self.store.create_image(config, list(final_state.layers), tags))
        context.hashes.save()
        unused = sorted(set(req.build_args) - self._declared_args - set(PROXY_ARGS))
        if unused:
            self.emit(BuildEvent("info", 0, text="[Warning] One or more build-args "
                                 f"[{' '.join(unused)}] were not consumed"))
        return BuildResult(image, self.total_steps, self.cached_steps, self.layers_created)

    # -- setup ------------------------------------------------------------------------
    def _read_dockerfile(self, req: BuildRequest) -> tuple[str, str, Path | None]:
        if req.dockerfile_text is not None:
            return req.dockerfile_text, "Dockerfile", None
        path = req.dockerfile or (req.context / "Dockerfile")
        if not path.is_absolute() and not path.exists():
            path = req.context / path
        try:
            return path.read_text(), path.name, path.resolve()
        except FileNotFoundError:
            raise InvalidInputError(f"cannot read Dockerfile {str(path)!r}: no such file",
                                    hint="Pass -f PATH or put a Dockerfile in the context."
                                    ) from None
        except OSError as e:
            raise InvalidInputError(f"cannot read Dockerfile {str(path)!r}: {e.strerror}"
                                    ) from None

    def _meta_args(self, df: ins.Dockerfile, req: BuildRequest) -> dict[str, str | None]:
        meta: dict[str, str | None] = dict(_platform_args())
        for arg in df.meta_args:
            lookup = _lookup_chain(meta)
            expanded = expand_instruction(arg, lookup, df.escape, df.filename)
            for name, default in expanded.pairs:  # type: ignore[attr-defined]
                meta[name] = req.build_args.get(name, default)
                self._declared_args.add(name)
        return meta

    def _target(self, df: ins.Dockerfile, target: str | None) -> ins.Stage:
        if not target:
            return df.stages[-1]
        st = df.stage(target)
        if st is None:
            names = ", ".join(s.name for s in df.stages if s.name) or "none"
            raise InvalidInputError(f"target stage {target!r} could not be found",
                                    hint=f"Stages in {df.filename}: {names}.")
        return st

    def _needed(self, df: ins.Dockerfile, target: ins.Stage,
                meta: dict[str, str | None]) -> set[int]:
        lookup = _lookup_chain(meta)
        needed: set[int] = set()
        todo = [target]
        while todo:
            st = todo.pop()
            if st.index in needed:
                continue
            needed.add(st.index)
            refs = [expand_instruction(st.from_, lookup, df.escape).image]  # type: ignore[attr-defined]
            for inst in st.instructions:
                if isinstance(inst, ins.Copy) and inst.from_:
                    refs.append(expand_instruction(inst, lookup, df.escape).from_ or "")  # type: ignore[attr-defined]
                elif isinstance(inst, ins.Run) and inst.mounts:
                    from runtime.build.runmounts import parse_mount

                    for text in inst.mounts:
                        with contextlib.suppress(PycomposeError):  # reported by the step
                            refs.append(parse_mount(text).from_ or "")
            for ref in refs:
                dep = self._stage_ref(df, ref, before=st.index)
                if dep is not None:
                    todo.append(dep)
        return needed

    @staticmethod
    def _stage_ref(df: ins.Dockerfile, ref: str, before: int) -> ins.Stage | None:
        for st in df.stages[:before]:
            if st.name is not None and st.name == ref.lower():
                return st
        if ref.isdigit() and int(ref) < before:
            return df.stages[int(ref)]
        return None

    # -- stages -----------------------------------------------------------------------
    async def _run_stage(self, df: ins.Dockerfile, runs: dict[int, _StageRun], idx: int,
                         context: BuildContext, meta: dict[str, str | None],
                         req: BuildRequest) -> None:
        run = runs[idx]
        try:
            await self._stage_body(df, runs, run, context, meta, req)
        except BaseException as e:
            run.error = e
            if self._first_error is None and isinstance(e, Exception) and \
                    not isinstance(e, _DependencyFailed):
                if isinstance(e, PycomposeError):
                    self._first_error = e
                self._abort_running()  # other stages' RUNs cannot be cancelled: stop them
            raise
        finally:
            run.done.set()

    def _abort_running(self) -> None:
        """Kill the RUN containers of the other stages once one stage failed (their
        worker threads then see the exit and the build ends promptly)."""
        from runtime.api import Runtime

        rt = Runtime(self.paths)
        for cid in list(self._running):
            with contextlib.suppress(PycomposeError, OSError):
                rt.containers.kill(cid, "SIGKILL")

    def _title(self, run: _StageRun, pos: int, text: str) -> str:
        name = run.stage.name or f"stage-{run.stage.index}"
        return f"[{name} {pos}/{run.total}] {text}"

    async def _wait_stage(self, runs: dict[int, _StageRun], index: int) -> StepState:
        dep = runs[index]
        await dep.done.wait()
        if dep.result is None:
            raise _DependencyFailed(f"stage {dep.stage.name or index} failed")
        return dep.result[0]

    async def _stage_body(self, df: ins.Dockerfile, runs: dict[int, _StageRun],
                          run: _StageRun, context: BuildContext,
                          meta: dict[str, str | None], req: BuildRequest) -> None:
        import anyio

        st = run.stage
        from_ = expand_instruction(st.from_, _lookup_chain(meta), df.escape, df.filename)
        assert isinstance(from_, ins.From)
        step = self._next_step()
        title = self._title(run, 1, f"FROM {from_.image}" + (f" AS {st.name}" if st.name
                                                                else ""))
        t0 = time.monotonic()
        self.emit(BuildEvent("start", step, title))
        dep = self._stage_ref(df, from_.image, before=st.index)
        if dep is not None:
            state = await self._wait_stage(runs, dep.index)
            run.key = runs[dep.index].result[1]  # type: ignore[index]
        elif from_.image == "scratch":
            state = StepState(_scratch_config(), ())
            run.key = "scratch"
        else:
            image = await anyio.to_thread.run_sync(self._base_image, from_.image, req.pull,
                                                   from_.platform)
            state = _state_of_image(image)
            run.key = "image:" + image.id
        run.state = state
        self.emit(BuildEvent("done", step, title, elapsed=time.monotonic() - t0))
        # ONBUILD triggers of the base image run first, as Docker does
        body: list[ins.Instruction] = []
        for trigger in (state.config.get("config") or {}).get("OnBuild") or []:
            parsed = parse_dockerfile(f"FROM scratch\n{trigger}\n", f"{df.filename} (ONBUILD)")
            body.extend(parsed.stages[0].instructions)
        if body:
            cfg = dict(state.config)
            cfg["config"] = {k: v for k, v in (cfg.get("config") or {}).items()
                             if k != "OnBuild"}
            run.state = StepState(cfg, state.layers)
        body.extend(st.instructions)
        run.total = len(body) + 1
        for pos, inst in enumerate(body, start=2):
            await self._step(df, runs, run, pos, inst, context, meta, req)
        run.result = (run.state, run.key)

    @property
    def puller(self) -> Callable[[str], Image] | None:
        if self._puller is None:
            self._puller = _default_puller(self.paths)  # imported only when needed
        return self._puller

    def _next_step(self) -> int:
        self._step_no += 1
        return self._step_no

    def _base_image(self, ref: str, pull: bool, platform: str | None) -> Image:
        if platform:
            from runtime.images.platform import Platform, host_platform

            want = Platform.parse(platform)
            host = host_platform()
            if (want.os, want.architecture) != (host.os, host.architecture):
                raise BuildError(f"FROM --platform={platform}: this machine builds only "
                                 f"{host.os}/{host.architecture} images",
                                 hint="Drop --platform or use the host's platform.")
        if pull and self.puller is not None:
            return self.puller(ref)
        try:
            return self.store.resolve(ref)
        except NotFoundError:
            if self.puller is not None:
                return self.puller(ref)
            raise NotFoundError(f"base image {ref!r} is not in the local store",
                                hint=f"Pull it (pycompose image pull {ref}) or make one "
                                     "offline: pycompose image bootstrap "
                                     "debian:bookworm-slim") from None

    # -- steps ------------------------------------------------------------------------
    def _lookup(self, run: _StageRun) -> Callable[[str], str | None]:
        env = _env_dict((run.state.config.get("config") or {}).get("Env") or [])

        def lookup(name: str) -> str | None:
            if name in env:
                return env[name]
            return run.args.get(name)

        return lookup

    async def _step(self, df: ins.Dockerfile, runs: dict[int, _StageRun], run: _StageRun,
                    pos: int, inst: ins.Instruction, context: BuildContext,
                    meta: dict[str, str | None], req: BuildRequest) -> None:
        import anyio

        if isinstance(inst, ins.Onbuild):
            expanded: ins.Instruction = inst
        else:
            expanded = expand_instruction(inst, self._lookup(run), df.escape, df.filename)
        if isinstance(expanded, ins.Arg):
            for name, default in expanded.pairs:
                self._declared_args.add(name)
                if name in req.build_args:
                    run.args[name] = req.build_args[name]
                elif default is not None:
                    run.args[name] = default
                elif name in meta and meta[name] is not None:
                    run.args[name] = meta[name]  # type: ignore[assignment]
                else:
                    run.args.pop(name, None)
            return  # ARG changes nothing until used; RUN keys include the values
        cfg = run.state.config.get("config") or {}
        shell = list(cfg.get("Shell") or DEFAULT_SHELL)
        fs_step = isinstance(expanded, ins.Run | ins.Copy | ins.Add | ins.Workdir)
        extra = ""
        env: list[str] = []
        src_state: StepState | None = None
        mount_sources: dict[str, StepState] = {}
        if isinstance(expanded, ins.Run):
            env = self._run_env(run)
            extra = expanded.network or req.network
            from runtime.build.runmounts import parse_mount

            for text in expanded.mounts:
                try:
                    m = parse_mount(text)
                except PycomposeError as e:
                    raise _step_error(df, inst, e) from None
                if m.type == "bind" and m.from_ and m.from_ not in mount_sources:
                    mount_sources[m.from_], src_key = await self._copy_source(df, runs, run,
                                                                              m.from_)
                    extra += "\0from:" + src_key
                elif m.type == "bind" and not m.from_:
                    # a context bind mount: its content decides what RUN does
                    extra += "\0" + await anyio.to_thread.run_sync(
                        sources_digest, context, [m.source or "."])
        elif isinstance(expanded, ins.Copy) and expanded.from_:
            try:
                src_state, src_key = await self._copy_source(df, runs, run, expanded.from_)
            except _DependencyFailed:
                raise
            except PycomposeError as e:
                raise _step_error(df, inst, e) from None
            extra = "from:" + src_key
        elif isinstance(expanded, ins.Copy | ins.Add):
            try:
                extra = await anyio.to_thread.run_sync(self._content_key, context, expanded,
                                                       run, req)
            except PycomposeError as e:
                raise _step_error(df, inst, e) from None
        key = step_key(run.key, expanded, env=env, user=cfg.get("User", ""),
                       workdir=cfg.get("WorkingDir", ""), shell=shell, extra=extra)
        title = self._title(run, pos, _display(inst))
        step = self._next_step() if fs_step else 0
        if fs_step:
            self.total_steps += 1
        if isinstance(expanded, ins.Cmd):
            run.cmd_set = True
        cached = None if req.no_cache else self.cache.get(key)
        if cached is not None:
            run.state, run.key = cached, key
            if fs_step:
                self.cached_steps += 1
                self.emit(BuildEvent("cached", step, title))
            return
        t0 = time.monotonic()
        if fs_step:
            self.emit(BuildEvent("start", step, title))
        try:
            if fs_step:
                new_state = await anyio.to_thread.run_sync(
                    self._fs_step, run, expanded, inst, context, req, env, shell, src_state,
                    step, mount_sources)
            else:
                new_state = self._meta_step(run.state, expanded, shell, run.cmd_set)
        except OSError as e:  # unexpected: still name the step, no traceback
            err = BuildError(f"{e.strerror or e}" + (f": {e.filename}" if e.filename else ""))
            if fs_step:
                self.emit(BuildEvent("error", step, title, text=err.message,
                                     elapsed=time.monotonic() - t0))
            raise _step_error(df, inst, err) from None
        except PycomposeError as e:
            if fs_step:
                self.emit(BuildEvent("error", step, title, text=e.message,
                                     elapsed=time.monotonic() - t0))
            raise _step_error(df, inst, e) from None
        self.cache.put(key, new_state)
        run.state, run.key = new_state, key
        if fs_step:
            self.emit(BuildEvent("done", step, title, elapsed=time.monotonic() - t0))

    def _run_env(self, run: _StageRun) -> list[str]:
        env = list((run.state.config.get("config") or {}).get("Env") or [])
        names = {e.partition("=")[0] for e in env}
        for k, v in sorted(run.args.items()):
            if k not in names:
                env.append(f"{k}={v}")
        return env

    def _content_key(self, context: BuildContext, inst: ins.Copy | ins.Add,
                     run: _StageRun, req: BuildRequest) -> str:
        context = _with_excludes(context, inst.exclude)
        local = [s for s in inst.sources if not s.startswith("<<") and not _is_url(s)]
        parts = [sources_digest(context, local, chmod=inst.chmod, chown=inst.chown)]
        for s in inst.sources:
            if s.startswith("<<"):
                doc = next(h for h in inst.heredocs if h.name == s[2:])
                parts.append(expand_heredoc(doc, self._lookup(run)))
            elif _is_url(s) and isinstance(inst, ins.Add):
                # like Docker: fetched on every build, the step keyed by what came back
                import hashlib

                data, _ = self._fetch_url(s, req, inst.checksum)
                parts.append(f"url:{s}:{hashlib.sha256(data).hexdigest()}")
        return "\0".join(parts)

    async def _copy_source(self, df: ins.Dockerfile, runs: dict[int, _StageRun],
                           run: _StageRun, ref: str) -> tuple[StepState, str]:
        import anyio

        dep = self._stage_ref(df, ref, before=run.stage.index)
        if dep is not None:
            state = await self._wait_stage(runs, dep.index)
            return state, runs[dep.index].result[1]  # type: ignore[index]
        image = await anyio.to_thread.run_sync(self._base_image, ref, False, None)
        return _state_of_image(image), "image:" + image.id

    # -- metadata instructions -----------------------------------------------------------
    def _meta_step(self, state: StepState, inst: ins.Instruction, shell: list[str],
                   cmd_set: bool) -> StepState:
        config = dict(state.config)
        cfg = dict(config.get("config") or {})
        if isinstance(inst, ins.Env):
            env = list(cfg.get("Env") or [])
            for k, v in inst.pairs:
                env = _set_env(env, k, v)
            cfg["Env"] = env
        elif isinstance(inst, ins.Label):
            labels = dict(cfg.get("Labels") or {})
            labels.update(dict(inst.pairs))
            cfg["Labels"] = labels
        elif isinstance(inst, ins.User):
            cfg["User"] = inst.user
        elif isinstance(inst, ins.Expose):
            ports = dict(cfg.get("ExposedPorts") or {})
            for p in inst.ports:
                for key in _port_keys(p):
                    ports[key] = {}
            cfg["ExposedPorts"] = ports
        elif isinstance(inst, ins.Volume):
            vols = dict(cfg.get("Volumes") or {})
            for p in inst.paths:
                vols[p] = {}
            cfg["Volumes"] = vols
        elif isinstance(inst, ins.Cmd):
            cfg["Cmd"] = [*shell, inst.command[0]] if inst.shell_form and inst.command \
                else list(inst.command)
        elif isinstance(inst, ins.Entrypoint):
            cfg["Entrypoint"] = [*shell, inst.command[0]] if inst.shell_form and inst.command \
                else list(inst.command)
            if not cmd_set:
                cfg["Cmd"] = None  # ENTRYPOINT resets a CMD not set in this stage (BuildKit)
        elif isinstance(inst, ins.Shell):
            cfg["Shell"] = list(inst.shell)
        elif isinstance(inst, ins.StopSignal):
            cfg["StopSignal"] = inst.signal
        elif isinstance(inst, ins.Healthcheck):
            hc: dict[str, Any] = {"Test": list(inst.test)}
            for attr, name in (("interval", "Interval"), ("timeout", "Timeout"),
                               ("start_period", "StartPeriod"),
                               ("start_interval", "StartInterval"), ("retries", "Retries")):
                if getattr(inst, attr) is not None:
                    hc[name] = getattr(inst, attr)
            cfg["Healthcheck"] = hc
        elif isinstance(inst, ins.Onbuild):
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), inst.expression]
        elif isinstance(inst, ins.Maintainer):
            config["author"] = inst.name
        config["config"] = {k: v for k, v in cfg.items() if v is not None}
        return _with_history(StepState(config, state.layers), _created_by(inst, shell),
                             empty=True)

    # -- filesystem instructions -------------------------------------------------------
    def _layer_dirs(self, state: StepState) -> list[Path]:
        return [self.store.layer_dir(c) for c in reversed(chain_ids(state.diff_ids))]

    def _fs_step(self, run: _StageRun, inst: ins.Instruction, raw: ins.Instruction,
                 context: BuildContext, req: BuildRequest, env: list[str],
                 shell: list[str], src_state: StepState | None, step: int,
                 mount_sources: dict[str, StepState] | None = None) -> StepState:
        state = run.state
        cfg = state.config.get("config") or {}
        if isinstance(inst, ins.Run):
            names = {e.partition("=")[0] for e in cfg.get("Env") or []}
            used_args = [f"{k}={v}" for k, v in sorted(run.args.items()) if k not in names]
            return self._run_step(state, inst, req, env, shell, step, context,
                                  mount_sources or {}, used_args)
        tmp = self.paths.builds / "tmp"
        with workspace(tmp, self._layer_dirs(state)) as ws:
            config = dict(state.config)
            if isinstance(inst, ins.Workdir):
                path = clean_abs(inst.path, cfg.get("WorkingDir") or "/")
                uid = gid = 0
                if cfg.get("User"):
                    with contextlib.suppress(InvalidInputError):
                        uid, gid = lookup_user(ws.root, cfg["User"])
                makedirs(ws.root, path, uid, gid)
                c = dict(cfg)
                c["WorkingDir"] = path
                config["config"] = c
            else:
                assert isinstance(inst, ins.Copy | ins.Add)
                self._copy_step(ws.root, inst, cfg, context, src_state, req)
            created_by = _created_by(raw if isinstance(raw, ins.Workdir) else inst, shell)
            return self._commit_upper(StepState(config, state.layers), ws.upper, created_by)

    def _commit_upper(self, state: StepState, upper: Path, created_by: str,
                      comment: str = "buildkit.dockerfile.v0",
                      mountpoints: tuple[str, ...] = (), **hist: str) -> StepState:
        """The upper dir as a new layer on top of ``state`` (no layer when empty).
        ``mountpoints``: extra paths the runtime created only to mount something."""
        tmp = self.paths.builds / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=tmp) as f:
            count = write_layer_tar(upper, f, (*RUNTIME_MOUNTPOINTS, *mountpoints))
            if count == 0:
                return _with_history(state, created_by, empty=True, comment=comment, **hist)
            f.seek(0)
            parent = chain_ids(state.diff_ids)[-1] if state.layers else None
            layer = self.store.add_layer(f, parent)
        self.layers_created += 1
        return _with_history(StepState(state.config, (*state.layers, layer)), created_by,
                             empty=False, comment=comment, **hist)

    def _run_step(self, state: StepState, inst: ins.Run, req: BuildRequest, env: list[str],
                  shell: list[str], step: int, context: BuildContext,
                  mount_sources: dict[str, StepState], args: list[str]) -> StepState:
        from runtime.build.runstep import RunStepFailed, plan_run, run_in_container

        cfg = state.config.get("config") or {}
        network = inst.network or req.network
        if inst.network and inst.network not in ("default", "host", "none"):
            raise InvalidInputError(f"RUN --network={network}: expected default, host or none")
        if network not in ("host", "none"):
            network = "default"  # a named network (compose build.network): the default
        layers = self._layer_dirs(state)
        if not layers:
            raise BuildError("RUN needs a base image with a shell (the stage is FROM scratch "
                             "with no files)", hint="COPY a static binary first, or use "
                             "another base image.")
        workdir = cfg.get("WorkingDir") or "/"
        plan = plan_run(inst, shell)
        created_by = _created_by(inst, shell, args)
        # Docker's predefined proxy ARGs reach RUN without an ARG line, but never the
        # cache key or the history
        names = {e.partition("=")[0] for e in env}
        env = env + [f"{k}={v}" for k, v in sorted(req.build_args.items())
                     if k in PROXY_ARGS and k not in names]

        def output(text: str) -> None:
            self.emit(BuildEvent("output", step, text=text))

        with contextlib.ExitStack() as stack:
            mounts = self._run_mounts(stack, inst, req, context, mount_sources)
            points: set[str] = set()
            for m in mounts:
                parts = m.target.strip("/").split("/")
                points.update("/".join(parts[: i + 1]) for i in range(len(parts)))

            def collect(upper: Path) -> StepState:
                return self._commit_upper(state, upper, created_by,
                                          mountpoints=tuple(sorted(points)))

            try:
                new_state, _ = run_in_container(
                    self.paths, layers=layers, plan=plan, env=env, cwd=workdir,
                    user=cfg.get("User", ""), network=network, extra_hosts=req.extra_hosts,
                    shm_size=req.shm_size, collect=collect, on_output=output,
                    mounts=tuple(mounts), running=self._running)
            except RunStepFailed as e:
                raise BuildError(e.message + ("\n" + e.output.rstrip() if e.output else ""),
                                 hint=e.hint) from None
        return new_state  # type: ignore[return-value]

    def _run_mounts(self, stack: contextlib.ExitStack, inst: ins.Run, req: BuildRequest,
                    context: BuildContext, sources: dict[str, StepState]) -> list[Any]:
        """runtime Mounts for ``RUN --mount`` (see runtime/build/runmounts.py)."""
        from runtime.build.rootfs import resolve
        from runtime.build.runmounts import cache_dir_name, parse_mount
        from runtime.spec import Mount

        out: list[Any] = []
        for text in inst.mounts:
            m = parse_mount(text)
            if m.type == "tmpfs":
                out.append(Mount(type="tmpfs", target=m.target, tmpfs_size=m.size))
            elif m.type == "cache":
                d = self.paths.builds / "cache-mounts" / cache_dir_name(m)
                d.parent.mkdir(parents=True, exist_ok=True)
                try:
                    d.mkdir(mode=0o755)
                    os.chown(d, m.uid, m.gid)
                    os.chmod(d, m.mode if m.mode is not None else 0o755)
                except FileExistsError:
                    pass  # made by an earlier build or a concurrent stage
                out.append(Mount(type="bind", target=m.target, source=str(d)))
            elif m.type == "secret":
                src = req.secrets.get(m.id)
                if src is None or not Path(src).is_file():
                    if m.required:
                        raise InvalidInputError(f"secret {m.id!r} is required but was not "
                                                "given", hint="Pass it with the build's "
                                                "secrets (compose build.secrets).")
                    continue
                out.append(Mount(type="bind", target=m.target, source=str(src),
                                 read_only=True))
            else:  # bind
                if m.from_:
                    ws = stack.enter_context(workspace(self.paths.builds / "tmp",
                                                       self._layer_dirs(sources[m.from_])))
                    root = ws.root
                else:
                    root = context.root
                src = resolve(root, m.source or "/")
                if not src.exists():
                    raise InvalidInputError(f"RUN --mount: source {m.source!r} not found")
                if not m.readonly and not m.from_:
                    # rw on the context: writes go to a throw-away overlay, never the context
                    ws = stack.enter_context(workspace(self.paths.builds / "tmp", [src]))
                    src = ws.root
                out.append(Mount(type="bind", target=m.target, source=str(src),
                                 read_only=m.readonly))
        return out

    def _copy_step(self, root: Path, inst: ins.Copy | ins.Add, cfg: dict[str, Any],
                   context: BuildContext, src_state: StepState | None,
                   req: BuildRequest) -> None:
        what = inst.keyword
        if isinstance(inst, ins.Copy) and inst.parents:
            raise InvalidInputError("COPY --parents is not supported",
                                    hint="Copy each directory to its destination.")
        context = _with_excludes(context, inst.exclude)
        workdir = cfg.get("WorkingDir") or "/"
        uid = gid = None
        if inst.chown:
            uid, gid = lookup_user(root, inst.chown)
        mode = parse_chmod(inst.chmod)
        opts = CopyOptions(uid, gid, mode, keep_owner=src_state is not None)
        heredocs = [s for s in inst.sources if s.startswith("<<")]
        urls = [s for s in inst.sources if _is_url(s)]
        local = [s for s in inst.sources if s not in heredocs and s not in urls]
        if isinstance(inst, ins.Copy) and urls:
            raise InvalidInputError("COPY does not download URLs", hint="Use ADD for URLs.")
        dest_is_dir = inst.dest.endswith("/") or len(inst.sources) > 1
        for h in heredocs:
            doc = next(d for d in inst.heredocs if d.name == h[2:])
            content = expand_heredoc(doc, self._lookup_cfg(cfg))
            dest = posixpath.join(inst.dest, doc.name) if dest_is_dir else inst.dest
            dest_abs = clean_abs(dest, workdir)
            parent, _ = makedirs(root, posixpath.dirname(dest_abs))
            target = parent / posixpath.basename(dest_abs)
            if target.is_symlink() or target.exists():
                target.unlink()
            target.write_text(content)
            os.chmod(target, mode if mode is not None else 0o644)
            os.lchown(target, uid or 0, gid or 0)
        for url in urls:
            self._add_url(root, inst, url, workdir, opts, req, dest_is_dir)
        if not local:
            return
        if src_state is not None:
            with workspace(self.paths.builds / "tmp", self._layer_dirs(src_state)) as src_ws:
                src_ctx = _with_excludes(BuildContext(src_ws.root), inst.exclude)
                copy_sources(src_ctx, local, inst.dest, workdir, root, opts,
                             what=what, where="source stage/image")
            return
        if isinstance(inst, ins.Add):
            archives = [s for s in local if _is_archive(context, s)]
            plain = [s for s in local if s not in archives]
            for s in archives:
                self._add_archive(root, context, s, inst.dest, workdir, opts)
            if plain:
                copy_sources(context, plain, inst.dest, workdir, root, opts, what=what)
            return
        copy_sources(context, local, inst.dest, workdir, root, opts, what=what)

    def _lookup_cfg(self, cfg: dict[str, Any]) -> Callable[[str], str | None]:
        env = _env_dict(cfg.get("Env") or [])
        return env.get

    def _add_archive(self, root: Path, context: BuildContext, source: str, dest: str,
                     workdir: str, opts: CopyOptions) -> None:
        """ADD of a local tar (plain/gzip/bzip2/xz): extracted safely into ``dest``."""
        import bz2
        import lzma

        from runtime.images.extract import extract_layer

        tmp = self.paths.builds / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        for rel in context.match(source):
            path = context.path(rel)
            with open(path, "rb") as f:
                head = f.read(6)
            with tempfile.TemporaryDirectory(dir=tmp) as d:
                with contextlib.ExitStack() as stack:
                    src: Any = stack.enter_context(open(path, "rb"))
                    if head.startswith(b"BZh"):
                        src = stack.enter_context(bz2.BZ2File(src))
                    elif head.startswith(b"\xfd7zXZ\x00"):
                        src = stack.enter_context(lzma.LZMAFile(src))
                    extract_layer(src, Path(d) / "x", threaded=False)
                unpacked = BuildContext(Path(d) / "x" / "diff")
                keep = CopyOptions(opts.uid, opts.gid, opts.chmod, keep_owner=True)
                copy_sources(unpacked, ["."], dest.rstrip("/") + "/", workdir, root, keep,
                             what="ADD", where="archive")

    def _fetch_url(self, url: str, req: BuildRequest,
                   checksum: str | None) -> tuple[bytes, str | None]:
        """Download ``url`` once per build (memoised), verifying ``--checksum``."""
        import hashlib
        import urllib.request

        if url in self._downloads:
            return self._downloads[url]
        if req.network == "none":
            raise InvalidInputError(f"ADD {url}: the build has no network (--network=none)")
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:
                data = resp.read()
                modified = resp.headers.get("Last-Modified")
        except OSError as e:
            raise BuildError(f"ADD {url}: download failed: {e}") from None
        if checksum:
            algo, _, want = checksum.partition(":")
            if algo != "sha256":
                raise InvalidInputError(f"ADD --checksum={checksum}: only sha256 is supported")
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                raise BuildError(f"ADD {url}: checksum mismatch: expected {want}, got {got}")
        self._downloads[url] = (data, modified)
        return data, modified

    def _add_url(self, root: Path, inst: ins.Copy | ins.Add, url: str, workdir: str,
                 opts: CopyOptions, req: BuildRequest, dest_is_dir: bool) -> None:
        import urllib.parse

        data, modified = self._fetch_url(url, req, getattr(inst, "checksum", None))
        name = posixpath.basename(urllib.parse.urlparse(url).path) or "index.html"
        dest_abs = clean_abs(posixpath.join(inst.dest, name) if dest_is_dir else inst.dest,
                             workdir)
        parent, _ = makedirs(root, posixpath.dirname(dest_abs))
        target = parent / posixpath.basename(dest_abs)
        if target.exists() or target.is_symlink():
            target.unlink()
        target.write_bytes(data)
        os.chmod(target, opts.chmod if opts.chmod is not None else 0o600)
        os.lchown(target, opts.uid or 0, opts.gid or 0)
        if modified:
            from email.utils import parsedate_to_datetime

            with contextlib.suppress(TypeError, ValueError):
                ts = parsedate_to_datetime(modified).timestamp()
                os.utime(target, (ts, ts))


# -- helpers --------------------------------------------------------------------------------

def _platform_args() -> dict[str, str]:
    """BuildKit's automatic platform ARGs (global scope; a stage gets them with a bare
    ``ARG TARGETARCH``).  Builds are always for the host platform."""
    from runtime.images.platform import host_platform

    p = host_platform()
    plat = f"{p.os}/{p.architecture}" + (f"/{p.variant}" if p.variant else "")
    out = {}
    for prefix in ("TARGET", "BUILD"):
        out.update({f"{prefix}PLATFORM": plat, f"{prefix}OS": p.os,
                    f"{prefix}ARCH": p.architecture, f"{prefix}VARIANT": p.variant or ""})
    return out


def _default_puller(paths: StatePaths) -> Callable[[str], Image] | None:
    """Registry pulls through the images layer (``runtime.images.pull.pull``)."""
    try:
        from runtime.images.pull import pull
    except ImportError:
        return None
    return lambda ref: pull(paths, ref)


def _lookup_chain(meta: Mapping[str, str | None]) -> Callable[[str], str | None]:
    return lambda name: meta.get(name)


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _is_archive(context: BuildContext, source: str) -> bool:
    import tarfile

    for rel in context.match(source):
        path = context.path(rel)
        if not path.is_file() or path.is_symlink():
            return False
        with open(path, "rb") as f:
            head = f.read(6)
        if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
            return True
        try:
            return tarfile.is_tarfile(path)
        except OSError:
            return False
    return False


def _port_keys(port: str) -> list[str]:
    """``80`` -> ["80/tcp"]; ``8000-8002/udp`` -> three entries (as Docker expands)."""
    number, _, proto = port.partition("/")
    proto = proto or "tcp"
    low, dash, high = number.partition("-")
    if dash and low.isdigit() and high.isdigit() and int(low) <= int(high) <= 65535:
        return [f"{p}/{proto}" for p in range(int(low), int(high) + 1)]
    if not number.isdigit() or not 0 < int(number) <= 65535 or proto not in ("tcp", "udp",
                                                                             "sctp"):
        raise InvalidInputError(f"invalid EXPOSE port {port!r}",
                                hint="Write PORT[/tcp|udp|sctp] or a range like 8000-8010.")
    return [f"{int(number)}/{proto}"]


def _with_excludes(ctx: BuildContext, exclude: tuple[str, ...]) -> BuildContext:
    """The context seen through ``COPY --exclude`` patterns (added after .dockerignore)."""
    if not exclude:
        return ctx
    from runtime.build.dockerignore import Matcher

    texts = [("!" if p.exclusion else "") + p.text for p in ctx.matcher.patterns]
    return BuildContext(ctx.root, Matcher([*texts, *exclude]), ctx.hashes)


def _display(inst: ins.Instruction) -> str:
    text = inst.source
    first, _, rest = text.partition(" ")
    text = first.upper() + (" " + rest if rest else "")
    return text if len(text) <= 200 else text[:197] + "..."


def _created_by(inst: ins.Instruction, shell: list[str], args: list[str] = ()) -> str:
    """History text as BuildKit writes it (``RUN |2 A=1 B=2 /bin/sh -c ...`` when build
    ARGs were in scope)."""
    if isinstance(inst, ins.Run):
        prefix = f"RUN |{len(args)} {' '.join(args)} " if args else "RUN "
        if inst.shell_form:
            body = inst.command[0]
            if inst.heredocs:
                body += "\n" + "".join(f"{d.content}{d.name}\n" for d in inst.heredocs)
            return f"{prefix}{' '.join(shell)} {body} # buildkit"
        return f"{prefix}{_json_list(inst.command)} # buildkit"
    if isinstance(inst, ins.Copy | ins.Add):
        return f"{inst.keyword} {' '.join(inst.sources)} {inst.dest} # buildkit"
    if isinstance(inst, ins.Cmd | ins.Entrypoint):
        cmd = [*shell, inst.command[0]] if inst.shell_form and inst.command \
            else list(inst.command)
        return f"{inst.keyword} {_json_list(cmd)}"
    if isinstance(inst, ins.Env | ins.Label):
        return f"{inst.keyword} " + " ".join(f"{k}={v}" for k, v in inst.pairs)
    if isinstance(inst, ins.Workdir):
        return f"WORKDIR {inst.path}"
    return _display(inst)


def _json_list(items: Any) -> str:
    import json

    return json.dumps(list(items))


def _with_history(state: StepState, created_by: str, *, empty: bool,
                  comment: str = "buildkit.dockerfile.v0", **extra: str) -> StepState:
    config = dict(state.config)
    now = _now_iso()
    entry: dict[str, Any] = {"created": now, "created_by": created_by, "comment": comment}
    entry.update({k: v for k, v in extra.items() if v})
    if empty:
        entry["empty_layer"] = True
    config["history"] = [*(config.get("history") or []), entry]
    config["created"] = now
    config["rootfs"] = {"type": "layers", "diff_ids": [lay.diff_id for lay in state.layers]}
    return StepState(config, state.layers)


def _scratch_config() -> dict[str, Any]:
    from runtime.images.platform import host_platform

    plat = host_platform()
    cfg: dict[str, Any] = {"architecture": plat.architecture, "os": plat.os,
                           "config": {"Env": [DEFAULT_PATH]},
                           "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
    if plat.variant:
        cfg["variant"] = plat.variant
    return cfg


def _state_of_image(image: Image) -> StepState:
    config = {k: v for k, v in image.raw_config.items()
              if k not in ("container", "container_config", "docker_version")}
    layers = []
    for desc, diff_id in zip(image.manifest.get("layers") or [], image.diff_ids, strict=False):
        layers.append(LayerInfo(desc["digest"], desc["mediaType"], int(desc["size"]),
                                diff_id))
    cfg = dict(config.get("config") or {})
    if not cfg.get("Env"):
        cfg["Env"] = [DEFAULT_PATH]
    config["config"] = cfg
    return StepState(config, tuple(layers))


def _root_cause(group: BaseExceptionGroup) -> BaseException:
    """The error to show from a failed stage group: the first real step error, not the
    "stage X failed" errors of the stages that waited for it."""
    leaves: list[BaseException] = []

    def walk(g: BaseExceptionGroup) -> None:
        for e in g.exceptions:
            if isinstance(e, BaseExceptionGroup):
                walk(e)
            else:
                leaves.append(e)

    walk(group)
    for e in leaves:
        if isinstance(e, PycomposeError) and not isinstance(e, _DependencyFailed):
            return e
    return leaves[0] if leaves else group


def _step_error(df: ins.Dockerfile, inst: ins.Instruction, err: PycomposeError
                ) -> PycomposeError:
    """Prefix the error with ``Dockerfile:LINE: INSTRUCTION`` (keeps its type/exit code)."""
    prefix = f"{df.filename}:{inst.line}"
    if not err.message.startswith(prefix):
        err.message = f"{prefix}: {_display(inst)}: {err.message}"
        err.args = (err.message,)
    return err
