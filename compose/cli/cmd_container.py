"""``pycompose container ...``: Docker's container verbs on the embedded runtime."""

from __future__ import annotations

import json
import os
import sys

import click

from compose.cli.lazy import LazyGroup


def _runtime(ctx: click.Context):
    from runtime.api import Runtime

    obj = ctx.find_root().obj
    paths = obj.state_paths() if obj is not None else None
    if paths is None:
        from runtime.paths import StatePaths

        paths = StatePaths.resolve()
    return Runtime(paths)


def _need_root() -> None:
    if os.geteuid() != 0:
        from runtime.errors import PermissionRequired

        raise PermissionRequired("running containers needs root (namespaces, mounts, "
                                 "cgroups); rootless mode is not available yet",
                                 hint="run pycompose with sudo")


@click.group("container", cls=LazyGroup)
def container() -> None:
    """Manage containers."""


container.add_lazy("commit", "compose.cli.cmd_build:commit",
                   "Create a new image from a container's changes.")
for _name, _attr, _help in (
        ("exec", "exec_", "Execute a command in a running container."),
        ("attach", "attach", "Attach local standard input, output, and error streams to "
         "a running container."),
        ("top", "top", "Display the running processes of a container."),
        ("stats", "stats", "Display a live stream of container(s) resource usage."),
        ("pause", "pause", "Pause all processes within one or more containers."),
        ("unpause", "unpause", "Unpause all processes within one or more containers."),
        ("cp", "cp", "Copy files/folders between a container and the local filesystem.")):
    container.add_lazy(_name, f"compose.cli.cmd_interact:{_attr}", _help)


# ---- run / create -----------------------------------------------------------------------
def _run_options(f):
    opts = [
        click.option("--name", help="Assign a name to the container."),
        click.option("-e", "--env", multiple=True, help="Set environment variables."),
        click.option("--env-file", multiple=True, help="Read in a file of environment "
                     "variables."),
        click.option("-w", "--workdir", help="Working directory inside the container."),
        click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])."),
        click.option("--group-add", multiple=True, help="Add additional groups to join."),
        click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open."),
        click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY."),
        click.option("-h", "--hostname", help="Container host name."),
        click.option("--domainname", help="Container NIS domain name."),
        click.option("--init", is_flag=True, help="Run an init inside the container that "
                     "forwards signals and reaps processes."),
        click.option("--read-only", is_flag=True, help="Mount the root filesystem read-only."),
        click.option("--cap-add", multiple=True, help="Add Linux capabilities."),
        click.option("--cap-drop", multiple=True, help="Drop Linux capabilities."),
        click.option("--privileged", is_flag=True, help="Give extended privileges."),
        click.option("--security-opt", multiple=True, help="Security options."),
        click.option("-m", "--memory", help="Memory limit."),
        click.option("--memory-reservation", help="Memory soft limit."),
        click.option("--memory-swap", help="Swap limit equal to memory plus swap: -1 for "
                     "unlimited."),
        click.option("--cpus", help="Number of CPUs."),
        click.option("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)."),
        click.option("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)."),
        click.option("--pids-limit", type=int, help="Tune container pids limit."),
        click.option("--ulimit", multiple=True, help="Ulimit options (nofile=1024:2048)."),
        click.option("--sysctl", multiple=True, help="Sysctl options (key=value)."),
        click.option("--network", "--net", "network", default="none", show_default=True,
                     help="Connect a container to a network: none, host, bridge, "
                     "container:NAME or a network's name."),
        click.option("--network-alias", multiple=True, help="Add a network-scoped alias."),
        click.option("--ip", help="IPv4 address on the network."),
        click.option("--ip6", help="IPv6 address on the network."),
        click.option("--mac-address", help="MAC address on the network."),
        click.option("-p", "--publish", multiple=True,
                     help="Publish a container's port(s) to the host "
                     "([ip:][hostPort:]containerPort[/proto])."),
        click.option("-P", "--publish-all", is_flag=True,
                     help="Publish all exposed ports to random host ports."),
        click.option("--expose", multiple=True, help="Expose a port or a range of ports."),
        click.option("--restart", default="no", show_default=True,
                     help="Restart policy: no, always, on-failure[:N], unless-stopped."),
        click.option("--stop-signal", help="Signal to stop the container."),
        click.option("--stop-timeout", type=int, help="Timeout (in seconds) to stop a "
                     "container."),
        click.option("-v", "--volume", multiple=True, help="Bind mount a volume "
                     "(host:container[:ro])."),
        click.option("--tmpfs", multiple=True, help="Mount a tmpfs directory "
                     "(/path[:options])."),
        click.option("-l", "--label", multiple=True, help="Set meta data on a container."),
        click.option("--add-host", multiple=True, help="Add a custom host-to-IP mapping "
                     "(host:ip)."),
        click.option("--dns", multiple=True, help="Set custom DNS servers."),
        click.option("--dns-search", multiple=True, help="Set custom DNS search domains."),
        click.option("--dns-option", multiple=True, help="Set DNS options."),
        click.option("--shm-size", help="Size of /dev/shm."),
        click.option("--log-opt", multiple=True, help="Log driver options (max-size, "
                     "max-file)."),
        click.option("--rm", is_flag=True, help="Automatically remove the container when "
                     "it exits."),
        click.option("--entrypoint", help="Overwrite the default ENTRYPOINT of the image."),
        click.argument("image"),
        click.argument("command", nargs=-1, type=click.UNPROCESSED),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _create(ctx: click.Context, kwargs: dict) -> tuple[object, str, object]:
    from compose.cli.container_spec import RunOptions, build_spec
    from runtime.container.image import resolve_rootfs
    from runtime.shim.trace import mark

    mark("cli.command")
    _need_root()
    rt = _runtime(ctx)
    opts = RunOptions(**kwargs)
    ref, image_id, layers, cfg = resolve_rootfs(opts.image, rt.paths)
    spec = build_spec(opts, ref, image_id, layers, cfg)
    if any(m.type == "volume" for m in spec.mounts) or (cfg or {}).get("Volumes"):
        import dataclasses

        from runtime.volumes.mounts import resolve_volume_mounts
        from runtime.volumes.store import VolumeStore

        mounts = resolve_volume_mounts(VolumeStore(rt.paths), spec.mounts,
                                       container=spec.name or "", image_config=cfg)
        spec = dataclasses.replace(spec, mounts=mounts)
    return rt, rt.containers.create(spec), spec


