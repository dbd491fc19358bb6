"""Container names and the compose labels that find a project's objects again."""

from __future__ import annotations

from compose import labels
from compose.model.types import Project, Service


def container_name(project: Project, service: Service, number: int) -> str:
    """``<project>-<service>-<n>``, or ``container_name`` (only valid with one replica)."""
    if service.container_name:
        return service.container_name
    return f"{project.name}-{service.name}-{number}"


def oneoff_name(project: Project, service: Service, suffix: str) -> str:
    return f"{project.name}-{service.name}-run-{suffix}"


def display_name(project_name: str, container: str) -> str:
    """``web-1`` for ``demo-web-1`` (the prefix compose shows in logs)."""
    prefix = f"{project_name}-"
    return container[len(prefix):] if container.startswith(prefix) else container


def container_labels(project: Project, service: Service, number: int, config_hash: str,
                     image_id: str, *, oneoff: bool = False) -> dict[str, str]:
    """Compose's labels; ``config_hash`` is what ``config --hash`` prints, and
    ``com.docker.compose.image`` the image ID (a changed image also recreates)."""
    deps = ",".join(f"{name}:{d.condition}:{str(d.restart).lower()}"
                    for name, d in service.depends_on.items())
    out = dict(service.labels)
    out.update({
        labels.PROJECT: project.name,
        labels.SERVICE: service.name,
        labels.CONTAINER_NUMBER: str(number),
        labels.ONE_OFF: "True" if oneoff else "False",
        labels.CONFIG_HASH: config_hash,
        labels.CONFIG_FILES: ",".join(project.files),
        labels.WORKING_DIR: project.working_dir,
        labels.DEPENDS_ON: deps,
        labels.VERSION: "pycompose",
    })
    out[labels.IMAGE] = image_id
    return out


def network_labels(project: Project, key: str) -> dict[str, str]:
    return {labels.PROJECT: project.name, labels.NETWORK: key, labels.VERSION: "pycompose"}


def volume_labels(project: Project, key: str) -> dict[str, str]:
    return {labels.PROJECT: project.name, labels.VOLUME: key, labels.VERSION: "pycompose"}
