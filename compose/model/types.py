"""The typed, immutable compose model.

Everything after the loader works on these objects, never on raw dicts.  Every short
syntax is already expanded to its long form (ports, volumes, depends_on, networks,
secrets/configs, environment/labels as maps, healthcheck durations in seconds, sizes in
bytes).  Each object remembers where it was written (``pos``, excluded from equality).

Conventions:
* optional values are ``None`` when the file did not set them (Compose's defaults are
  applied by the consumer or documented on the field);
* sequences are tuples, mappings are read-only ``Mapping`` (:class:`FrozenMap`);
* a few rarely used, engine-specific blocks (``develop``, ``blkio_config``,
  ``credential_spec``, ``provider``, ``gpus``, ``models``, ``deploy.placement``) are kept
  as read-only plain data (``Mapping``): validated by the schema, not interpreted yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from compose.errors import Pos

_C = TypeVar("_C", bound=type)


class _Value:
    """Equality, hash and repr for the model classes, written once.

    ``dataclasses`` generates (and ``exec``s) these methods per class, which is most of
    the cost of importing this module (~45 classes, ``Service`` has ~100 fields) and
    is paid on every ``pycompose`` start; sharing one implementation halves it."""

    __slots__ = ()
    _cmp: tuple[str, ...] = ()
    _rep: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._cmp)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in self._cmp))

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._rep)
        return f"{type(self).__name__}({args})"


def model(cls: _C | None = None, *, kw_only: bool = False) -> Any:
    """``@dataclass(frozen=True, slots=True)`` with the shared methods of _Value."""

    def wrap(c: _C) -> _C:
        out = dataclass(frozen=True, slots=True, eq=False, repr=False, kw_only=kw_only)(c)
        out._cmp = tuple(f.name for f in fields(out) if f.compare)
        out._rep = tuple(f.name for f in fields(out) if f.repr)
        return out

    return wrap if cls is None else wrap(cls)


class FrozenMap(Mapping[str, Any]):
    """A read-only, hashable mapping (a dataclass default must be hashable)."""

    __slots__ = ("_d",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._d = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return hash(tuple(self._d))

    def __repr__(self) -> str:
        return f"FrozenMap({self._d!r})"


EMPTY: Mapping[str, Any] = FrozenMap()


def frozen_map(d: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if isinstance(d, FrozenMap):
        return d
    return FrozenMap(d) if d else EMPTY


@model
class Port(_Value):
    """One published or exposed port mapping (ranges are expanded one per port)."""

    target: int
    published: str | None = None     # host port ("8080") or host range ("8000-8010")
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    app_protocol: str | None = None
    name: str | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)

    def published_range(self) -> tuple[int, int] | None:
        if not self.published:
            return None
        lo, _, hi = self.published.partition("-")
        return int(lo), int(hi or lo)


@model
class BindOptions(_Value):
    propagation: str | None = None
    create_host_path: bool = True
    selinux: str | None = None
    recursive: str | None = None


@model
class VolumeOptions(_Value):
    nocopy: bool = False
    subpath: str | None = None


@model
class TmpfsOptions(_Value):
    size: int | None = None    # bytes
    mode: int | None = None    # file mode bits


@model
class ServiceVolume(_Value):
    """A mount: ``bind`` (source = absolute host path), ``volume`` (source = the key of a
    top-level volume, or None for an anonymous volume), ``tmpfs``, ``image``..."""

    type: str
    target: str
    source: str | None = None
    read_only: bool = False
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None
    image_subpath: str | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


@model
class DependsOn(_Value):
    service: str
    condition: str = "service_started"
    required: bool = True
    restart: bool = False
    via: str = "depends_on"   # or the key that implied it: links, volumes_from,
                              # network_mode, ipc, pid, uts, cgroup
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def implicit(self) -> bool:
        return self.via != "depends_on"


@model
class Healthcheck(_Value):
    test: tuple[str, ...] = ()          # ("CMD", ...) / ("CMD-SHELL", cmd) / ("NONE",)
    interval: float | None = None       # seconds
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None
    disable: bool = False
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


@model
class ServiceNetwork(_Value):
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: tuple[str, ...] = ()
    mac_address: str | None = None
    interface_name: str | None = None
    driver_opts: Mapping[str, str] = EMPTY
    priority: int | None = None
    gw_priority: int | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


@model
class FileRef(_Value):
    """A secret or config given to a service (long form)."""

    source: str
    target: str            # absolute path in the container
    uid: str | None = None
    gid: str | None = None
    mode: int | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


@model
class Ulimit(_Value):
    name: str
    soft: int
    hard: int


@model
class Logging(_Value):
    driver: str | None = None
    options: Mapping[str, str] = EMPTY


@model
class Device(_Value):
    source: str
    target: str
    permissions: str = "rwm"


@model
class EnvFile(_Value):
    path: str              # absolute
    required: bool = True
    format: str | None = None
    where: tuple = field(default=(), compare=False, repr=False)  # path in the file


@model
class Hook(_Value):
    """``post_start``/``pre_stop``/``pre_start`` hook."""

    command: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: Mapping[str, str | None] = EMPTY
    image: str | None = None       # pre_start only (defaults to the service's image)
    per_replica: bool = False


@model
class DeviceRequest(_Value):
    capabilities: tuple[str, ...] = ()
    count: int | None = None          # -1 = all
    device_ids: tuple[str, ...] = ()
    driver: str | None = None
    options: Mapping[str, str] = EMPTY


@model
class ResourceSpec(_Value):
    cpus: float | None = None
    memory: int | None = None        # bytes
    pids: int | None = None
    devices: tuple[DeviceRequest, ...] = ()


@model
class Resources(_Value):
    limits: ResourceSpec | None = None
    reservations: ResourceSpec | None = None


@model
class RestartPolicy(_Value):
    condition: str | None = None
    delay: float | None = None
    max_attempts: int | None = None
    window: float | None = None


@model
class UpdateConfig(_Value):
    parallelism: int | None = None
    delay: float | None = None
    failure_action: str | None = None
    monitor: float | None = None
    max_failure_ratio: float | None = None
    order: str | None = None


@model
class Deploy(_Value):
    mode: str | None = None
    replicas: int | None = None
    endpoint_mode: str | None = None
    labels: Mapping[str, str] = EMPTY
    resources: Resources | None = None
    restart_policy: RestartPolicy | None = None
    update_config: UpdateConfig | None = None
    rollback_config: UpdateConfig | None = None
    placement: Mapping[str, Any] = EMPTY


@model
class Build(_Value):
    context: str                       # absolute path, or a URL left as written
    dockerfile: str | None = "Dockerfile"
    dockerfile_inline: str | None = None
    args: Mapping[str, str | None] = EMPTY
    ssh: Mapping[str, str | None] = EMPTY
    labels: Mapping[str, str] = EMPTY
    cache_from: tuple[str, ...] = ()
    cache_to: tuple[str, ...] = ()
    no_cache: bool = False
    no_cache_filter: tuple[str, ...] = ()
    additional_contexts: Mapping[str, str] = EMPTY
    network: str | None = None
    pull: bool = False
    target: str | None = None
    shm_size: int | None = None
    extra_hosts: tuple[tuple[str, str], ...] = ()
    isolation: str | None = None
    privileged: bool = False
    secrets: tuple[FileRef, ...] = ()
    tags: tuple[str, ...] = ()
    ulimits: tuple[Ulimit, ...] = ()
    platforms: tuple[str, ...] = ()
    entitlements: tuple[str, ...] = ()
    provenance: str | None = None
    sbom: str | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


@model(kw_only=True)
class Service(_Value):
    """One service, every attribute in long form.  Unset optional attributes are None
    (or empty); documented defaults are the runtime's to apply."""

    name: str
    image: str | None = None
    build: Build | None = None
    command: tuple[str, ...] | None = None       # None: keep the image's CMD
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str | None] = EMPTY  # env_file values, then `environment`;
                                                   # None = bare name not set anywhere
    env_file: tuple[EnvFile, ...] = ()
    label_file: tuple[str, ...] = ()
    labels: Mapping[str, str] = EMPTY
    annotations: Mapping[str, str] = EMPTY
    profiles: tuple[str, ...] = ()
    depends_on: Mapping[str, DependsOn] = EMPTY
    # process
    working_dir: str | None = None
    user: str | None = None
    restart: str | None = None            # no | always | on-failure[:N] | unless-stopped
    init: bool | None = None
    tty: bool = False
    stdin_open: bool = False
    attach: bool = True
    stop_signal: str | None = None
    stop_grace_period: float | None = None  # seconds
    scale: int | None = None
    container_name: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    platform: str | None = None
    pull_policy: str | None = None
    pull_refresh_after: float | None = None
    runtime: str | None = None
    healthcheck: Healthcheck | None = None
    logging: Logging | None = None
    post_start: tuple[Hook, ...] = ()
    pre_start: tuple[Hook, ...] = ()
    pre_stop: tuple[Hook, ...] = ()
    # networking
    network_mode: str | None = None
    networks: Mapping[str, ServiceNetwork] = EMPTY
    ports: tuple[Port, ...] = ()
    expose: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    extra_hosts: tuple[tuple[str, str], ...] = ()
    links: tuple[str, ...] = ()
    external_links: tuple[str, ...] = ()
    mac_address: str | None = None
    # storage
    volumes: tuple[ServiceVolume, ...] = ()
    volumes_from: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    secrets: tuple[FileRef, ...] = ()
    configs: tuple[FileRef, ...] = ()
    storage_opt: Mapping[str, str] = EMPTY
    # resources
    cpus: float | None = None
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpu_rt_period: int | None = None
    cpu_rt_runtime: int | None = None
    cpu_count: int | None = None
    cpu_percent: int | None = None
    cpuset: str | None = None
    mem_limit: int | None = None          # bytes
    mem_reservation: int | None = None
    mem_swappiness: int | None = None
    memswap_limit: int | None = None      # bytes; -1 = unlimited
    pids_limit: int | None = None
    oom_kill_disable: bool = False
    oom_score_adj: int | None = None
    shm_size: int | None = None
    ulimits: tuple[Ulimit, ...] = ()
    devices: tuple[Device, ...] = ()
    device_cgroup_rules: tuple[str, ...] = ()
    # security and namespaces
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    read_only: bool = False
    userns_mode: str | None = None
    group_add: tuple[str, ...] = ()
    ipc: str | None = None
    pid: str | None = None
    uts: str | None = None
    cgroup: str | None = None
    cgroup_parent: str | None = None
    sysctls: Mapping[str, str] = EMPTY
    isolation: str | None = None
    use_api_socket: bool = False
    deploy: Deploy | None = None
    # kept as validated plain data (see module docstring)
    develop: Mapping[str, Any] = EMPTY
    blkio_config: Mapping[str, Any] = EMPTY
    credential_spec: Mapping[str, Any] = EMPTY
    provider: Mapping[str, Any] = EMPTY
    gpus: Any = None
    models: Mapping[str, Any] = EMPTY
    extensions: Mapping[str, Any] = EMPTY   # x-* keys
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)

    @property
    def replicas(self) -> int:
        """How many containers: ``scale``, else ``deploy.replicas``, else 1."""
        if self.scale is not None:
            return self.scale
        if self.deploy is not None and self.deploy.replicas is not None:
            return self.deploy.replicas
        return 1

    def service_refs(self) -> set[str]:
        """Every other service this one needs (explicit and implicit dependencies)."""
        return set(self.depends_on)


