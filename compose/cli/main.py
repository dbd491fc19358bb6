"""Entry point of the ``pycompose`` command.

``main()`` is the single place that turns a :class:`runtime.errors.PycomposeError` into
a message on stderr and an exit status (see the table in ``runtime/errors.py``).
"""

from __future__ import annotations

import os
import sys

import click

from compose.cli.lazy import LAZY_HELP, LazyGroup
from compose.cli.options import GlobalOptions
from runtime.errors import ExitCode, PycomposeError

VERSION = "0.1.0"

# name -> "module:attribute"; modules are imported only when the command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "version": ("compose.cli.cmd_version:version", "Show the pycompose version information"),
    "config": ("compose.cli.cmd_config:config",
               "Parse, resolve and render the compose file in canonical format"),
    "graph": ("compose.cli.cmd_graph:graph", "Print the service dependency graph"),
    "network": ("compose.cli.cmd_network:network", "Manage networks"),
    "image": ("compose.cli.cmd_image:image", "Manage images"),
    "rmi": ("compose.cli.cmd_image:rmi", "Remove one or more images"),
    "tag": ("compose.cli.cmd_image:tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE"),
    "container": ("compose.cli.cmd_container:container", "Manage containers"),
    "system": ("compose.cli.cmd_system:system", "Host checks: which kernel features are usable"),
    "save": ("compose.cli.cmd_image:save", "Save images to a tar archive"),
    "load": ("compose.cli.cmd_image:load", "Load images from a tar archive"),
    "login": ("compose.cli.cmd_image:login", "Log in to a registry"),
    "logout": ("compose.cli.cmd_image:logout", "Log out from a registry"),
    "search": ("compose.cli.cmd_image:search", "Search images (Docker Hub or a registry)"),
    "commit": ("compose.cli.cmd_build:commit", "Create a new image from a container's changes"),
    "builder": ("compose.cli.cmd_build:builder", "Manage the build cache"),
    "volume": ("compose.cli.cmd_volume:volume", "Manage volumes"),
    "up": ("compose.cli.cmd_up:up", "Create and start containers"),
    "create": ("compose.cli.cmd_up:create", "Create containers for a service"),
    "down": ("compose.cli.cmd_down:down", "Stop and remove containers, networks"),
    "ps": ("compose.cli.cmd_ps:ps", "List containers"),
    "logs": ("compose.cli.cmd_logs:logs", "View output from containers"),
    "start": ("compose.cli.cmd_lifecycle:start", "Start services"),
    "stop": ("compose.cli.cmd_lifecycle:stop", "Stop services"),
    "restart": ("compose.cli.cmd_lifecycle:restart", "Restart service containers"),
    "kill": ("compose.cli.cmd_lifecycle:kill", "Force stop service containers"),
    "rm": ("compose.cli.cmd_lifecycle:rm", "Remove stopped service containers"),
    "ls": ("compose.cli.cmd_ls:ls", "List running compose projects"),
    "run": ("compose.cli.cmd_run:run", "Run a one-off command on a service"),
    "build": ("compose.cli.cmd_compose_build:build", "Build or rebuild services"),
    "pull": ("compose.cli.cmd_images:pull", "Pull service images"),
    "push": ("compose.cli.cmd_images:push", "Push service images"),
    "images": ("compose.cli.cmd_images:images", "List images used by the created containers"),
    "port": ("compose.cli.cmd_port:port", "Print the public port for a port binding"),
    "wait": ("compose.cli.cmd_port:wait", "Block until containers of services stop"),
    "events": ("compose.cli.cmd_events:events", "Receive real time events from containers"),
    "exec": ("compose.cli.cmd_service_interact:exec_", "Execute a command in a running "
             "service container"),
    "top": ("compose.cli.cmd_service_interact:top", "Display the running processes"),
    "pause": ("compose.cli.cmd_service_interact:pause", "Pause services"),
    "unpause": ("compose.cli.cmd_service_interact:unpause", "Unpause services"),
    "cp": ("compose.cli.cmd_service_interact:cp", "Copy files between a service container "
           "and the local filesystem"),
    "stats": ("compose.cli.cmd_service_interact:stats", "Display a live stream of resource "
              "usage"),
}


@click.group(
    cls=LazyGroup,
    lazy_commands={name: target for name, (target, _) in COMMANDS.items()},
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("-f", "--file", "files", multiple=True, metavar="FILE",
              help="Compose configuration file(s); '-' reads standard input.")
@click.option("-p", "--project-name", help="Project name.")
@click.option("--project-directory", metavar="DIR",
              help="Alternate working directory (default: the first file's directory).")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE",
              help="Alternate environment file(s).")
@click.option("--profile", "profiles", multiple=True, help="Enable a profile.")
@click.option("--progress", type=click.Choice(["auto", "tty", "plain", "json", "quiet"]),
              default="auto", show_default=True, help="Progress output type.")
@click.option("--ansi", type=click.Choice(["auto", "never", "always"]), default="auto",
              help="Control when to print ANSI control characters.")
@click.option("--parallel", type=int, default=None, help="Maximum parallelism (-1: unlimited).")
@click.option("--root", metavar="DIR", help="State root (default $PYCOMPOSE_ROOT or "
              "/var/lib/pycompose).")
@click.option("--run-dir", metavar="DIR", help="Volatile state dir (sockets, pid files).")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.version_option(VERSION, "-v", "--version", prog_name="pycompose")
@click.pass_context
def cli(ctx: click.Context, **kwargs) -> None:
    """Daemonless Compose: run multi-container stacks with nothing but Python."""
    ctx.obj = GlobalOptions(**kwargs)


for _name, (_target, _help) in COMMANDS.items():
    LAZY_HELP[_name] = _help


def _print_error(err: PycomposeError) -> None:
    click.echo(f"Error: {err.message}", err=True)
    if err.hint:
        click.echo(f"Hint: {err.hint}", err=True)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with a status from the exit-code table."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        rc = cli.main(args=argv, prog_name="pycompose", standalone_mode=False)
    except PycomposeError as err:
        if debug:
            import traceback

            traceback.print_exc()
        _print_error(err)
        sys.exit(int(err.exit_code))
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.ClickException as err:
        err.show()
        sys.exit(int(ExitCode.USAGE) if isinstance(err, click.UsageError) else err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        # Output piped into `head` and the like: not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(int(ExitCode.OK))
    except Exception as err:  # last line of defence: never a bare traceback
        if debug:
            raise
        click.echo(f"Internal error: {type(err).__name__}: {err}", err=True)
        click.echo("Hint: re-run with --debug for a traceback, and please report it.",
                   err=True)
        sys.exit(int(ExitCode.FAILURE))
    sys.exit(int(rc) if isinstance(rc, int) else 0)
