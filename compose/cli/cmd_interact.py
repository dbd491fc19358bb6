"""``pycompose container exec|attach|top|stats|pause|unpause|cp``.

Registered lazily on the ``container`` group (see ``cmd_container``).  The top-level
``exec``/``top``/``pause``/``cp``/``stats`` names belong to the compose project commands
(as in ``docker compose``), so only the ``container ...`` forms live here.
"""

from __future__ import annotations

import sys

import click

from compose.cli.cmd_container import _need_root, _runtime, proxy_signals
from compose.cli.tables import render_table


@click.command("exec", context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the "
              "background.")
@click.option("-e", "--env", multiple=True, help="Set environment variables.")
@click.option("--env-file", multiple=True, help="Read in a file of environment variables.")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not "
              "attached.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>]).")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.option("--detach-keys", hidden=True, help="Accepted for compatibility.")
@click.argument("container_ref", metavar="CONTAINER")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, detach: bool, env: tuple[str, ...], env_file: tuple[str, ...],
          interactive: bool, tty: bool, user: str | None, workdir: str | None,
          privileged: bool, detach_keys: str | None, container_ref: str,
          command: tuple[str, ...]) -> None:
    """Execute a command in a running container."""
    _need_root()
    rt = _runtime(ctx)
    envs: tuple[str, ...] = ()
    if env or env_file:
        from compose.cli.container_spec import parse_env

        envs = parse_env(env, env_file)
    if detach:
        res = rt.containers.exec(container_ref, command, user=user, workdir=workdir,
                                 env=envs, tty=tty, detach=True, privileged=privileged)
        if res.stderr:
            sys.stderr.buffer.write(res.stderr)
        raise click.exceptions.Exit(res.exit_code)
    if tty and interactive and not sys.stdin.isatty():
        from runtime.errors import UsageError

        raise UsageError("the input device is not a TTY",
                         hint="drop -t, or run from a terminal")
    sys.stdout.flush()
    code = rt.containers.exec_attached(
        container_ref, command, user=user, workdir=workdir, env=envs, tty=tty,
        stdin_fd=sys.stdin.fileno() if interactive else None,
        stdout_fd=sys.stdout.fileno(), stderr_fd=sys.stderr.fileno(), privileged=privileged)
    raise click.exceptions.Exit(code)


@click.command("attach")
@click.option("--no-stdin", is_flag=True, help="Do not attach STDIN.")
@click.option("--sig-proxy/--no-sig-proxy", default=True, show_default=True,
              help="Proxy all received signals to the process (non-TTY mode only).")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching "
              "a container (default ctrl-p,ctrl-q).")
@click.argument("container_ref", metavar="CONTAINER")
@click.pass_context
def attach(ctx: click.Context, no_stdin: bool, sig_proxy: bool, detach_keys: str | None,
           container_ref: str) -> None:
    """Attach local standard input, output, and error streams to a running container."""

    from runtime.container import attach as att
    from runtime.errors import ConflictError

    rt = _runtime(ctx)
    cid = rt.containers.resolve(container_ref)
    rec = rt.containers.get(cid)
    if rec.status.value != "running":
        raise ConflictError(f"cannot attach to a stopped container {rec.name}"
                            if rec.status.value != "paused" else
                            f"cannot attach to a paused container {rec.name}",
                            hint=f"pycompose container start -a {rec.name}")
    tty = rec.spec.process.tty
    stdin = rec.spec.process.stdin_open and not no_stdin
    if tty and stdin and not sys.stdin.isatty():
        from runtime.errors import UsageError

        raise UsageError("the input device is not a TTY", hint="use --no-stdin")
    keys = att.parse_detach_keys(detach_keys or att.DEFAULT_DETACH_KEYS)
    sock = att.connect(rt.containers.attach_socket(cid))
    att.hello(sock, stdin=stdin, stdin_once=False)
    if sig_proxy and not tty:
        proxy_signals(rt, cid)
    try:
        code = att.stream(sock, sys.stdin.fileno() if stdin else None, sys.stdout.fileno(),
                          sys.stderr.fileno(), tty=tty, detach_keys=keys)
    except att.Detached:
        raise click.exceptions.Exit(0) from None
    finally:
        sock.close()
    if code is None:
        code = int(rt.containers.get(cid).state.get("exit_code", 0))
    sys.stdout.flush()
    raise click.exceptions.Exit(code)