@model
class IpamPool(_Value):
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: Mapping[str, str] = EMPTY


@model
class Ipam(_Value):
    driver: str | None = None
    config: tuple[IpamPool, ...] = ()
    options: Mapping[str, str] = EMPTY


@model(kw_only=True)
class Network(_Value):
    key: str                  # the name used in the compose file
    name: str                 # the real name: `name:`, external name, or <project>_<key>
    driver: str | None = None
    driver_opts: Mapping[str, str] = EMPTY
    ipam: Ipam | None = None
    external: bool = False
    internal: bool = False
    enable_ipv4: bool | None = None
    enable_ipv6: bool | None = None
    attachable: bool = False
    labels: Mapping[str, str] = EMPTY
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


@model(kw_only=True)
class Volume(_Value):
    key: str
    name: str
    driver: str | None = None
    driver_opts: Mapping[str, str] = EMPTY
    external: bool = False
    labels: Mapping[str, str] = EMPTY
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


@model(kw_only=True)
class Secret(_Value):
    """A top-level secret (``file``/``environment``/``external``...).  Also used for
    configs, which can have inline ``content``."""

    key: str
    name: str
    file: str | None = None           # absolute path
    environment: str | None = None    # variable name
    content: str | None = None        # configs only
    external: bool = False
    labels: Mapping[str, str] = EMPTY
    driver: str | None = None
    driver_opts: Mapping[str, str] = EMPTY
    template_driver: str | None = None
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


