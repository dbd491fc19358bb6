"""``pycompose volume create|ls|inspect|rm|prune|export|import``."""

from __future__ import annotations

import json
import os
import re
import sys

import click

from runtime.errors import NotFoundError, PycomposeError, UsageError


def _store(ctx: click.Context):
    from runtime.volumes.store import VolumeStore

    return VolumeStore(ctx.find_root().obj.state_paths())


def _kv(pairs: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid {what} {item!r}", hint=f"write {what}s as KEY=VALUE")
        out[key] = value if sep else ""
    return out


def _size(path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames + dirnames:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
            except OSError:
                pass
    return total


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.3g}{unit}"
        n /= 1000
    return f"{n}B"


_FIELD = re.compile(r"{{\s*(json\s+)?\.(\w*)\s*}}")


def render_template(template: str, info: dict) -> str:
    """The Go-template subset scripts use with ``--format``: ``{{.Field}}``,
    ``{{json .Field}}`` and ``{{json .}}``; anything else is a usage error."""
    def sub(m: re.Match) -> str:
        as_json, key = bool(m.group(1)), m.group(2)
        if key and key not in info:
            raise UsageError(f"template: no field {key!r}",
                             hint="fields: " + ", ".join(sorted(info)))
        value = info[key] if key else info
        if as_json:
            return json.dumps(value, sort_keys=True)
        if isinstance(value, dict):
            return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]"
        return str(value)

    out = _FIELD.sub(sub, template)
    if "{{" in out:
        raise UsageError(f"unsupported --format template {template!r}",
                         hint="supported: {{.Field}}, {{json .Field}}, {{json .}}")
    return out.replace("\\t", "\t").replace("\\n", "\n")


@click.group("volume")
def volume() -> None:
    """Manage volumes."""


@volume.command("create")
@click.argument("name", required=False)
@click.option("-d", "--driver", default="local", show_default=True, help="Volume driver.")
@click.option("-o", "--opt", "opts", multiple=True, metavar="KEY=VALUE",
              help="Driver options (type, device, o).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set metadata.")
@click.pass_context
def create(ctx: click.Context, name: str | None, driver: str, opts: tuple[str, ...],
           labels: tuple[str, ...]) -> None:
    """Create a volume (a random name when NAME is omitted)."""
    vol = _store(ctx).create(name, driver=driver, options=_kv(opts, "option"),
                             labels=_kv(labels, "label"))
    click.echo(vol.name)


def _filters(values: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or key not in ("dangling", "name", "label", "driver"):
            raise UsageError(f"invalid filter {item!r}",
                             hint="filters: dangling=true|false, name=, label=, driver=")
        if key == "dangling" and value.lower() not in ("true", "false", "1", "0"):
            raise UsageError(f"invalid filter {item!r}", hint="dangling=true or false")
        out.setdefault(key, []).append(value)
    return out


@volume.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
@click.option("--format", "fmt", default="table",
              help="table, json (one object per line) or a {{.Field}} template.")
@click.option("-f", "--filter", "filters", multiple=True, metavar="KEY=VALUE",
              help="dangling=true|false, name=SUBSTR, label=KEY[=VALUE], driver=NAME.")
@click.pass_context
def ls(ctx: click.Context, quiet: bool, fmt: str, filters: tuple[str, ...]) -> None:
    """List volumes."""
    from runtime.volumes.inuse import volumes_in_use
    from runtime.volumes.store import match_label

    store = _store(ctx)
    flt = _filters(filters)
    used = volumes_in_use(store.paths) if "dangling" in flt else set()
    rows = []
    for vol in store.list():
        if any((d.lower() in ("true", "1")) == (vol.name in used) for d in flt.get("dangling", ())):
            continue
        if flt.get("name") and not any(n in vol.name for n in flt["name"]):
            continue
        if flt.get("driver") and vol.driver not in flt["driver"]:
            continue
        if not all(match_label(vol.labels, lab) for lab in flt.get("label", ())):
            continue
        rows.append(vol)
    if quiet:
        for vol in rows:
            click.echo(vol.name)
    elif fmt == "json":
        for vol in rows:
            info = vol.inspect()
            info["Labels"] = ",".join(f"{k}={v}" for k, v in sorted(vol.labels.items()))
            click.echo(json.dumps(info, sort_keys=True))
    elif fmt == "table":
        click.echo(f"{'DRIVER':<10}VOLUME NAME")
        for vol in rows:
            click.echo(f"{vol.driver:<10}{vol.name}")
    else:
        for vol in rows:
            click.echo(render_template(fmt, vol.inspect()))


@volume.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default="json",
              help="json (default) or a {{.Field}} template.")
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], fmt: str) -> None:
    """Display detailed information on one or more volumes."""
    store = _store(ctx)
    infos = [store.get(n).inspect() for n in names]
    if fmt == "json":
        click.echo(json.dumps(infos, indent=4, sort_keys=True))
        return
    for info in infos:
        click.echo(render_template(fmt, info))