@click.command("top")
@click.argument("container_ref", metavar="CONTAINER")
@click.argument("ps_options", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def top(ctx: click.Context, container_ref: str, ps_options: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    rt = _runtime(ctx)
    titles, rows = rt.containers.top(container_ref, " ".join(ps_options) or None)
    for line in render_table(titles, rows):
        click.echo(line)


@click.command("pause")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def pause(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    _need_root()
    rt = _runtime(ctx)
    for ref in containers:
        rt.containers.pause(ref)
        click.echo(ref)


@click.command("unpause")
@click.argument("containers", nargs=-1, required=True)
@click.pass_context
def unpause(ctx: click.Context, containers: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    _need_root()
    rt = _runtime(ctx)
    for ref in containers:
        rt.containers.unpause(ref)
        click.echo(ref)


# ---- stats ----------------------------------------------------------------------------------
def _decimal(n: float) -> str:
    """go-units HumanSizeWithPrecision(n, 3): 1.23kB, 0B."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.3g}{units[i]}"


def _binary(n: float) -> str:
    """go-units BytesSize: 1.227MiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    i = 0
    while n >= 1024 and i < len(units) - 1:
        n /= 1024
        i += 1
    return f"{n:.4g}{units[i]}"


def stats_row(s, ref: str | None = None) -> dict[str, str]:
    """One container as ``docker stats --format json`` prints it."""
    return {
        "BlockIO": f"{_decimal(s.block_read)} / {_decimal(s.block_write)}",
        "CPUPerc": f"{s.cpu_percent:.2f}%",
        "Container": ref or s.id[:12],
        "ID": s.id[:12],
        "MemPerc": f"{s.memory_percent:.2f}%",
        "MemUsage": f"{_binary(s.memory_usage)} / {_binary(s.memory_limit)}",
        "Name": s.name,
        "NetIO": f"{_decimal(s.net_rx)} / {_decimal(s.net_tx)}",
        "PIDs": str(s.pids),
    }


_STATS_COLS = (("CONTAINER ID", "ID"), ("NAME", "Name"), ("CPU %", "CPUPerc"),
               ("MEM USAGE / LIMIT", "MemUsage"), ("MEM %", "MemPerc"), ("NET I/O", "NetIO"),
               ("BLOCK I/O", "BlockIO"), ("PIDS", "PIDs"))


@click.command("stats")
@click.option("-a", "--all", "all_", is_flag=True, help="Show all containers (default shows "
              "just running).")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the "
              "first result.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.option("--format", "fmt", help="'json' or 'table'.")
@click.argument("containers", nargs=-1)
@click.pass_context
def stats(ctx: click.Context, all_: bool, no_stream: bool, no_trunc: bool, fmt: str | None,
          containers: tuple[str, ...]) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    rt = _runtime(ctx)
    refs = list(containers) or [r.record.id for r in rt.containers.list(all=all_)]
    stream_stats(rt, refs, no_stream=no_stream, fmt=fmt, no_trunc=no_trunc,
                 named=bool(containers))


def stream_stats(rt, refs: list[str], *, no_stream: bool, fmt: str | None,
                 no_trunc: bool = False, named: bool = False) -> None:
    """Print stats rows for ``refs`` once (``no_stream``) or every second until
    interrupted; ``named``: show each container as the user referred to it."""
    import json
    import time

    previous = None
    while True:
        if refs:
            rows, previous = rt.containers.stats(refs, interval=1.0, previous=previous)
        else:
            rows = []
        items = [stats_row(s, ref if named else None)
                 for s, ref in zip(rows, refs, strict=True)]
        if no_trunc:
            for it, s in zip(items, rows, strict=True):
                it["ID"] = s.id
        if fmt == "json":
            lines = [json.dumps(it) for it in items]
        else:
            lines = render_table([h for h, _ in _STATS_COLS],
                                 [[it[k] for _, k in _STATS_COLS] for it in items])
        if not no_stream:
            click.echo("\033[2J\033[H", nl=False)
        for line in lines:
            click.echo(line)
        if no_stream:
            return
        sys.stdout.flush()
        time.sleep(1.0)


# ---- cp -----------------------------------------------------------------------------------------
def _split(arg: str) -> tuple[str | None, str]:
    """``CONTAINER:PATH`` or a local path (paths starting with / or . are local)."""
    if arg.startswith(("/", ".")) or ":" not in arg:
        return None, arg
    ref, _, path = arg.partition(":")
    return ref, path


@click.command("cp")
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid "
              "information).")
@click.option("-L", "--follow-link", is_flag=True, help="Always follow symbol link in "
              "SRC_PATH.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress progress output.")
@click.argument("src")
@click.argument("dst")
@click.pass_context
def cp(ctx: click.Context, archive: bool, follow_link: bool, quiet: bool, src: str,
       dst: str) -> None:
    """Copy files/folders between a container and the local filesystem.

    \b
    pycompose container cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
    pycompose container cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH
    """
    from runtime.errors import UsageError

    _need_root()
    sref, spath = _split(src)
    dref, dpath = _split(dst)
    if (sref is None) == (dref is None):
        raise UsageError("copying between containers is not supported" if sref else
                         "must specify at least one container source",
                         hint="one of SRC and DEST is CONTAINER:PATH")
    rt = _runtime(ctx)
    if sref is not None:
        if not spath:
            raise UsageError("empty source path")
        if dpath == "-":
            rt.containers.cp_out(sref, spath, sys.stdout.buffer, follow_link=follow_link)
            sys.stdout.buffer.flush()
        else:
            rt.containers.copy_from(sref, spath, dpath, archive=archive,
                                    follow_link=follow_link)
        return
    assert dref is not None
    if not dpath:
        raise UsageError("empty destination path")
    if spath == "-":
        rt.containers.cp_in(dref, dpath, sys.stdin.buffer, archive=archive)
    else:
        rt.containers.copy_to(dref, spath, dpath, archive=archive)