_CTX = {"ignore_unknown_options": False, "allow_interspersed_args": False}


@container.command("create", context_settings=_CTX)
@_run_options
@click.pass_context
def create(ctx: click.Context, **kwargs) -> None:
    """Create a new container."""
    _, cid, _ = _create(ctx, kwargs)
    click.echo(cid)


@container.command("run", context_settings=_CTX)
@click.option("-d", "--detach", is_flag=True, help="Run in the background, print the id.")
@_run_options
@click.pass_context
def run(ctx: click.Context, detach: bool, **kwargs) -> None:
    """Create and run a new container."""
    from runtime.container.prespawn import Prespawned

    _need_root()
    ours = theirs = None
    if not detach:
        from runtime.container import attach

        ours, theirs = attach.socketpair()
    # The shim's interpreter starts now, in parallel with create/bundle/cgroup below.
    pre = Prespawned(theirs.fileno() if theirs is not None else -1, kwargs["tty"],
                     kwargs["interactive"])
    if theirs is not None:
        theirs.close()
    try:
        rt, cid, spec = _create(ctx, kwargs)
    except BaseException:
        pre.cancel()
        raise
    if detach:
        rt.containers.start(cid, prespawned=pre)
        click.echo(cid)
        return
    code = _attached_start(rt, cid, spec.process.stdin_open, spec.process.tty,
                           wait_eof=spec.auto_remove, ours=ours, prespawned=pre)
    if spec.auto_remove and any(m.type == "volume" for m in spec.mounts):
        _remove_anonymous_after_rm(rt, cid, spec)
    raise click.exceptions.Exit(code)


def _remove_anonymous_after_rm(rt, cid: str, spec) -> None:
    """``run --rm`` removes the container's anonymous volumes too (as Docker)."""
    import time

    from runtime.volumes.hooks import remove_anonymous_volumes

    deadline = time.monotonic() + 10
    while rt.containers.store.dir(cid).exists() and time.monotonic() < deadline:
        time.sleep(0.05)                      # the shim removes the container
    remove_anonymous_volumes(rt.paths, spec)