def _each(names: tuple[str, ...], op) -> None:
    """Run ``op`` on every name; report each failure, raise the first at the end."""
    first: PycomposeError | None = None
    for name in names:
        try:
            if op(name):
                click.echo(name)
        except PycomposeError as err:
            if first is not None:
                click.echo(f"Error: {err.message}", err=True)
            first = first or err
    if first is not None:
        raise first


@volume.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Do not fail on volumes that do not exist.")
@click.pass_context
def rm(ctx: click.Context, names: tuple[str, ...], force: bool) -> None:
    """Remove one or more volumes (refused while a container uses them)."""
    store = _store(ctx)
    _each(names, lambda n: store.remove(n, force=force))


@volume.command("prune")
@click.option("-a", "--all", "all_", is_flag=True,
              help="Remove all unused volumes, not just anonymous ones.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, metavar="label=KEY[=VALUE]",
              help="Only prune volumes matching these label filters.")
@click.pass_context
def prune(ctx: click.Context, all_: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove unused anonymous volumes (all unused volumes with -a)."""
    labels = []
    for item in filters:
        key, sep, value = item.partition("=")
        if key not in ("label", "label!") or not sep or not value:
            raise UsageError(f"invalid filter {item!r}",
                             hint="prune filters: label=KEY[=VALUE], label!=KEY[=VALUE]")
        if key == "label":
            labels.append(value)
        else:
            labels.append(value.replace("=", "!=", 1) if "=" in value else "!" + value)
    if not force:
        what = "all local volumes" if all_ else "anonymous local volumes"
        click.confirm(f"WARNING! This will remove {what} not used by at least one container.\n"
                      "Are you sure you want to continue?", abort=True, err=True)
    store = _store(ctx)
    sizes = {v.name: _size(v.mountpoint) for v in store.list()}
    removed = store.prune(all_volumes=all_, label_filters=labels)
    if removed:
        click.echo("Deleted Volumes:")
        for name in removed:
            click.echo(name)
        click.echo("")
    click.echo(f"Total reclaimed space: {_human(sum(sizes.get(n, 0) for n in removed))}")


@volume.command("export")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file "
              "instead of standard output.")
@click.pass_context
def export(ctx: click.Context, name: str, output: str | None) -> None:
    """Write a volume's content as a tar archive (owners, modes, xattrs kept)."""
    from runtime.volumes.archive import export_volume

    store = _store(ctx)
    store.get(name)
    if output:
        import tempfile

        out_dir = os.path.dirname(os.path.abspath(output))
        fd, tmp = tempfile.mkstemp(prefix=".pycompose-export-", dir=out_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                export_volume(store, name, f)
            os.replace(tmp, output)
        except BaseException:
            os.unlink(tmp)
            raise
        return
    if sys.stdout.isatty():
        raise UsageError("refusing to write a tar archive to a terminal",
                         hint=f"redirect the output: pycompose volume export {name} > vol.tar")
    sys.stdout.flush()
    export_volume(store, name, sys.stdout.buffer)
    sys.stdout.buffer.flush()


@volume.command("import")
@click.argument("name")
@click.argument("file", required=False, default="-")
@click.option("--force", is_flag=True, help="Replace the content of a non-empty volume.")
@click.pass_context
def import_(ctx: click.Context, name: str, file: str, force: bool) -> None:
    """Restore a volume from a tar archive (FILE or standard input); creates the volume."""
    from runtime.volumes.archive import import_volume

    store = _store(ctx)
    if file == "-":
        if sys.stdin.isatty():
            raise UsageError("no archive on standard input",
                             hint=f"pycompose volume import {name} < vol.tar")
        n = import_volume(store, name, sys.stdin.buffer, replace=force)
    else:
        try:
            f = open(file, "rb")  # noqa: SIM115
        except OSError as err:
            raise NotFoundError(f"cannot open {file}: {err.strerror}",
                                hint="give the path of a tar archive, or - for stdin") from None
        with f:
            n = import_volume(store, name, f, replace=force)
    click.echo(f"{name}: imported {n} entries", err=True)
