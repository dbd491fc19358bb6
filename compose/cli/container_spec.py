"""``docker run``-style flags -> :class:`runtime.spec.ContainerSpec` (pure, unit-tested).

Parsers for Docker's value syntaxes live here too: sizes (``512m``), ``--cpus``,
``--ulimit nofile=1024:2048``, ``-v host:ctr[:ro]``, ``--tmpfs /p[:opts]``,
``--restart on-failure:3``, ``--security-opt``, ``--log-opt``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.errors import InvalidInputError, PycomposeError, UsageError
from runtime.spec import (
    ContainerSpec,
    LogConfig,
    Mount,
    NetworkMode,
    Process,
    Resources,
    RestartPolicy,
    RootFS,
    Security,
    Ulimit,
)

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}


def parse_size(value: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
    if not m or m.group(2).lower() not in _UNITS:
        raise UsageError(f"invalid size: {value!r}", hint="use e.g. 512m, 1g, 65536k")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_ulimit(value: str) -> Ulimit:
    name, sep, limits = value.partition("=")
    if not sep:
        raise UsageError(f"invalid ulimit {value!r}", hint="use name=soft[:hard]")
    soft, _, hard = limits.partition(":")
    try:
        s = int(soft)
        h = int(hard) if hard else s
    except ValueError:
        raise UsageError(f"invalid ulimit {value!r}", hint="limits are integers") from None
    from runtime.kernel.consts import RLIMITS

    if name not in RLIMITS:
        raise UsageError(f"unknown ulimit {name!r}",
                         hint="one of " + ", ".join(sorted(RLIMITS)))
    if s > h:
        raise UsageError(f"ulimit {name}: soft limit {s} exceeds hard limit {h}")
    return Ulimit(name, s, h)


def parse_volume(value: str) -> Mount:
    """``-v``: ``/host:/ctr[:opts]`` (bind), ``name:/ctr[:opts]`` (named volume) or
    ``/ctr`` (anonymous volume).  Volume mounts come back with ``source=None``; the CLI
    resolves them through ``runtime.volumes.mounts.resolve_volume_mounts``."""
    from runtime.volumes.mounts import parse_mode

    parts = value.split(":")
    if len(parts) == 1:
        if not value.startswith("/"):
            raise UsageError(f"invalid volume spec {value!r}",
                             hint="use /container/path, name:/path or /host:/path[:ro]")
        return Mount(type="volume", target=value, copy_up=True)
    if len(parts) > 3:
        raise UsageError(f"invalid volume spec {value!r}", hint="use host:container[:ro]")
    source, target = parts[0], parts[1]
    try:
        mode = parse_mode(parts[2] if len(parts) == 3 else "")
    except PycomposeError as err:
        raise UsageError(err.message, hint=err.hint) from None
    if not target.startswith("/"):
        raise UsageError(f"invalid volume target {target!r}: must be an absolute path")
    if not source.startswith(("/", ".", "~")):
        return Mount(type="volume", target=target, volume_name=source,
                     read_only=mode.read_only, copy_up=not mode.nocopy)
    return Mount(type="bind", source=os.path.abspath(os.path.expanduser(source)),
                 target=target, read_only=mode.read_only,
                 propagation=mode.propagation or "rprivate")


def parse_tmpfs(value: str) -> Mount:
    target, _, opts = value.partition(":")
    if not target.startswith("/"):
        raise UsageError(f"invalid tmpfs target {target!r}: must be an absolute path")
    size = mode = None
    options = []
    for o in filter(None, opts.split(",")):
        if o.startswith("size="):
            size = parse_size(o[5:])
        elif o.startswith("mode="):
            mode = int(o[5:], 8)
        else:
            options.append(o)
    return Mount(type="tmpfs", target=target, tmpfs_size=size, tmpfs_mode=mode,
                 read_only="ro" in options,
                 options=tuple(o for o in options if o not in ("ro", "rw")))


def parse_restart(value: str) -> RestartPolicy:
    name, _, n = value.partition(":")
    if name not in ("no", "always", "on-failure", "unless-stopped"):
        raise UsageError(f"invalid restart policy {value!r}",
                         hint="no, always, on-failure[:N] or unless-stopped")
    if n and name != "on-failure":
        raise UsageError(f"maximum retry count cannot be used with restart policy {name!r}")
    try:
        retries = int(n) if n else 0
    except ValueError:
        raise UsageError(f"invalid retry count in {value!r}") from None
    return RestartPolicy(name, retries)  # type: ignore[arg-type]


def parse_env(values: tuple[str, ...], env_files: tuple[str, ...] = ()) -> tuple[str, ...]:
    out = []
    for path in env_files:
        try:
            lines = Path(path).read_text().splitlines()
        except OSError as e:
            raise InvalidInputError(f"cannot read env file {path}: {e.strerror}") from None
        out.extend(ln for ln in (x.strip() for x in lines) if ln and not ln.startswith("#"))
    out.extend(values)
    result = []
    for kv in out:
        if "=" in kv:
            result.append(kv)
        elif kv in os.environ:   # -e NAME takes the value from the caller's environment
            result.append(f"{kv}={os.environ[kv]}")
    return tuple(result)


@dataclass
class RunOptions:
    """Flags of ``container run``/``create`` as click hands them over."""

    image: str
    command: tuple[str, ...] = ()
    name: str | None = None
    env: tuple[str, ...] = ()
    env_file: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    group_add: tuple[str, ...] = ()
    interactive: bool = False
    tty: bool = False
    hostname: str | None = None
    domainname: str | None = None
    init: bool = False
    read_only: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    security_opt: tuple[str, ...] = ()
    memory: str | None = None
    memory_reservation: str | None = None
    memory_swap: str | None = None
    cpus: str | None = None
    cpu_shares: int | None = None
    cpuset_cpus: str | None = None
    pids_limit: int | None = None
    ulimit: tuple[str, ...] = ()
    sysctl: tuple[str, ...] = ()
    network: str = "none"
    publish: tuple[str, ...] = ()
    publish_all: bool = False
    expose: tuple[str, ...] = ()
    network_alias: tuple[str, ...] = ()
    ip: str | None = None
    ip6: str | None = None
    mac_address: str | None = None
    restart: str = "no"
    stop_signal: str | None = None
    stop_timeout: int | None = None
    volume: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    label: tuple[str, ...] = ()
    add_host: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_option: tuple[str, ...] = ()
    shm_size: str | None = None
    log_opt: tuple[str, ...] = ()
    rm: bool = False
    entrypoint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _security(o: RunOptions) -> tuple[bool, str]:
    nnp, seccomp = False, "default"
    for opt in o.security_opt:
        key, sep, value = opt.replace(":", "=", 1).partition("=")
        if key == "no-new-privileges":
            nnp = value.lower() in ("", "true", "1")
        elif key == "seccomp" and sep:
            seccomp = value
        elif key in ("label", "apparmor"):
            continue  # no LSM support yet: accepted and ignored, as on hosts without one
        else:
            raise UsageError(f"invalid --security-opt {opt!r}",
                             hint="no-new-privileges[:true], seccomp=unconfined|PROFILE.json")
    return nnp, seccomp


def _network(value: str, o: RunOptions | None = None) -> NetworkMode:
    """``none``/``host``/``bridge`` (a netns with only lo)/``container:NAME``, or the name
    of a pycompose network: bridge mode attached to it (``--network-alias``, ``--ip``,
    ``--ip6``, ``--mac-address`` apply to that attachment)."""
    if value in ("none", "host", "bridge"):
        return NetworkMode(value)  # type: ignore[arg-type]
    if value.startswith("container:"):
        return NetworkMode("container", value.split(":", 1)[1])
    if value and "/" not in value:
        from runtime.spec import NetworkAttachment

        return NetworkMode("bridge", attachments=(NetworkAttachment(
            value, aliases=o.network_alias if o else (), ipv4_address=o.ip if o else None,
            ipv6_address=o.ip6 if o else None,
            mac_address=o.mac_address if o else None),))
    raise UsageError(f"unsupported --network {value!r} for `container run`",
                     hint="none, host, bridge, container:NAME or a network name")


def _ports(o: RunOptions, cfg: dict[str, Any]) -> dict[str, Any]:
    """``-p``/``-P``/``--expose`` -> ContainerSpec fields (exposed = image + --expose)."""
    if not (o.publish or o.publish_all or o.expose or cfg.get("ExposedPorts")):
        return {"ports": (), "expose": (), "publish_all": False}  # no ipaddress import
    from runtime.network.ports import parse, parse_expose

    if (o.publish or o.publish_all) and not _network(o.network, o).attachments:
        raise UsageError("publishing ports needs a network",
                         hint="create one (pycompose network create NAME) and pass "
                              "--network NAME")
    exposed = parse_expose([*(cfg.get("ExposedPorts") or {}), *o.expose])
    return {"ports": tuple(parse(list(o.publish))), "expose": tuple(exposed),
            "publish_all": o.publish_all}


def build_spec(o: RunOptions, image_ref: str, image_id: str, layers: tuple[Path, ...],
               image_config: dict[str, Any]) -> ContainerSpec:
    cfg = image_config or {}
    entrypoint = (o.entrypoint.split() if o.entrypoint is not None
                  else list(cfg.get("Entrypoint") or []))
    cmd = list(o.command) or ([] if o.entrypoint is not None else list(cfg.get("Cmd") or []))
    args = tuple(entrypoint + cmd)
    if not args:
        raise UsageError("no command specified",
                         hint="give a command after the image (the image has no default)")
    if o.rm and o.restart not in ("no", ""):
        raise UsageError("conflicting options: --restart and --rm",
                         hint="a container removed when it exits cannot be restarted")
    nnp, seccomp = _security(o)
    cpu_quota = cpu_period = None
    if o.cpus:
        try:
            cpus = float(o.cpus)
        except ValueError:
            raise UsageError(f"invalid --cpus {o.cpus!r}") from None
        cpu_period, cpu_quota = 100_000, int(cpus * 100_000)
    log = LogConfig()
    for opt in o.log_opt:
        k, _, v = opt.partition("=")
        if k == "max-size":
            log = LogConfig(log.driver, parse_size(v), log.max_file)
        elif k == "max-file":
            log = LogConfig(log.driver, log.max_size, int(v))
        else:
            raise UsageError(f"unsupported --log-opt {opt!r}", hint="max-size, max-file")
    sysctls = []
    for s in o.sysctl:
        k, sep, v = s.partition("=")
        if not sep:
            raise UsageError(f"invalid --sysctl {s!r}", hint="use key=value")
        sysctls.append((k, v))
    labels = tuple((kv.partition("=")[0], kv.partition("=")[2]) for kv in o.label)
    hosts = []
    for h in o.add_host:
        name, sep, ip = h.partition(":")
        if not sep:
            raise UsageError(f"invalid --add-host {h!r}", hint="use host:ip")
        hosts.append((name, ip))
    env = tuple(cfg.get("Env") or ()) + parse_env(o.env, o.env_file)
    return ContainerSpec(
        image=image_ref, image_id=image_id,
        rootfs=RootFS(tuple(layers)),
        process=Process(args=args, env=env, cwd=o.workdir or cfg.get("WorkingDir") or "/",
                        user=o.user if o.user is not None else cfg.get("User", ""),
                        group_add=o.group_add, tty=o.tty, stdin_open=o.interactive),
        name=o.name, hostname=o.hostname, domainname=o.domainname, labels=labels,
        mounts=tuple(parse_volume(v) for v in o.volume) + tuple(parse_tmpfs(t)
                                                               for t in o.tmpfs),
        resources=Resources(
            memory=parse_size(o.memory) if o.memory else None,
            memory_reservation=parse_size(o.memory_reservation) if o.memory_reservation
            else None,
            memory_swap=-1 if o.memory_swap == "-1" else
            parse_size(o.memory_swap) if o.memory_swap else None,
            cpu_quota=cpu_quota, cpu_period=cpu_period, cpu_shares=o.cpu_shares,
            cpuset_cpus=o.cpuset_cpus, pids_limit=o.pids_limit),
        security=Security(privileged=o.privileged, cap_add=o.cap_add, cap_drop=o.cap_drop,
                          no_new_privileges=nnp, seccomp=seccomp,
                          read_only_rootfs=o.read_only, sysctls=tuple(sysctls),
                          ulimits=tuple(parse_ulimit(u) for u in o.ulimit)),
        network=_network(o.network, o), **_ports(o, cfg),
        extra_hosts=tuple(hosts), dns=o.dns, dns_search=o.dns_search,
        dns_options=o.dns_option,
        shm_size=parse_size(o.shm_size) if o.shm_size else 64 << 20,
        init=o.init,
        stop_signal=o.stop_signal or cfg.get("StopSignal") or "SIGTERM",
        stop_timeout=float(o.stop_timeout) if o.stop_timeout is not None else 10.0,
        restart=parse_restart(o.restart), log=log, auto_remove=o.rm,
    )