Config = Secret


@model(kw_only=True)
class Model(_Value):
    key: str
    model: str
    name: str | None = None
    context_size: int | None = None
    runtime_flags: tuple[str, ...] = ()
    pos: Pos | None = field(default=None, compare=False, repr=False, kw_only=True)


@model(kw_only=True)
class Project(_Value):
    name: str
    working_dir: str
    services: Mapping[str, Service]
    networks: Mapping[str, Network] = EMPTY
    volumes: Mapping[str, Volume] = EMPTY
    secrets: Mapping[str, Secret] = EMPTY
    configs: Mapping[str, Secret] = EMPTY
    models: Mapping[str, Model] = EMPTY
    files: tuple[str, ...] = ()
    environment: Mapping[str, str] = EMPTY   # interpolation environment
    profiles: tuple[str, ...] = ()           # enabled profiles
    disabled_services: Mapping[str, Service] = EMPTY  # filtered out by profiles
    extensions: Mapping[str, Any] = EMPTY
    warnings: tuple[str, ...] = ()

    def service(self, name: str) -> Service:
        """The named service; raises NoSuchService with a did-you-mean."""
        try:
            return self.services[name]
        except KeyError:
            from compose.errors import NoSuchService

            raise NoSuchService(name, self.services) from None

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(self.services)

    def all_profiles(self) -> tuple[str, ...]:
        """Every profile any service (enabled or not) names, sorted."""
        names = {p for s in (*self.services.values(), *self.disabled_services.values())
                 for p in s.profiles}
        return tuple(sorted(names))
