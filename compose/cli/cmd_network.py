"""``pycompose network ...``: create, ls, inspect, rm, prune, connect, disconnect.

Rendering only; the work is done by ``runtime.network.api.Networks``.
"""

from __future__ import annotations

import json

import click

from compose.cli.lazy import LazyGroup
from runtime.errors import NotFoundError, UsageError


def _networks(ctx: click.Context):
    from runtime.network.api import Networks

    return Networks(ctx.find_root().obj.state_paths())


def _kv(items: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not key:
            raise UsageError(f"invalid {what} {item!r}", hint=f"use --{what} KEY=VALUE")
        out[key] = val if sep else ""
    return out


def _filters(items: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or key not in ("name", "id", "label", "driver", "dangling"):
            raise UsageError(f"invalid filter {item!r}",
                             hint="filters: name=, id=, label=KEY[=VALUE], driver=, dangling=")
        out.setdefault(key, []).append(val)
    return out


def _matches(net: dict, filters: dict[str, list[str]]) -> bool:
    for key, vals in filters.items():
        if key == "name" and not any(v in net["Name"] for v in vals):
            return False
        if key == "id" and not any(net["Id"].startswith(v) for v in vals):
            return False
        if key == "driver" and net["Driver"] not in vals:
            return False
        if key == "dangling" and any((v in ("1", "true")) == bool(net["Containers"])
                                     for v in vals):
            return False
        if key == "label":
            for v in vals:
                k, sep, want = v.partition("=")
                if k not in net["Labels"] or (sep and net["Labels"][k] != want):
                    return False
    return True


@click.group("network", cls=LazyGroup)
def network() -> None:
    """Manage networks."""


@network.command("create")
@click.argument("name")
@click.option("-d", "--driver", default="bridge", show_default=True, help="Network driver.")
@click.option("--subnet", multiple=True, help="Subnet in CIDR format (IPv4 and/or IPv6).")
@click.option("--gateway", multiple=True, help="Gateway for the subnet.")
@click.option("--ip-range", help="Allocate container IPs from this sub-range.")
@click.option("--internal", is_flag=True, help="Restrict external access to the network.")
@click.option("--ipv6", "enable_ipv6", is_flag=True, help="Enable IPv6 networking.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set metadata.")
@click.option("-o", "--opt", "opts", multiple=True, metavar="KEY=VALUE",
              help="Driver options (mtu=N, dns_upstreams=IP[,IP]).")
@click.pass_context
def create(ctx: click.Context, name: str, driver: str, subnet: tuple[str, ...],
           gateway: tuple[str, ...], ip_range: str | None, internal: bool,
           enable_ipv6: bool, labels: tuple[str, ...], opts: tuple[str, ...]) -> None:
    """Create a network."""
    from ipaddress import ip_network

    from runtime.network.ipam import parse_subnet

    v4 = [s for s in subnet if parse_subnet(s).version == 4]
    v6 = [s for s in subnet if ip_network(s).version == 6]
    if len(v4) > 1 or len(v6) > 1:
        raise UsageError("at most one IPv4 and one IPv6 --subnet")
    gw4 = [g for g in gateway if ":" not in g]
    gw6 = [g for g in gateway if ":" in g]
    options: dict[str, object] = dict(_kv(opts, "opt"))
    if "dns_upstreams" in options:
        options["dns_upstreams"] = [x for x in str(options["dns_upstreams"]).split(",") if x]
    nets = _networks(ctx)
    try:
        net = nets.create(name, driver=driver, subnet=v4[0] if v4 else None,
                          gateway=gw4[0] if gw4 else None, ip_range=ip_range,
                          internal=internal, enable_ipv6=enable_ipv6 or bool(v6),
                          subnet6=v6[0] if v6 else None, gateway6=gw6[0] if gw6 else None,
                          labels=_kv(labels, "label"), options=options)
    finally:
        nets.close()
    click.echo(net["Id"])


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs.")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter (name=, label=...).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("--no-trunc", is_flag=True, help="Do not truncate IDs.")
@click.pass_context
def ls(ctx: click.Context, quiet: bool, filters: tuple[str, ...], fmt: str,
       no_trunc: bool) -> None:
    """List networks."""
    flt = _filters(filters)
    nets = [n for n in _networks(ctx).list() if _matches(n, flt)]
    if quiet:
        for n in nets:
            click.echo(n["Id"] if no_trunc else n["Id"][:12])
    elif fmt == "json":
        for n in nets:
            click.echo(json.dumps({"ID": n["Id"][:12], "Name": n["Name"],
                                   "Driver": n["Driver"], "Scope": n["Scope"],
                                   "Internal": n["Internal"], "IPv6": n["EnableIPv6"],
                                   "Labels": n["Labels"],
                                   "Subnets": [c["Subnet"] for c in n["IPAM"]["Config"]],
                                   "Containers": len(n["Containers"])}))
    else:
        from compose.cli.tables import echo_table

        echo_table(["NETWORK ID", "NAME", "DRIVER", "SCOPE", "SUBNET"],
                   [[n["Id"] if no_trunc else n["Id"][:12], n["Name"], n["Driver"], n["Scope"],
                     ",".join(c["Subnet"] for c in n["IPAM"]["Config"])] for n in nets])


@network.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("--format", "fmt", default="json", help="'json' (default).")
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], fmt: str) -> None:
    """Display detailed information on one or more networks."""
    if fmt != "json":
        raise UsageError(f"unsupported --format {fmt!r}", hint="use --format json")
    nets = _networks(ctx)
    out, missing = [], []
    for name in names:
        try:
            out.append(nets.inspect(name))
        except NotFoundError:
            missing.append(name)
    click.echo(json.dumps(out, indent=4))
    if missing:
        raise NotFoundError(f"network {', '.join(missing)} not found")


