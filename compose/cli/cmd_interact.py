"""``pycompose container exec|attach|top|stats|pause|unpause|cp``.

Registered lazily on the ``container`` group (see ``cmd_container``).  The top-level
``exec``/``top``/``pause``/``cp``/``stats`` names belong to the compose project commands
(as in ``docker compose``), so only the ``container ...`` forms live here.
"""

from __future__ import annotations

import sys

import click

from compose.cli.cmd_container import _need_root, _runtime


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
    from compose.cli.container_spec import parse_env

    _need_root()
    rt = _runtime(ctx)
    envs = parse_env(env, env_file)
    if detach:
        res = rt.containers.exec(container_ref, command, user=user, workdir=workdir,
                                 env=envs, tty=tty, detach=True, privileged=privileged)
        if res.stderr:
            sys.stderr.buffer.write(res.stderr)
        raise click.exceptions.Exit(res.exit_code)
    if tty and not sys.stdin.isatty():
        from runtime.errors import UsageError

        raise UsageError("the input device is not a TTY",
                         hint="drop -t, or run from a terminal")
    sys.stdout.flush()
    code = rt.containers.exec_attached(
        container_ref, command, user=user, workdir=workdir, env=envs, tty=tty,
        stdin_fd=sys.stdin.fileno() if interactive else None,
        stdout_fd=sys.stdout.fileno(), stderr_fd=sys.stderr.fileno(), privileged=privileged)
    raise click.exceptions.Exit(code)
