"""What a container is, as the runtime receives it: a typed, immutable specification.

The orchestrator (``compose``), the CLI (``container run`` flags) and the builder all
translate their input into a :class:`ContainerSpec`; the runtime never sees compose
dicts.  Sizes are bytes, durations are seconds (float), signals are names (``SIGTERM``).
Defaults follow ``docker run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

MountType = Literal["bind", "volume", "tmpfs"]


@dataclass(frozen=True, slots=True)
class Mount:
    """A mount inside the container, applied after the rootfs and before pivot_root.

    ``volume`` mounts are bind mounts of a volume's ``_data`` directory (``source``);
    ``volume_name`` lets ``inspect`` and ``rm -v`` find the volume again.
    """

    type: MountType
    target: str
    source: str | None = None
    read_only: bool = False
    propagation: str = "rprivate"
    volume_name: str | None = None
    copy_up: bool = False            # fill an empty volume from the image at ``target``
    tmpfs_size: int | None = None
    tmpfs_mode: int | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RootFS:
    """Overlay lower directories, topmost first (overlayfs ``lowerdir`` order)."""

    layers: tuple[Path, ...]
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class Process:
    args: tuple[str, ...]
    env: tuple[str, ...] = ()         # "KEY=value"
    cwd: str = "/"
    user: str = ""                    # "", "uid", "uid:gid", "name", "name:group"
    group_add: tuple[str, ...] = ()
    tty: bool = False
    stdin_open: bool = False


@dataclass(frozen=True, slots=True)
class Ulimit:
    name: str                         # "nofile", "nproc", ...
    soft: int
    hard: int


@dataclass(frozen=True, slots=True)
class Resources:
    memory: int | None = None                 # memory limit (bytes)
    memory_reservation: int | None = None
    memory_swap: int | None = None            # memory + swap (docker semantics), -1 = unlimited
    cpu_quota: int | None = None              # microseconds per period
    cpu_period: int | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    pids_limit: int | None = None
    oom_kill_disable: bool = False


@dataclass(frozen=True, slots=True)
class Security:
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    no_new_privileges: bool = False
    seccomp: str = "default"                  # "default" | "unconfined" | path to JSON profile
    read_only_rootfs: bool = False
    masked_paths: tuple[str, ...] | None = None     # None = Docker's defaults
    readonly_paths: tuple[str, ...] | None = None
    sysctls: tuple[tuple[str, str], ...] = ()
    ulimits: tuple[Ulimit, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkAttachment:
    """A network a bridge-mode container joins when it starts (compose ``networks:``).
    ``aliases`` are extra DNS names on that network (compose adds the service name);
    the highest ``priority`` network holds the default route (``gw_priority``)."""

    network: str                              # network name or id
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    mac_address: str | None = None
    priority: int = 0


@dataclass(frozen=True, slots=True)
class NetworkMode:
    """``bridge``: the runtime creates a netns handle before start and the network layer
    wires it (connecting ``attachments``, see ``runtime.network.hooks``); ``none``: a
    fresh netns with only ``lo``; ``host``: the host's netns; ``container``: join the
    netns of container ``target``."""

    kind: Literal["bridge", "none", "host", "container"] = "none"
    target: str | None = None
    attachments: tuple[NetworkAttachment, ...] = ()


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One requested port publication (``ports:``/``-p``; parsed by
    ``runtime.network.ports``).  ``host_port_min..host_port_max`` is the allowed host
    port range; both ``None``: any free port."""

    target: int
    protocol: str = "tcp"
    host_ip: str = ""                         # "" = every host address (and 127.0.0.1)
    host_port_min: int | None = None
    host_port_max: int | None = None

    @property
    def random(self) -> bool:
        return self.host_port_min is None


@dataclass(frozen=True, slots=True)
class Healthcheck:
    test: tuple[str, ...]                     # ("CMD", ...) | ("CMD-SHELL", cmd) | ("NONE",)
    interval: float = 30.0
    timeout: float = 30.0
    retries: int = 3
    start_period: float = 0.0
    start_interval: float = 5.0


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    name: Literal["no", "always", "on-failure", "unless-stopped"] = "no"
    max_retries: int = 0                      # on-failure:N (0 = unlimited)


@dataclass(frozen=True, slots=True)
class LogConfig:
    driver: str = "json-file"
    max_size: int | None = None               # bytes; None = no rotation
    max_file: int = 1


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    image: str                                # reference as the user wrote it, for display
    image_id: str                             # "sha256:..." or "" for a plain rootfs dir
    rootfs: RootFS
    process: Process
    name: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    mounts: tuple[Mount, ...] = ()
    resources: Resources = field(default_factory=Resources)
    security: Security = field(default_factory=Security)
    network: NetworkMode = field(default_factory=NetworkMode)
    extra_hosts: tuple[tuple[str, str], ...] = ()   # (hostname, ip)
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    ports: tuple[PortSpec, ...] = ()          # published on the first attachment's network
    expose: tuple[tuple[int, str], ...] = ()  # (port, protocol): image + ``expose``
    publish_all: bool = False                 # -P: every exposed port to a random port
    shm_size: int = 64 * 1024 * 1024
    init: bool = False
    stop_signal: str = "SIGTERM"
    stop_timeout: float = 10.0
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    healthcheck: Healthcheck | None = None
    log: LogConfig = field(default_factory=LogConfig)
    auto_remove: bool = False                 # --rm