def proxy_signals(rt, cid: str) -> None:
    """--sig-proxy (Docker's default without a tty): Ctrl-C and friends go to the
    container instead of stopping the CLI."""
    import signal

    def proxy(signum, _frame):
        try:
            rt.containers.kill(cid, signum)
        except Exception:
            pass

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, proxy)


def _attached_start(rt, cid: str, stdin: bool, tty: bool, wait_eof: bool, ours=None,
                    prespawned=None) -> int:

    from runtime.container import attach

    theirs = None
    if ours is None:
        ours, theirs = attach.socketpair()
    attach.hello(ours, stdin=stdin)
    size = attach.terminal_size(sys.stdin.fileno()) if tty else None
    try:
        if prespawned is not None:
            rt.containers.start(cid, console_size=size, prespawned=prespawned)
        else:
            rt.containers.start(cid, attach_fd=theirs.fileno(), console_size=size)
    finally:
        if theirs is not None:
            theirs.close()
    if not tty:
        proxy_signals(rt, cid)
    sys.stdout.flush()
    keys = attach.parse_detach_keys(attach.DEFAULT_DETACH_KEYS) if stdin and tty else None
    try:
        code = attach.stream(ours, sys.stdin.fileno() if stdin else None, sys.stdout.fileno(),
                             sys.stderr.fileno(), tty=tty, wait_eof=wait_eof,
                             detach_keys=keys)
    except attach.Detached:
        return 0   # Ctrl-P Ctrl-Q: the container keeps running
    from runtime.shim.trace import mark

    mark("cli.done")
    if code is None:
        try:
            code = int(rt.containers.get(cid).state.get("exit_code", 0))
        except Exception:
            code = 0
    return code


# ---- lifecycle verbs -----------------------------------------------------------------------
@container.command("start")
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals.")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def start(ctx: click.Context, attach: bool, interactive: bool, containers: tuple[str, ...]
          ) -> None:
    """Start one or more stopped containers."""
    _need_root()
    rt = _runtime(ctx)
    if attach or interactive:
        cid = rt.containers.resolve(containers[0])
        rec = rt.containers.get(cid)
        code = _attached_start(rt, cid, interactive, rec.spec.process.tty,
                               wait_eof=rec.spec.auto_remove)
        raise click.exceptions.Exit(code)
    for ref in containers:
        rt.containers.start(ref)
        click.echo(ref)


@container.command("stop")
@click.option("-t", "--time", "timeout", type=float, help="Seconds to wait before killing.")
@click.option("-s", "--signal", "sig", help="Signal to send to the container.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def stop(ctx: click.Context, timeout: float | None, sig: str | None,
         containers: tuple[str, ...]) -> None:
    """Stop one or more running containers."""
    rt = _runtime(ctx)
    for ref in containers:
        rt.containers.stop(ref, timeout, sig)
        click.echo(ref)