@network.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True,
              help="Do not error if the network does not exist; disconnect endpoints.")
@click.pass_context
def rm(ctx: click.Context, names: tuple[str, ...], force: bool) -> None:
    """Remove one or more networks."""
    nets = _networks(ctx)
    errors: list[Exception] = []
    try:
        for name in names:
            try:
                nets.remove(name, force=force)
                click.echo(name)
            except NotFoundError as exc:
                if not force:
                    errors.append(exc)
            except Exception as exc:
                errors.append(exc)
    finally:
        nets.close()
    if errors:
        if len(errors) == 1:
            raise errors[0]
        for exc in errors[:-1]:
            click.echo(f"Error: {exc}", err=True)
        raise errors[-1]


@network.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, help="label=KEY[=VALUE]")
@click.pass_context
def prune(ctx: click.Context, force: bool, filters: tuple[str, ...]) -> None:
    """Remove all unused networks."""
    labels: dict[str, str | None] = {}
    for k, vals in _filters(filters).items():
        if k != "label":
            raise UsageError(f"prune supports label filters only, not {k!r}")
        for v in vals:
            key, sep, val = v.partition("=")
            labels[key] = val if sep else None
    if not force and not click.confirm(
            "WARNING! This will remove all custom networks not used by at least one "
            "container.\nAre you sure you want to continue?", default=False):
        return
    nets = _networks(ctx)
    try:
        removed = nets.prune(labels or None)
    finally:
        nets.close()
    if removed:
        click.echo("Deleted Networks:")
        for name in removed:
            click.echo(name)


def _container_netns(ctx: click.Context, ref: str, netns_path: str | None
                     ) -> tuple[str, str, str | None]:
    """(container id, netns handle, container name) of a running container.

    Bridge-mode containers keep a netns handle at ``<run_dir>/netns/<id>``
    (``runtime.network.netns.handle_path``); ``ref`` is a container name, id or unique
    id prefix.  ``--netns`` names a handle directly (tests, debugging).
    """
    from runtime.network import netns

    if netns_path:
        return ref, netns_path, None
    paths = ctx.find_root().obj.state_paths()
    cid, name = ref, None
    try:
        from runtime.container.store import ContainerStore

        store = ContainerStore(paths)
        cid = store.resolve(ref)
        name = store.load(cid).name
    except (ImportError, NotFoundError):
        d = paths.run_dir / "netns"
        hits = [p.name for p in d.iterdir() if p.name.startswith(ref)] if d.is_dir() else []
        if len(hits) == 1:
            cid = hits[0]
    handle = netns.handle_path(paths.run_dir, cid)
    if not netns.is_handle(handle):
        raise NotFoundError(f"no running container {ref} with a network namespace",
                            hint="start the container first; containers with --network "
                                 "host/none/container: cannot be connected")
    return cid, str(handle), name


@network.command("connect")
@click.argument("network_name", metavar="NETWORK")
@click.argument("container")
@click.option("--alias", "aliases", multiple=True, help="Add a network-scoped alias.")
@click.option("--ip", help="IPv4 address.")
@click.option("--ip6", help="IPv6 address.")
@click.option("--mac-address", help="MAC address of the new interface.")
@click.option("--gw-priority", type=int, default=0, help="Default-gateway priority.")
@click.option("--netns", "netns_path", hidden=True, help="Attach this netns handle.")
@click.pass_context
def connect(ctx: click.Context, network_name: str, container: str, aliases: tuple[str, ...],
            ip: str | None, ip6: str | None, mac_address: str | None, gw_priority: int,
            netns_path: str | None) -> None:
    """Connect a running container to a network."""
    cid, path, name = _container_netns(ctx, container, netns_path)
    nets = _networks(ctx)
    try:
        nets.connect(network_name, cid, path, name=name,
                     aliases=aliases, ipv4_address=ip, ipv6_address=ip6, mac=mac_address,
                     priority=gw_priority)
    finally:
        nets.close()


@network.command("disconnect")
@click.argument("network_name", metavar="NETWORK")
@click.argument("container")
@click.option("-f", "--force", is_flag=True, help="Do not error if not connected.")
@click.pass_context
def disconnect(ctx: click.Context, network_name: str, container: str, force: bool) -> None:
    """Disconnect a container from a network."""
    nets = _networks(ctx)
    try:
        cid = container
        for n in nets.list():
            hits = [c for c, info in n["Containers"].items()
                    if c.startswith(container) or info["Name"] == container]
            if len(hits) == 1:
                cid = hits[0]
                break
        nets.disconnect(network_name, cid, force=force)
    finally:
        nets.close()
