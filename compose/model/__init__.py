"""The typed, immutable compose model (see :mod:`compose.model.types`).

Build one with :func:`compose.project_loader.load_project`."""

from compose.model.types import (
    Build,
    Config,
    DependsOn,
    Deploy,
    Healthcheck,
    Logging,
    Network,
    Port,
    Project,
    Resources,
    Secret,
    Service,
    ServiceNetwork,
    ServiceVolume,
    Ulimit,
    Volume,
)

__all__ = [
    "Build",
    "Config",
    "DependsOn",
    "Deploy",
    "Healthcheck",
    "Logging",
    "Network",
    "Port",
    "Project",
    "Resources",
    "Secret",
    "Service",
    "ServiceNetwork",
    "ServiceVolume",
    "Ulimit",
    "Volume",
]
