"""Service model + image config -> :class:`runtime.spec.ContainerSpec`.

Docker's rules for combining the image with the service:
* ``entrypoint`` set in the service replaces the image's ENTRYPOINT *and* drops its CMD;
  ``command`` replaces CMD.
* environment: the image's ``Env`` first, the service's (env_file, then
  ``environment``) wins; names with no value anywhere are left out.
* ``working_dir``, ``user``, ``stop_signal`` and ``healthcheck`` fall back to the image.
"""

from __future__ import annotations

import signal as _signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compose.errors import ProjectError
from compose.model.types import Project, Service
from runtime import spec as rs

DEFAULT_CPU_PERIOD = 100_000


@dataclass(frozen=True, slots=True)
class ImageInfo:
    ref: str
    id: str
    layers: tuple[Path, ...]
    config: Mapping[str, Any]


def command_line(service: Service, image_config: Mapping[str, Any]) -> tuple[str, ...]:
    if service.entrypoint is not None:
        entry = list(service.entrypoint)
        cmd = list(service.command or ())
    else:
        entry = list(image_config.get("Entrypoint") or ())
        cmd = list(service.command) if service.command is not None else \
            list(image_config.get("Cmd") or ())
    return tuple(entry + cmd)


def environment(service: Service, image_config: Mapping[str, Any]) -> tuple[str, ...]:
    env: dict[str, str] = {}
    for item in image_config.get("Env") or ():
        key, _, value = item.partition("=")
        env[key] = value
    for key, value in service.environment.items():
        if value is not None:
            env[key] = value
    return tuple(f"{k}={v}" for k, v in env.items())


def healthcheck(service: Service, image_config: Mapping[str, Any]) -> rs.Healthcheck | None:
    """The service's healthcheck over the image's HEALTHCHECK (field by field, as docker)."""
    img = image_config.get("Healthcheck") or {}
    hc = service.healthcheck
    if hc is not None and (hc.disable or hc.test[:1] == ("NONE",)):
        return None
    test = tuple(hc.test) if hc is not None and hc.test else tuple(img.get("Test") or ())
    if not test or test[0] == "NONE":
        return None

    def pick(attr: str, img_key: str, default: float) -> float:
        value = getattr(hc, attr, None) if hc is not None else None
        if value is not None:
            return float(value)
        ns = img.get(img_key)
        return ns / 1e9 if ns else default

    retries = hc.retries if hc is not None and hc.retries is not None else \
        int(img.get("Retries") or 3)
    return rs.Healthcheck(
        test=test,
        interval=pick("interval", "Interval", 30.0),
        timeout=pick("timeout", "Timeout", 30.0),
        retries=retries,
        start_period=pick("start_period", "StartPeriod", 0.0),
        start_interval=pick("start_interval", "StartInterval", 5.0),
    )


def restart_policy(service: Service) -> rs.RestartPolicy:
    value = service.restart
    if value is None and service.deploy and service.deploy.restart_policy:
        cond = service.deploy.restart_policy.condition
        value = {"none": "no", "on-failure": "on-failure", "any": "always"}.get(cond or "", "no")
        if value == "on-failure" and service.deploy.restart_policy.max_attempts:
            value = f"on-failure:{service.deploy.restart_policy.max_attempts}"
    if not value or value == "no":
        return rs.RestartPolicy()
    name, _, count = value.partition(":")
    if name not in ("always", "on-failure", "unless-stopped"):
        raise ProjectError(f"invalid restart policy {value!r}", service=service.name,
                           hint="use no, always, on-failure[:N] or unless-stopped")
    return rs.RestartPolicy(name, int(count) if count else 0)  # type: ignore[arg-type]


def resources(service: Service) -> rs.Resources:
    limits = service.deploy.resources.limits if (
        service.deploy and service.deploy.resources and service.deploy.resources.limits
    ) else None
    reservations = service.deploy.resources.reservations if (
        service.deploy and service.deploy.resources
        and service.deploy.resources.reservations) else None
    memory = service.mem_limit or (limits.memory if limits else None)
    cpus = service.cpus or (limits.cpus if limits else None)
    quota = service.cpu_quota
    period = service.cpu_period
    if cpus:
        period = period or DEFAULT_CPU_PERIOD
        quota = int(cpus * period)
    return rs.Resources(
        memory=memory,
        memory_reservation=service.mem_reservation or (
            reservations.memory if reservations else None),
        memory_swap=service.memswap_limit,
        cpu_quota=quota,
        cpu_period=period,
        cpu_shares=service.cpu_shares,
        cpuset_cpus=service.cpuset,
        pids_limit=service.pids_limit or (limits.pids if limits else None),
        oom_kill_disable=service.oom_kill_disable,
    )


