"""A click group whose subcommands are imported only when they are invoked.

Start-up time is a feature: ``pycompose version`` must not pay for jsonschema,
networkx or the runtime.  Each subcommand is registered as ``"module:attribute"``.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = dict(lazy_commands or {})
        self.lazy_help: dict[str, str] = {}  # per-group one-line help of lazy subcommands

    def add_lazy(self, name: str, target: str, help: str | None = None) -> None:
        self.lazy_commands[name] = target
        if help is not None:
            self.lazy_help[name] = help

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, attr = self.lazy_commands[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every command module: show names only.
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands:
                rows.append((name, self.lazy_help.get(name) or LAZY_HELP.get(name, "")))
            else:
                cmd = super().get_command(ctx, name)
                rows.append((name, cmd.get_short_help_str() if cmd else ""))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


# One-line help shown by ``pycompose --help`` without importing the command.
LAZY_HELP: dict[str, str] = {}
