"""``pycompose system info|df|prune`` (``system check`` lives in ``cmd_system``)."""

from __future__ import annotations

import json
import os

import click


def _dir_size(path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


@click.command("info")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_obj
def info(obj, fmt):
    """Display system-wide information."""
    from compose.cli.main import VERSION
    from runtime import cgroups
    from runtime.api import Runtime
    from runtime.images import ImageStore

    paths = obj.state_paths()
    rt = Runtime(paths)
    recs = rt.containers.store.records()
    states = [r.status.value for r in recs]
    layout = cgroups.detect()
    try:
        from runtime.network.api import nat_backend

        nat = nat_backend()
    except Exception:
        nat = "unknown"
    data = {
        "ServerVersion": f"pycompose {VERSION} (daemonless)",
        "Containers": len(recs), "ContainersRunning": states.count("running"),
        "ContainersPaused": states.count("paused"),
        "ContainersStopped": states.count("exited") + states.count("created"),
        "Images": len(ImageStore(paths).list()) if paths.images.is_dir() else 0,
        "Driver": "overlay", "CgroupVersion": str(layout.version),
        "CgroupDriver": "cgroupfs", "NATBackend": nat,
        "KernelVersion": os.uname().release, "OperatingSystem": os.uname().sysname,
        "Architecture": os.uname().machine, "NCPU": os.cpu_count(),
        "RootDir": str(paths.root), "RunDir": str(paths.run_dir),
    }
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f" {key}: {value}")


@click.command("df")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_obj
def df(obj, fmt):
    """Show disk usage of images, containers and volumes."""
    from compose.cli.container_table import human_size

    paths = obj.state_paths()
    rows = []
    for kind, path in (("Images", paths.images), ("Containers", paths.containers),
                       ("Local Volumes", paths.volumes), ("Build Cache", paths.builds)):
        count = sum(1 for _ in path.iterdir()) if path.is_dir() and kind != "Images" else 0
        if kind == "Images" and path.is_dir():
            from runtime.images import ImageStore

            count = len(ImageStore(paths).list())
        rows.append({"Type": kind, "TotalCount": count,
                     "Size": _dir_size(path) if path.is_dir() else 0})
    if fmt == "json":
        for r in rows:
            click.echo(json.dumps(r))
        return
    from compose.cli.tables import echo_table

    echo_table(["TYPE", "TOTAL", "SIZE"],
               [[r["Type"], r["TotalCount"], human_size(r["Size"])] for r in rows])


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images.")
@click.option("--volumes", is_flag=True, help="Prune anonymous volumes too.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_obj
def prune(obj, all_, volumes, force):
    """Remove stopped containers, unused networks, dangling images (and volumes)."""
    from runtime.api import Runtime

    if not force and not click.confirm(
            "This will remove all stopped containers, all networks not used by at least "
            "one container, all dangling images" + (" and unused anonymous volumes" if
                                                     volumes else "") + ".\nAre you sure?",
            err=True):
        return
    paths = obj.state_paths()
    rt = Runtime(paths)
    removed = rt.containers.prune()
    click.echo(f"Deleted Containers: {len(removed)}")
    if paths.networks.is_dir():
        from runtime.network.api import Networks

        nets = Networks(paths)
        try:
            click.echo(f"Deleted Networks: {len(nets.prune())}")
        finally:
            nets.close()
    if volumes and paths.volumes.is_dir():
        from runtime.volumes.store import VolumeStore

        click.echo(f"Deleted Volumes: {len(VolumeStore(paths).prune())}")
    if paths.images.is_dir():
        from runtime.images import ImageStore

        deleted, reclaimed = ImageStore(paths).prune(all_images=all_)
        click.echo(f"Deleted Images: {len(deleted)}")
        from compose.cli.container_table import human_size

        click.echo(f"Total reclaimed space: {human_size(reclaimed)}")