def security(service: Service) -> rs.Security:
    nnp = False
    seccomp = "default"
    for opt in service.security_opt:
        key, sep, value = opt.replace("=", ":", 1).partition(":")
        if key == "no-new-privileges":
            nnp = value.lower() != "false" if sep else True
        elif key == "seccomp":
            seccomp = value or "default"
        elif key in ("label", "apparmor"):
            continue  # no SELinux/AppArmor here: accepted and ignored, as docker does
        else:
            raise ProjectError(f"unsupported security_opt {opt!r}", service=service.name,
                               hint="supported: no-new-privileges, seccomp=unconfined|PATH")
    return rs.Security(
        privileged=service.privileged,
        cap_add=tuple(service.cap_add),
        cap_drop=tuple(service.cap_drop),
        no_new_privileges=nnp,
        seccomp=seccomp,
        read_only_rootfs=service.read_only,
        sysctls=tuple(service.sysctls.items()),
        ulimits=tuple(rs.Ulimit(u.name, u.soft, u.hard) for u in service.ulimits),
    )


def log_config(service: Service) -> rs.LogConfig:
    if service.logging is None:
        return rs.LogConfig()
    driver = service.logging.driver or "json-file"
    opts = service.logging.options
    max_size = None
    if opts.get("max-size"):
        from compose.model.units import parse_bytes

        max_size = parse_bytes(opts["max-size"])
    return rs.LogConfig(driver=driver, max_size=max_size,
                        max_file=int(opts.get("max-file", 1)))


def stop_signal(service: Service, image_config: Mapping[str, Any]) -> str:
    value = service.stop_signal or image_config.get("StopSignal") or "SIGTERM"
    if value.isdigit():
        return _signal.Signals(int(value)).name
    return value if value.startswith("SIG") else f"SIG{value}"


def expose(service: Service, image_config: Mapping[str, Any]) -> tuple[tuple[int, str], ...]:
    """The image's ExposedPorts plus the service's ``expose`` (shown by ``ps``)."""
    out: dict[tuple[int, str], None] = {}
    for key in image_config.get("ExposedPorts") or {}:
        port, _, proto = str(key).partition("/")
        if port.isdigit():
            out[(int(port), proto or "tcp")] = None
    for item in service.expose:
        port, _, proto = str(item).partition("/")
        lo, _, hi = port.partition("-")
        if lo.isdigit():
            for p in range(int(lo), int(hi or lo) + 1):
                out[(p, proto or "tcp")] = None
    return tuple(out)


def build_spec(project: Project, service: Service, image: ImageInfo, *, name: str,
               labels: Mapping[str, str], mounts: Sequence[rs.Mount],
               network: rs.NetworkMode, ports: Sequence[rs.PortSpec] = (),
               hostname: str | None = None,
               command_override: Sequence[str] | None = None,
               env_override: Mapping[str, str] | None = None,
               user: str | None = None, workdir: str | None = None,
               tty: bool | None = None, stdin_open: bool | None = None,
               auto_remove: bool = False, restart: bool = True) -> rs.ContainerSpec:
    cfg = image.config
    args = tuple(command_override) if command_override is not None else \
        command_line(service, cfg)
    if not args:
        raise ProjectError("no command: the image has no CMD/ENTRYPOINT and the service "
                           "sets no command", service=service.name,
                           hint="add `command:` to the service")
    env = list(environment(service, cfg))
    for key, value in (env_override or {}).items():
        env = [e for e in env if not e.startswith(key + "=")] + [f"{key}={value}"]
    process = rs.Process(
        args=args,
        env=tuple(env),
        cwd=workdir or service.working_dir or cfg.get("WorkingDir") or "/",
        user=user if user is not None else (service.user or cfg.get("User") or ""),
        group_add=tuple(service.group_add),
        tty=service.tty if tty is None else tty,
        stdin_open=service.stdin_open if stdin_open is None else stdin_open,
    )
    return rs.ContainerSpec(
        image=image.ref,
        image_id=image.id,
        rootfs=rs.RootFS(layers=image.layers),
        process=process,
        name=name,
        hostname=hostname or service.hostname,
        domainname=service.domainname,
        labels=tuple(sorted(labels.items())),
        mounts=tuple(mounts),
        resources=resources(service),
        security=security(service),
        network=network,
        ports=tuple(ports),
        expose=expose(service, cfg),
        extra_hosts=tuple(service.extra_hosts),
        dns=tuple(service.dns),
        dns_search=tuple(service.dns_search),
        dns_options=tuple(service.dns_opt),
        shm_size=service.shm_size or 64 * 1024 * 1024,
        init=bool(service.init),
        stop_signal=stop_signal(service, cfg),
        stop_timeout=service.stop_grace_period if service.stop_grace_period is not None
        else 10.0,
        restart=restart_policy(service) if restart else rs.RestartPolicy(),
        healthcheck=healthcheck(service, cfg),
        log=log_config(service),
        auto_remove=auto_remove,
    )