@container.command("restart")
@click.option("-t", "--time", "timeout", type=float, help="Seconds to wait before killing.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def restart(ctx: click.Context, timeout: float | None, containers: tuple[str, ...]) -> None:
    """Restart one or more containers."""
    _need_root()
    rt = _runtime(ctx)
    for ref in containers:
        rt.containers.restart(ref, timeout)
        click.echo(ref)


@container.command("kill")
@click.option("-s", "--signal", "sig", default="SIGKILL", show_default=True,
              help="Signal to send to the container.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def kill(ctx: click.Context, sig: str, containers: tuple[str, ...]) -> None:
    """Kill one or more running containers."""
    rt = _runtime(ctx)
    for ref in containers:
        rt.containers.kill(ref, sig)
        click.echo(ref)


@container.command("rm")
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container.")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def rm(ctx: click.Context, force: bool, volumes: bool, containers: tuple[str, ...]) -> None:
    """Remove one or more containers."""
    rt = _runtime(ctx)
    for ref in containers:
        spec = rt.containers.get(ref).spec if volumes else None
        rt.containers.remove(ref, force=force)
        if spec is not None:
            from runtime.volumes.hooks import remove_anonymous_volumes

            remove_anonymous_volumes(rt.paths, spec)
        click.echo(ref)


@container.command("wait")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def wait(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Block until containers stop, then print their exit codes."""
    rt = _runtime(ctx)
    for ref in containers:
        click.echo(rt.containers.wait(ref))


@container.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def prune(ctx: click.Context, force: bool) -> None:
    """Remove all stopped containers."""
    if not force and not click.confirm(
            "WARNING! This will remove all stopped containers.\nAre you sure you want to "
            "continue?", default=False):
        return
    removed = _runtime(ctx).containers.prune()
    if removed:
        click.echo("Deleted Containers:")
        for cid in removed:
            click.echo(cid)


# ---- inspection --------------------------------------------------------------------------------
@container.command("port")
@click.argument("ref", metavar="CONTAINER")
@click.argument("private", required=False, metavar="[PRIVATE_PORT[/PROTO]]")
@click.pass_context
def port(ctx: click.Context, ref: str, private: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    from runtime.errors import NotFoundError, UsageError
    from runtime.network.api import Networks

    rt = _runtime(ctx)
    cid = rt.containers.resolve(ref)
    number, proto = None, None
    if private:
        p, _, proto = private.partition("/")
        try:
            number = int(p)
        except ValueError:
            raise UsageError(f"invalid port {private!r}", hint="PORT or PORT/PROTO") from None
    nets = Networks(rt.paths)
    bindings = [b for b in nets.port(cid, number, proto or None) if ":" not in b.container_ip]
    if private and not bindings:
        raise NotFoundError(f"no public port '{private}' published for {ref}")
    for b in bindings:
        if private:
            host = b.host_ip or "0.0.0.0"
            click.echo(f"{host}:{b.host_port}")
        else:
            click.echo(b.display())


@container.command("inspect")
@click.option("-f", "--format", "fmt", help="Go-template-like path, e.g. {{.State.Status}}.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def inspect(ctx: click.Context, fmt: str | None, containers: tuple[str, ...]) -> None:
    """Display detailed information on one or more containers."""
    rt = _runtime(ctx)
    data = [rt.containers.inspect(ref) for ref in containers]
    if fmt:
        for d in data:
            click.echo(_format_path(fmt, d))
    else:
        click.echo(json.dumps(data, indent=4))


def _format_path(fmt: str, data: dict) -> str:
    """The common subset of Go templates: ``{{.A.B}}`` and ``{{json .A}}``."""
    import re

    def repl(m: re.Match) -> str:
        expr = m.group(1).strip()
        as_json = expr.startswith("json ")
        path = expr[5:].strip() if as_json else expr
        value = data
        for part in filter(None, path.lstrip(".").split(".")):
            value = value.get(part) if isinstance(value, dict) else None
        if as_json:
            return json.dumps(value)
        if isinstance(value, bool):
            return str(value).lower()
        return "<no value>" if value is None else str(value)

    return re.sub(r"\{\{(.*?)\}\}", repl, fmt)


@container.command("ls")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers.")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs.")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output (status=exited).")
@click.option("--format", "fmt", help="'json' or 'table'.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.pass_context
def ls(ctx: click.Context, all_: bool, quiet: bool, filters: tuple[str, ...],
       fmt: str | None, size: bool, no_trunc: bool) -> None:
    """List containers."""
    from compose.cli.container_table import render

    rt = _runtime(ctx)
    rows = rt.containers.list(all=all_, filters=filters, size=size)
    for line in render(rows, quiet=quiet, fmt=fmt, size=size, no_trunc=no_trunc):
        click.echo(line)


@container.command("logs")
@click.option("-f", "--follow", is_flag=True, help="Follow log output.")
@click.option("-n", "--tail", default="all", help="Number of lines to show from the end.")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--since", help="Show logs since timestamp or relative (e.g. 42m).")
@click.option("--until", help="Show logs before a timestamp or relative (e.g. 42m).")
@click.argument("container_ref", metavar="CONTAINER")
@click.pass_context
def logs(ctx: click.Context, follow: bool, tail: str, timestamps: bool, since: str | None,
         until: str | None, container_ref: str) -> None:
    """Fetch the logs of a container."""
    from runtime.errors import UsageError

    if tail != "all" and not tail.lstrip("-").isdigit():
        raise UsageError(f"invalid --tail {tail!r}", hint="a number of lines, or all")
    n = None if tail == "all" or int(tail) < 0 else int(tail)
    rt = _runtime(ctx)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for entry in rt.containers.logs(container_ref, follow=follow, tail=n, since=since,
                                    until=until):
        stream = err if entry.stream == "stderr" else out
        if timestamps:
            stream.write(entry.time.encode() + b" ")
        stream.write(entry.data)
        if follow:
            stream.flush()
    out.flush()
    err.flush()
