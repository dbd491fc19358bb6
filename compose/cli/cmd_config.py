"""``pycompose config``: validate the project and print it in canonical form."""

from __future__ import annotations

import click


def _warn(messages) -> None:
    for m in messages:
        click.echo(f"WARN: {m}", err=True)


@click.command("config")
@click.argument("services", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="Output format.")
@click.option("-q", "--quiet", is_flag=True, help="Only validate the configuration.")
@click.option("--services", "list_services", is_flag=True, help="Print the service names.")
@click.option("--volumes", "list_volumes", is_flag=True, help="Print the volume names.")
@click.option("--networks", "list_networks", is_flag=True, help="Print the network names.")
@click.option("--profiles", "list_profiles", is_flag=True, help="Print the profile names.")
@click.option("--images", "list_images", is_flag=True, help="Print the image names.")
@click.option("--hash", "hash_of", metavar="SERVICES",
              help='Print the config hash of services ("*" for all, or a comma list).')
@click.option("--no-interpolate", is_flag=True, help="Don't interpolate variables.")
@click.option("--no-consistency", is_flag=True,
              help="Don't check references and that services have an image or build.")
@click.option("--no-path-resolution", is_flag=True, help="Don't resolve file paths.")
@click.option("--variables", "show_variables", is_flag=True,
              help="Print the variables the files use, with their defaults.")
@click.option("--environment", "show_environment", is_flag=True,
              help="Print the environment used for interpolation.")
@click.option("--resolve-image-digests", is_flag=True,
              help="Pin image tags to digests (from the local image store).")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
@click.pass_obj
def config(g, services: tuple[str, ...], fmt: str, quiet: bool, list_services: bool,
           list_volumes: bool, list_networks: bool, list_profiles: bool, list_images: bool,
           hash_of: str | None, no_interpolate: bool, no_consistency: bool,
           no_path_resolution: bool, show_variables: bool, show_environment: bool,
           resolve_image_digests: bool, output: str | None) -> None:
    """Parse, resolve and render the compose file in canonical format."""
    quick_key = None
    if quiet:
        from compose.validate import quick

        quick_key = quick.key_for({
            "files": g.files, "project_name": g.project_name,
            "project_directory": g.project_directory, "env_files": g.env_files,
            "profiles": g.profiles, "services": services, "interpolate": not no_interpolate,
            "consistency": not no_consistency, "paths": not no_path_resolution})
        warnings = quick.lookup(quick_key)
        if warnings is not None:  # nothing changed since the last successful check
            _warn(warnings)
            return

    from compose.loader import load_config, options_from_globals
    from compose.project_loader import load_project, select_services

    if show_variables:
        _print_variables(load_config(options_from_globals(g, interpolate=False)).data, fmt)
        return

    options = options_from_globals(g, interpolate=not no_interpolate)
    loaded = load_config(options)
    project = load_project(options, services, consistency=not no_consistency, loaded=loaded,
                           resolve_paths=not no_path_resolution)
    _warn(project.warnings)
    if quiet:
        import os

        try:
            inputs = quick.inputs_of(loaded, project, explicit_files=bool(g.files))
        except ValueError:  # stdin: nothing to compare with next time
            return
        inputs.update(os.path.abspath(f) for f in g.env_files)
        quick.record(quick_key, inputs, project.warnings)
        return
    if services:
        project = select_services(project, services)
    if list_services:
        text = "".join(f"{n}\n" for n in project.services)
    elif list_volumes:
        text = "".join(f"{n}\n" for n in project.volumes)
    elif list_networks:
        text = "".join(f"{n}\n" for n in project.networks)
    elif list_profiles:
        text = "".join(f"{n}\n" for n in project.all_profiles())
    elif list_images:
        text = "".join(f"{s.image or f'{project.name}-{n}'}\n"
                       for n, s in project.services.items())
    elif show_environment:
        text = "".join(f"{k}={v}\n" for k, v in sorted(project.environment.items()))
    elif hash_of is not None:
        from compose.model.serialize import config_hash

        names = list(project.services) if hash_of.strip() == "*" else \
            [n.strip() for n in hash_of.split(",") if n.strip()]
        text = "".join(f"{n} {config_hash(project.service(n))}\n" for n in names)
    else:
        from compose.model.serialize import escape_dollars, project_dict, to_json, to_yaml

        doc = project_dict(project)
        if resolve_image_digests:
            _pin_digests(g, doc)
        if not no_interpolate:
            doc = escape_dollars(doc)
        text = to_json(doc) if fmt == "json" else to_yaml(doc)
    if output:
        from pathlib import Path

        from runtime.fsutil import atomic_write_bytes

        atomic_write_bytes(Path(output), text.encode())
    else:
        click.echo(text, nl=False)


def _print_variables(data, fmt: str) -> None:
    from compose.model.variables import variables_of

    found = variables_of(data)
    if fmt == "json":
        import json

        click.echo(json.dumps({v.name: {"name": v.name, "required": v.required,
                                        "defaultValue": v.default or "",
                                        "presenceValue": v.alternate or ""}
                               for v in found}, indent=2))
        return
    rows = [("NAME", "REQUIRED", "DEFAULT VALUE", "ALTERNATE VALUE")] + [
        (v.name, str(v.required).lower(), v.default or "", v.alternate or "") for v in found]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        click.echo("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=False))
                   + "   " + r[3])


def _pin_digests(g, doc: dict) -> None:
    """``image: redis:7`` -> ``image: docker.io/library/redis@sha256:...``: the digest the
    registry gave when the image was pulled (docker compose asks the registry; we read
    the local store, so the image must have been pulled or pushed)."""
    from runtime.errors import NotFoundError
    from runtime.images import ImageStore

    store = ImageStore(g.state_paths())
    for name, svc in (doc.get("services") or {}).items():
        image = svc.get("image")
        if not image or "@sha256:" in image:
            continue
        try:
            digests = store.resolve(image).repo_digests
        except Exception:
            digests = ()
        if not digests:
            raise NotFoundError(f"service {name!r}: no registry digest known for {image}",
                                hint=f"pull it first: pycompose pull {name}")
        svc["image"] = digests[0]
