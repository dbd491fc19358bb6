"""Build the typed model from the merged, schema-checked tree (the "normalize" pass).

Expands every short syntax to its long form, converts interpolated strings to the
types Compose expects, resolves relative paths against the project directory, reads
``env_file`` files, adds Compose's defaults (the ``default`` network, resource names
``<project>_<key>``, ``dockerfile: Dockerfile``, implicit dependencies from ``links``,
``network_mode``/``ipc``/``pid``/``uts``/``cgroup: service:x`` and ``volumes_from``).

Problems are collected as :class:`~compose.errors.ConfigIssue` with the position of the
offending value, never raised one by one.  Subtrees the schema already rejected are
skipped (``skip``) so one mistake is reported once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from compose.errors import ConfigIssue, Pos
from compose.model import parse as P
from compose.model import types as T
from compose.model.units import parse_bytes, parse_duration

Path = tuple[Any, ...]

_REMOTE = ("http://", "https://", "git://", "git@", "ssh://", "github.com/",
           "docker-image://", "oci-layout://", "service:", "target:")
_SERVICE_REF_KEYS = ("network_mode", "ipc", "pid", "uts", "cgroup")


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


class Builder:
    def __init__(self, data: Mapping[str, Any], positions: Any, *, project_name: str,
                 project_dir: str, environment: Mapping[str, str],
                 skip: Iterable[Path] = (), read_env_files: bool = True,
                 resolve_paths: bool = True) -> None:
        self.data = data
        self.positions = positions
        self.project = project_name
        self.dir = project_dir
        self.env = environment
        self.skip = set(map(tuple, skip))
        self.read_env_files = read_env_files
        self.resolve_paths = resolve_paths
        self.issues: list[ConfigIssue] = []
        # env_file/label_file problems per service: Compose only reports them for the
        # services a command works on (see build_project)
        self.env_issues: dict[str, list[ConfigIssue]] = {}
        self.files_read: list[str] = []   # env files read (inputs of the result)

    # --- helpers --------------------------------------------------------------------
    def pos(self, path: Path) -> Pos | None:
        if self.positions is None:
            return None
        p = self.positions.get(path)
        return p if p is not None else self.positions.nearest(path)

    def err(self, path: Path, message: str, hint: str | None = None) -> None:
        self.issues.append(ConfigIssue(self.pos(path), format_path(path), message, hint))

    def skipped(self, path: Path) -> bool:
        return any(path[:n] in self.skip for n in range(1, len(path) + 1))

    def conv(self, fn: Callable[[Any], Any], value: Any, path: Path) -> Any:
        """``fn(value)``; a ValueError becomes an issue at ``path`` and gives None."""
        if value is None:
            return None
        try:
            return fn(value)
        except ValueError as e:
            self.err(path, str(e))
            return None

    def path_abs(self, p: str | None) -> str | None:
        if p is None or not self.resolve_paths:
            return p
        if p.startswith(_REMOTE) or "://" in p:
            return p
        p = os.path.expanduser(p)
        return os.path.normpath(os.path.join(self.dir, p))

    def kv(self, value: Any, path: Path) -> dict[str, str | None]:
        if value is None:
            return {}
        try:
            return P.parse_key_values(value)
        except ValueError as e:  # pragma: no cover - the schema guarantees the shape
            self.err(path, str(e))
            return {}

    def kv_str(self, value: Any, path: Path) -> Mapping[str, str]:
        """labels & co: list or map -> map; bare keys become empty strings."""
        return T.frozen_map({k: ("" if v is None else v)
                             for k, v in self.kv(value, path).items()})

    def strs(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, (list, tuple)):
            return tuple(P.scalar_str(v) for v in value)
        return (P.scalar_str(value),)

    # --- project --------------------------------------------------------------------
    def build(self) -> T.Project:
        d = self.data
        networks = self.networks(d.get("networks") or {})
        volumes = {k: self.volume(k, v) for k, v in (d.get("volumes") or {}).items()
                   if not self.skipped(("volumes", k))}
        secrets = {k: self.secret("secrets", k, v) for k, v in (d.get("secrets") or {}).items()
                   if not self.skipped(("secrets", k))}
        configs = {k: self.secret("configs", k, v) for k, v in (d.get("configs") or {}).items()
                   if not self.skipped(("configs", k))}
        models = {}
        for k, v in (d.get("models") or {}).items():
            if self.skipped(("models", k)) or not isinstance(v, dict):
                continue
            models[k] = T.Model(key=k, model=str(v.get("model")), name=v.get("name"),
                                context_size=self.conv(P.to_int, v.get("context_size"),
                                                       ("models", k, "context_size")),
                                runtime_flags=self.strs(v.get("runtime_flags")),
                                pos=self.pos(("models", k)))
        services: dict[str, T.Service] = {}
        for name, svc in (d.get("services") or {}).items():
            if self.skipped(("services", name)):
                continue
            services[name] = self.service(name, svc if isinstance(svc, dict) else {})
        if any("default" in s.networks for s in services.values()) and \
                "default" not in networks:
            networks["default"] = T.Network(key="default", name=f"{self.project}_default")
        return T.Project(
            name=self.project, working_dir=self.dir,
            services=T.frozen_map(dict(sorted(services.items()))),
            networks=T.frozen_map(networks), volumes=T.frozen_map(volumes),
            secrets=T.frozen_map(secrets), configs=T.frozen_map(configs),
            models=T.frozen_map(models),
            extensions=T.frozen_map({k: v for k, v in d.items() if k.startswith("x-")}),
        )

    def resource_name(self, key: str, v: Mapping[str, Any], section: str) -> tuple[str, bool]:
        ext = v.get("external")
        external = False
        ext_name = None
        if isinstance(ext, dict):
            external = True
            ext_name = ext.get("name")
        elif ext is not None:
            external = bool(self.conv(P.to_bool, ext, (section, key, "external")))
        name = v.get("name")
        if ext_name is not None:
            if name is not None and name != ext_name:
                self.err((section, key), "name and external.name conflict; only use name")
            name = name or ext_name
        if name is None:
            name = key if external else f"{self.project}_{key}"
        return str(name), external

    def networks(self, raw: Mapping[str, Any]) -> dict[str, T.Network]:
        out: dict[str, T.Network] = {}
        for key, v in raw.items():
            path = ("networks", key)
            if self.skipped(path):
                continue
            v = v or {}
            name, external = self.resource_name(key, v, "networks")
            ipam = None
            if isinstance(v.get("ipam"), dict):
                ip = v["ipam"]
                ipam = T.Ipam(
                    driver=ip.get("driver"),
                    config=tuple(T.IpamPool(subnet=c.get("subnet"), ip_range=c.get("ip_range"),
                                            gateway=c.get("gateway"),
                                            aux_addresses=T.frozen_map(c.get("aux_addresses")))
                                 for c in ip.get("config") or () if isinstance(c, dict)),
                    options=T.frozen_map(ip.get("options")))
            b = lambda k, _v=v, _p=path: self.conv(P.to_bool, _v.get(k), (*_p, k))  # noqa: E731
            out[key] = T.Network(
                key=key, name=name, driver=v.get("driver"),
                driver_opts=T.frozen_map({k: P.scalar_str(x) for k, x in
                                          (v.get("driver_opts") or {}).items()}),
                ipam=ipam, external=external, internal=bool(b("internal")),
                enable_ipv4=b("enable_ipv4"), enable_ipv6=b("enable_ipv6"),
                attachable=bool(b("attachable")),
                labels=self.kv_str(v.get("labels"), (*path, "labels")), pos=self.pos(path))
        return out

    def volume(self, key: str, v: Any) -> T.Volume:
        v = v or {}
        name, external = self.resource_name(key, v, "volumes")
        return T.Volume(key=key, name=name, driver=v.get("driver"),
                        driver_opts=T.frozen_map({k: P.scalar_str(x) for k, x in
                                                  (v.get("driver_opts") or {}).items()}),
                        external=external,
                        labels=self.kv_str(v.get("labels"), ("volumes", key, "labels")),
                        pos=self.pos(("volumes", key)))

    def secret(self, section: str, key: str, v: Any) -> T.Secret:
        v = v or {}
        path = (section, key)
        name, external = self.resource_name(key, v, section)
        if not external and v.get("name") is None:
            name = f"{self.project}_{key}"
        sources = [s for s in ("file", "environment", "content") if v.get(s) is not None]
        if not external and not sources and not v.get("driver"):
            what = "file, environment or content" if section == "configs" else \
                "file or environment"
            self.err(path, f"{section[:-1]} {key!r} has no source: set {what}, or "
                     "external: true")
        elif len(sources) > 1:
            self.err(path, f"{section[:-1]} {key!r} sets more than one source "
                     f"({', '.join(sources)})")
        return T.Secret(key=key, name=name, file=self.path_abs(v.get("file")),
                        environment=v.get("environment"), content=v.get("content"),
                        external=external, labels=self.kv_str(v.get("labels"),
                                                              (*path, "labels")),
                        driver=v.get("driver"),
                        driver_opts=T.frozen_map(v.get("driver_opts")),
                        template_driver=v.get("template_driver"), pos=self.pos(path))

    # --- services -------------------------------------------------------------------
    def service(self, name: str, s: Mapping[str, Any]) -> T.Service:
        p: Path = ("services", name)
        kw: dict[str, Any] = {"name": name, "pos": self.pos(p)}
        if self.skip:  # attributes the schema rejected are left out (reported once)
            s = {k: v for k, v in s.items() if not self.skipped((*p, k))}
        g = s.get

        def conv(key: str, fn: Callable[[Any], Any]) -> Any:
            v = g(key)
            return None if v is None else self.conv(fn, v, (*p, key))

        for key in ("image", "working_dir", "user", "restart", "stop_signal",
                    "container_name", "hostname", "domainname", "platform", "pull_policy",
                    "runtime", "network_mode", "mac_address", "cpuset", "userns_mode",
                    "ipc", "pid", "uts", "cgroup", "cgroup_parent", "isolation"):
            if g(key) is not None:
                kw[key] = P.scalar_str(g(key))
        for key in ("tty", "stdin_open", "privileged", "read_only", "oom_kill_disable",
                    "use_api_socket"):
            if key in s:
                v = conv(key, P.to_bool)
                if v is not None:
                    kw[key] = v
        if g("init") is not None:
            kw["init"] = conv("init", P.to_bool)
        if g("attach") is not None:
            kw["attach"] = bool(conv("attach", P.to_bool) is not False)
        for key in ("scale", "cpu_shares", "cpu_quota", "cpu_period", "cpu_rt_period",
                    "cpu_count", "cpu_percent", "mem_swappiness", "oom_score_adj",
                    "pids_limit"):
            kw[key] = conv(key, P.to_int)
        kw["cpu_rt_runtime"] = conv("cpu_rt_runtime", _micro_or_duration)
        kw["cpus"] = conv("cpus", P.to_float)
        for key in ("mem_limit", "mem_reservation", "shm_size"):
            kw[key] = conv(key, parse_bytes)
        kw["memswap_limit"] = conv("memswap_limit", _bytes_or_unlimited)
        kw["stop_grace_period"] = conv("stop_grace_period", parse_duration)
        kw["pull_refresh_after"] = conv("pull_refresh_after", parse_duration)
        if g("restart") is not None:
            self.check_restart(str(g("restart")), (*p, "restart"))
        if g("pull_policy") is not None:
            self.check_pull_policy(str(g("pull_policy")), (*p, "pull_policy"))
        if kw.get("oom_score_adj") is not None and not -1000 <= kw["oom_score_adj"] <= 1000:
            self.err((*p, "oom_score_adj"), "must be between -1000 and 1000")
        if kw.get("mem_swappiness") is not None and not -1 <= kw["mem_swappiness"] <= 100:
            self.err((*p, "mem_swappiness"), "must be between 0 and 100")
        if kw.get("scale") is not None and kw["scale"] < 0:
            self.err((*p, "scale"), "must not be negative")
        kw["command"] = conv("command", P.split_command)
        kw["entrypoint"] = conv("entrypoint", P.split_command)
        for key in ("profiles", "cap_add", "cap_drop", "security_opt", "dns", "dns_opt",
                    "dns_search", "links", "external_links", "volumes_from",
                    "device_cgroup_rules", "group_add", "expose"):
            kw[key] = self.strs(g(key))
        kw["tmpfs"] = self.strs(g("tmpfs"))
        kw["label_file"] = tuple(self.path_abs(x) for x in self.strs(g("label_file")))
        for key in ("labels", "annotations", "sysctls"):
            kw[key] = self.kv_str(g(key), (*p, key))
        if kw["label_file"]:  # labels from files; `labels` wins
            kw["labels"] = T.frozen_map({**self.label_files(kw["label_file"],
                                                            (*p, "label_file")),
                                         **kw["labels"]})
        kw["storage_opt"] = T.frozen_map({k: P.scalar_str(v) for k, v in
                                          (g("storage_opt") or {}).items()})
        for key in ("develop", "blkio_config", "credential_spec", "provider"):
            kw[key] = T.frozen_map(g(key))
        kw["gpus"] = g("gpus")
        kw["models"] = T.frozen_map(_list_to_map(g("models")))
        kw["extensions"] = T.frozen_map({k: v for k, v in s.items() if k.startswith("x-")})
        kw["env_file"] = self.env_files(g("env_file"), (*p, "env_file"))
        kw["environment"] = self.environment(kw["env_file"], g("environment"),
                                             (*p, "environment"))
        if g("extra_hosts") is not None:
            kw["extra_hosts"] = tuple(self.conv(P.parse_extra_hosts, g("extra_hosts"),
                                                (*p, "extra_hosts")) or ())
        kw["build"] = self.build_section(name, g("build"), (*p, "build"))
        kw["ports"] = self.ports(g("ports"), (*p, "ports"))
        kw["volumes"] = self.volumes(g("volumes"), (*p, "volumes"))
        kw["secrets"] = self.file_refs(g("secrets"), (*p, "secrets"), "/run/secrets/")
        kw["configs"] = self.file_refs(g("configs"), (*p, "configs"), "/")
        kw["devices"] = self.devices(g("devices"), (*p, "devices"))
        kw["ulimits"] = self.ulimits(g("ulimits"), (*p, "ulimits"))
        kw["healthcheck"] = self.healthcheck(g("healthcheck"), (*p, "healthcheck"))
        if isinstance(g("logging"), dict):
            lg = g("logging")
            kw["logging"] = T.Logging(driver=lg.get("driver"), options=T.frozen_map(
                {k: P.scalar_str(v) for k, v in (lg.get("options") or {}).items()
                 if v is not None}))
        kw["deploy"] = self.deploy(g("deploy"), (*p, "deploy"))
        kw["networks"] = self.service_networks(s, p)
        for hook in ("post_start", "pre_stop", "pre_start"):
            kw[hook] = tuple(self.hook(h, (*p, hook, i), kw.get("image"))
                             for i, h in enumerate(g(hook) or ()) if isinstance(h, dict))
        kw["depends_on"] = self.depends_on(name, s, p)
        return T.Service(**{k: v for k, v in kw.items() if v is not None})

    def check_restart(self, value: str, path: Path) -> None:
        base, _, count = value.partition(":")
        if base not in ("no", "always", "on-failure", "unless-stopped") or \
                (count and (base != "on-failure" or not count.isdigit())):
            self.err(path, f"invalid restart policy {value!r}",
                     "use no, always, on-failure[:N] or unless-stopped")

    def check_pull_policy(self, value: str, path: Path) -> None:
        if value in ("always", "never", "missing", "if_not_present", "build", "daily",
                     "weekly", "refresh"):
            return
        if value.startswith("every_") and re.fullmatch(
                r"(\d+(\.\d+)?(w|d|h|m|s|ms|us|ns))+", value[6:]):
            return
        self.err(path, f"invalid pull_policy {value!r}",
                 "use always, never, missing, build, daily, weekly or every_<duration>")

    def env_files(self, value: Any, path: Path) -> tuple[T.EnvFile, ...]:
        if value is None:
            return ()
        items = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        out = []
        for i, item in items:
            ip = path if i is None else (*path, i)
            if isinstance(item, dict):
                req = self.conv(P.to_bool, item.get("required"), (*ip, "required"))
                out.append(T.EnvFile(path=self.path_abs(str(item.get("path"))) or "",
                                     required=req is not False, format=item.get("format"),
                                     where=ip))
            else:
                out.append(T.EnvFile(path=self.path_abs(str(item)) or "", where=ip))
        return tuple(out)

    def environment(self, env_files: tuple[T.EnvFile, ...], value: Any,
                    path: Path) -> Mapping[str, str | None]:
        env: dict[str, str | None] = {}
        if self.read_env_files:
            for ef in env_files:
                env.update(self.read_env_file(ef, ef.where))
        for k, v in self.kv(value, path).items():
            env[k] = self.env.get(k) if v is None else v
        return T.frozen_map(env)

    def read_env_file(self, ef: T.EnvFile, path: Path) -> dict[str, str | None]:
        if not os.path.exists(ef.path):
            if ef.required:
                self.env_issues.setdefault(str(path[1]), []).append(ConfigIssue(
                    self.pos(path), format_path(path), f"env file {ef.path} not found",
                    "create it, fix the path, or mark it `required: false`"))
            return {}
        self.files_read.append(ef.path)
        try:
            if ef.format == "raw":
                with open(ef.path, encoding="utf-8") as f:
                    return _raw_env(f.read())
            from compose.loader.dotenv import read_dotenv

            return dict(read_dotenv(ef.path, self.env.get))
        except Exception as e:
            self.err(path, f"cannot read env file {ef.path}: {e}")
            return {}

    def label_files(self, files: tuple[str | None, ...], path: Path) -> dict[str, str]:
        out: dict[str, str] = {}
        for i, f in enumerate(files):
            ip = (*path, i) if isinstance(self.data_at(path), list) else path
            if f is None:
                continue
            if not os.path.exists(f):
                self.env_issues.setdefault(str(path[1]), []).append(ConfigIssue(
                    self.pos(ip), format_path(ip), f"label file {f} not found",
                    "create it or fix the path"))
                continue
            self.files_read.append(f)
            try:
                from compose.loader.dotenv import read_dotenv

                out.update({k: v or "" for k, v in read_dotenv(f, lambda _k: None).items()})
            except Exception as e:  # any parse error becomes a located issue
                self.err(ip, f"cannot read label file {f}: {e}")
        return out

    def data_at(self, path: Path) -> Any:
        node: Any = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return None
        return node

    def build_section(self, service: str, value: Any, path: Path) -> T.Build | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = {"context": value}
        if not isinstance(value, dict):
            return None
        g = value.get
        if g("dockerfile") is not None and g("dockerfile_inline") is not None:
            self.err(path, "dockerfile and dockerfile_inline are mutually exclusive")
        args = self.kv(g("args"), (*path, "args"))
        args = {k: (self.env.get(k) if v is None else v) for k, v in args.items()}
        args = {k: v for k, v in args.items() if v is not None}
        return T.Build(
            context=self.path_abs(str(g("context") or ".")) or ".",
            dockerfile=None if g("dockerfile_inline") is not None else
            str(g("dockerfile") or "Dockerfile"),
            dockerfile_inline=g("dockerfile_inline"),
            args=T.frozen_map(args), ssh=T.frozen_map(self.kv(g("ssh"), (*path, "ssh"))),
            labels=self.kv_str(g("labels"), (*path, "labels")),
            cache_from=self.strs(g("cache_from")), cache_to=self.strs(g("cache_to")),
            no_cache=bool(self.conv(P.to_bool, g("no_cache"), (*path, "no_cache"))),
            no_cache_filter=self.strs(g("no_cache_filter")),
            additional_contexts=self.kv_str(g("additional_contexts"),
                                            (*path, "additional_contexts")),
            network=g("network"),
            pull=bool(self.conv(P.to_bool, g("pull"), (*path, "pull"))),
            target=g("target"),
            shm_size=self.conv(parse_bytes, g("shm_size"), (*path, "shm_size")),
            extra_hosts=tuple(self.conv(P.parse_extra_hosts, g("extra_hosts"),
                                        (*path, "extra_hosts")) or ()),
            isolation=g("isolation"),
            privileged=bool(self.conv(P.to_bool, g("privileged"), (*path, "privileged"))),
            secrets=self.file_refs(g("secrets"), (*path, "secrets"), "/run/secrets/"),
            tags=self.strs(g("tags")), ulimits=self.ulimits(g("ulimits"), (*path, "ulimits")),
            platforms=self.strs(g("platforms")), entitlements=self.strs(g("entitlements")),
            provenance=None if g("provenance") is None else P.scalar_str(g("provenance")),
            sbom=None if g("sbom") is None else P.scalar_str(g("sbom")),
            pos=self.pos(path))

    def ports(self, value: Any, path: Path) -> tuple[T.Port, ...]:
        out: list[T.Port] = []
        seen: set[tuple] = set()
        for i, item in enumerate(value or ()):
            ip = (*path, i)
            if isinstance(item, dict):
                target = self.conv(P.to_int, item.get("target"), (*ip, "target"))
                if item.get("target") is None:
                    self.err(ip, "the long port syntax needs a target")
                    continue
                if target is None:
                    continue
                if not 0 < target <= 65535:
                    self.err((*ip, "target"), f"invalid port {target}: must be between 1 "
                             "and 65535")
                    continue
                published = self.conv(P.parse_published, item.get("published"),
                                      (*ip, "published"))
                proto = str(item.get("protocol") or "tcp").lower()
                if proto not in P.PROTOCOLS:
                    self.err((*ip, "protocol"), f"invalid protocol {proto!r} (expected one "
                             "of tcp, udp, sctp)")
                mode = str(item.get("mode") or "ingress")
                if mode not in ("ingress", "host"):
                    self.err((*ip, "mode"), f"invalid port mode {mode!r} (expected ingress "
                             "or host)")
                entries = [{"target": target, "published": published,
                            "host_ip": item.get("host_ip"), "protocol": proto,
                            "mode": mode, "app_protocol": item.get("app_protocol"),
                            "name": item.get("name")}]
            else:
                entries = self.conv(P.parse_port, item, ip) or []
            for e in entries:
                key = (e.get("host_ip"), e["target"], e["published"], e["protocol"])
                if key in seen:
                    continue
                seen.add(key)
                out.append(T.Port(pos=self.pos(ip), **{k: v for k, v in e.items()
                                                      if v is not None}))
        return tuple(out)

    def volumes(self, value: Any, path: Path) -> tuple[T.ServiceVolume, ...]:
        out: dict[str, T.ServiceVolume] = {}
        for i, item in enumerate(value or ()):
            ip = (*path, i)
            if isinstance(item, str):
                spec = self.conv(P.parse_volume, item, ip)
                if spec is None:
                    continue
            elif isinstance(item, dict):
                spec = dict(item)
            else:
                continue
            vol = self.volume_spec(spec, ip)
            if vol is None:
                continue
            if vol.target in out:
                self.err(ip, f"duplicate mount target {vol.target}")
            out[vol.target] = vol
        return tuple(out.values())

    def volume_spec(self, spec: dict[str, Any], ip: Path) -> T.ServiceVolume | None:
        vtype = spec.get("type") or "volume"
        target = spec.get("target")
        if not target:
            self.err(ip, f"a {vtype} mount needs a target")
            return None
        target = str(target)
        if vtype != "npipe" and not target.startswith("/") and \
                not re.match(r"^[a-zA-Z]:[\\/]", target):
            self.err((*ip, "target"), f"mount target {target!r} must be an absolute path")
        source = spec.get("source")
        if vtype == "bind":
            if not source:
                self.err(ip, "a bind mount needs a source")
                return None
            source = self.path_abs(str(source))
        elif vtype == "tmpfs" and source:
            self.err((*ip, "source"), "a tmpfs mount takes no source")
        elif vtype == "image" and not source:
            self.err(ip, "an image mount needs a source (the image)")
        bind = None
        if vtype == "bind":
            b = spec.get("bind") or {}
            prop = b.get("propagation")
            if prop is not None and prop not in P.PROPAGATIONS:
                self.err((*ip, "bind", "propagation"),
                         f"invalid propagation {prop!r} (expected one of "
                         f"{', '.join(P.PROPAGATIONS)})")
            chp = self.conv(P.to_bool, b.get("create_host_path"),
                            (*ip, "bind", "create_host_path"))
            bind = T.BindOptions(propagation=prop,
                                 create_host_path=True if chp is None else chp,
                                 selinux=b.get("selinux"), recursive=b.get("recursive"))
        volume = None
        if spec.get("volume") is not None:
            vo = spec["volume"]
            volume = T.VolumeOptions(
                nocopy=bool(self.conv(P.to_bool, vo.get("nocopy"), (*ip, "volume", "nocopy"))),
                subpath=vo.get("subpath"))
        tmpfs = None
        if spec.get("tmpfs") is not None:
            to = spec["tmpfs"]
            tmpfs = T.TmpfsOptions(
                size=self.conv(parse_bytes, to.get("size"), (*ip, "tmpfs", "size")),
                mode=self.conv(P.parse_file_mode, to.get("mode"), (*ip, "tmpfs", "mode")))
        ro = self.conv(P.to_bool, spec.get("read_only"), (*ip, "read_only"))
        return T.ServiceVolume(
            type=vtype, target=target, source=None if source is None else str(source),
            read_only=bool(ro), consistency=spec.get("consistency"), bind=bind,
            volume=volume, tmpfs=tmpfs,
            image_subpath=(spec.get("image") or {}).get("subpath"), pos=self.pos(ip))

    def file_refs(self, value: Any, path: Path, default_dir: str) -> tuple[T.FileRef, ...]:
        out = []
        for i, item in enumerate(value or ()):
            ip = (*path, i)
            if isinstance(item, str):
                out.append(T.FileRef(source=item, target=default_dir + item,
                                     pos=self.pos(ip)))
                continue
            if not isinstance(item, dict) or not item.get("source"):
                self.err(ip, "needs a source")
                continue
            src = str(item["source"])
            target = str(item.get("target") or src)
            if not target.startswith("/"):
                target = default_dir + target
            out.append(T.FileRef(
                source=src, target=target,
                uid=None if item.get("uid") is None else str(item["uid"]),
                gid=None if item.get("gid") is None else str(item["gid"]),
                mode=self.conv(P.parse_file_mode, item.get("mode"), (*ip, "mode")),
                pos=self.pos(ip)))
        return tuple(out)

    def devices(self, value: Any, path: Path) -> tuple[T.Device, ...]:
        out = []
        for i, item in enumerate(value or ()):
            if isinstance(item, dict):
                out.append(T.Device(source=str(item.get("source")),
                                    target=str(item.get("target") or item.get("source")),
                                    permissions=str(item.get("permissions") or "rwm")))
            else:
                d = self.conv(P.parse_device, str(item), (*path, i))
                if d:
                    out.append(T.Device(**d))
        return tuple(out)

    def ulimits(self, value: Any, path: Path) -> tuple[T.Ulimit, ...]:
        out = []
        for name, v in (value or {}).items():
            ip = (*path, name)
            if isinstance(v, dict):
                soft = self.conv(P.to_int, v.get("soft"), (*ip, "soft"))
                hard = self.conv(P.to_int, v.get("hard"), (*ip, "hard"))
            else:
                soft = hard = self.conv(P.to_int, v, ip)
            if soft is None or hard is None:
                continue
            if soft > hard and hard != -1:
                self.err(ip, f"soft limit {soft} is greater than hard limit {hard}")
            out.append(T.Ulimit(name=name, soft=soft, hard=hard))
        return tuple(out)

    def healthcheck(self, value: Any, path: Path) -> T.Healthcheck | None:
        if not isinstance(value, dict):
            return None
        g = value.get
        test = g("test")
        disable = bool(self.conv(P.to_bool, g("disable"), (*path, "disable")))
        if isinstance(test, str):
            test_t: tuple[str, ...] = ("CMD-SHELL", test)
        elif isinstance(test, list):
            test_t = tuple(P.scalar_str(t) for t in test)
            if test_t and test_t[0] not in ("CMD", "CMD-SHELL", "NONE"):
                self.err((*path, "test"), f"the test list must start with CMD, CMD-SHELL or "
                         f"NONE, not {test_t[0]!r}")
        else:
            test_t = ()
        if test_t[:1] == ("NONE",):
            disable = True
        if disable and test_t and test_t[:1] != ("NONE",):
            self.err(path, "disable: true conflicts with test")
        dur = lambda k: self.conv(parse_duration, g(k), (*path, k))  # noqa: E731
        retries = self.conv(P.to_int, g("retries"), (*path, "retries"))
        return T.Healthcheck(test=test_t, interval=dur("interval"), timeout=dur("timeout"),
                             start_period=dur("start_period"),
                             start_interval=dur("start_interval"), retries=retries,
                             disable=disable, pos=self.pos(path))

    def deploy(self, value: Any, path: Path) -> T.Deploy | None:
        if not isinstance(value, dict):
            return None
        g = value.get
        resources = None
        if isinstance(g("resources"), dict):
            r = g("resources")
            resources = T.Resources(
                limits=self.resource_spec(r.get("limits"), (*path, "resources", "limits")),
                reservations=self.resource_spec(r.get("reservations"),
                                                (*path, "resources", "reservations")))
        rp = None
        if isinstance(g("restart_policy"), dict):
            x = g("restart_policy")
            rpp = (*path, "restart_policy")
            rp = T.RestartPolicy(
                condition=x.get("condition"),
                delay=self.conv(parse_duration, x.get("delay"), (*rpp, "delay")),
                max_attempts=self.conv(P.to_int, x.get("max_attempts"),
                                       (*rpp, "max_attempts")),
                window=self.conv(parse_duration, x.get("window"), (*rpp, "window")))
        replicas = self.conv(P.to_int, g("replicas"), (*path, "replicas"))
        return T.Deploy(mode=g("mode"), replicas=replicas, endpoint_mode=g("endpoint_mode"),
                        labels=self.kv_str(g("labels"), (*path, "labels")),
                        resources=resources, restart_policy=rp,
                        update_config=self.update_config(g("update_config"),
                                                         (*path, "update_config")),
                        rollback_config=self.update_config(g("rollback_config"),
                                                           (*path, "rollback_config")),
                        placement=T.frozen_map(g("placement")))

    def update_config(self, x: Any, path: Path) -> T.UpdateConfig | None:
        if not isinstance(x, dict):
            return None
        return T.UpdateConfig(
            parallelism=self.conv(P.to_int, x.get("parallelism"), (*path, "parallelism")),
            delay=self.conv(parse_duration, x.get("delay"), (*path, "delay")),
            failure_action=x.get("failure_action"),
            monitor=self.conv(parse_duration, x.get("monitor"), (*path, "monitor")),
            max_failure_ratio=self.conv(P.to_float, x.get("max_failure_ratio"),
                                        (*path, "max_failure_ratio")),
            order=x.get("order"))

    def resource_spec(self, x: Any, path: Path) -> T.ResourceSpec | None:
        if not isinstance(x, dict):
            return None
        devices = []
        for i, d in enumerate(x.get("devices") or ()):
            count = d.get("count")
            if count == "all":
                count = -1
            else:
                count = self.conv(P.to_int, count, (*path, "devices", i, "count"))
            devices.append(T.DeviceRequest(capabilities=self.strs(d.get("capabilities")),
                                           count=count, device_ids=self.strs(d.get("device_ids")),
                                           driver=d.get("driver"),
                                           options=self.kv_str(d.get("options"),
                                                               (*path, "devices", i))))
        return T.ResourceSpec(cpus=self.conv(P.to_float, x.get("cpus"), (*path, "cpus")),
                              memory=self.conv(parse_bytes, x.get("memory"),
                                               (*path, "memory")),
                              pids=self.conv(P.to_int, x.get("pids"), (*path, "pids")),
                              devices=tuple(devices))

    def service_networks(self, s: Mapping[str, Any], p: Path) -> Mapping[str, T.ServiceNetwork]:
        raw = s.get("networks")
        if raw is None:
            if s.get("network_mode") is not None or s.get("provider") is not None:
                return T.EMPTY
            return T.frozen_map({"default": T.ServiceNetwork()})
        if isinstance(raw, list):
            raw = {str(n): None for n in raw}
        out: dict[str, T.ServiceNetwork] = {}
        for name, v in raw.items():
            np_ = (*p, "networks", name)
            if not isinstance(v, dict):
                out[name] = T.ServiceNetwork(pos=self.pos(np_))
                continue
            out[name] = T.ServiceNetwork(
                aliases=self.strs(v.get("aliases")), ipv4_address=v.get("ipv4_address"),
                ipv6_address=v.get("ipv6_address"),
                link_local_ips=self.strs(v.get("link_local_ips")),
                mac_address=v.get("mac_address"), interface_name=v.get("interface_name"),
                driver_opts=T.frozen_map({k: P.scalar_str(x) for k, x in
                                          (v.get("driver_opts") or {}).items()}),
                priority=self.conv(P.to_int, v.get("priority"), (*np_, "priority")),
                gw_priority=self.conv(P.to_int, v.get("gw_priority"), (*np_, "gw_priority")),
                pos=self.pos(np_))
        return T.frozen_map(out)

    def hook(self, h: Mapping[str, Any], path: Path, image: str | None) -> T.Hook:
        cmd = self.conv(P.split_command, h.get("command"), (*path, "command"))
        if not cmd and path[-2] != "pre_start":  # an init container may run its image's CMD
            self.err(path, "a hook needs a command")
        return T.Hook(command=cmd or (), user=h.get("user"),
                      privileged=bool(self.conv(P.to_bool, h.get("privileged"),
                                                (*path, "privileged"))),
                      working_dir=h.get("working_dir"),
                      environment=T.frozen_map(self.kv(h.get("environment"),
                                                       (*path, "environment"))),
                      image=h.get("image") or (image if path[-2] == "pre_start" else None),
                      per_replica=bool(self.conv(P.to_bool, h.get("per_replica"),
                                                 (*path, "per_replica"))))

    def depends_on(self, name: str, s: Mapping[str, Any], p: Path) -> Mapping[str, T.DependsOn]:
        raw = s.get("depends_on")
        out: dict[str, T.DependsOn] = {}
        dp = (*p, "depends_on")
        if isinstance(raw, list):
            for i, dep in enumerate(raw):
                out[str(dep)] = T.DependsOn(service=str(dep), pos=self.pos((*dp, i)))
        elif isinstance(raw, dict):
            for dep, v in raw.items():
                v = v or {}
                ep = (*dp, dep)
                req = self.conv(P.to_bool, v.get("required"), (*ep, "required"))
                rst = self.conv(P.to_bool, v.get("restart"), (*ep, "restart"))
                out[dep] = T.DependsOn(service=dep,
                                       condition=v.get("condition") or "service_started",
                                       required=req is not False, restart=bool(rst),
                                       pos=self.pos(ep))
        # implicit dependencies (normalize): never override an explicit entry
        for key in _SERVICE_REF_KEYS:
            v = s.get(key)
            if isinstance(v, str) and v.startswith("service:"):
                dep = v[len("service:"):]
                out.setdefault(dep, T.DependsOn(service=dep, restart=True, via=key,
                                                pos=self.pos((*p, key))))
        for i, link in enumerate(s.get("links") or ()):
            dep = str(link).split(":", 1)[0]
            out.setdefault(dep, T.DependsOn(service=dep, restart=True, via="links",
                                            pos=self.pos((*p, "links", i))))
        for i, vf in enumerate(s.get("volumes_from") or ()):
            vf = str(vf)
            if vf.startswith("container:"):
                continue
            dep = vf.split(":", 1)[0]
            out.setdefault(dep, T.DependsOn(service=dep, restart=False, via="volumes_from",
                                            pos=self.pos((*p, "volumes_from", i))))
        return T.frozen_map(out)


def _list_to_map(v: Any) -> dict[str, Any]:
    if isinstance(v, list):
        return {str(x): None for x in v}
    return dict(v or {})


def _bytes_or_unlimited(v: Any) -> int:
    if v in (-1, "-1"):
        return -1
    return parse_bytes(v)


def _micro_or_duration(v: Any) -> int:
    """cpu_rt_runtime: microseconds as an int, or a duration string."""
    try:
        return P.to_int(v)
    except ValueError:
        return round(parse_duration(v) * 1e6)


def _raw_env(text: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        k, sep, v = line.partition("=")
        out[k.strip()] = v if sep else None
    return out
