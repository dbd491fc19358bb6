"""``inspect``: a container as JSON shaped like ``docker inspect``'s.

``NetworkSettings`` is read from ``<container dir>/network.json`` when the network
layer has written one (it owns that file); otherwise it describes the bare mode.
"""

from __future__ import annotations

import json
from typing import Any

from runtime.container.store import Record


def _env_list(spec) -> list[str]:
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    keys = {"PATH"}
    for kv in spec.process.env:
        k = kv.split("=", 1)[0]
        if k in keys:
            env = [e for e in env if e.split("=", 1)[0] != k]
        keys.add(k)
        env.append(kv)
    return env


def _mounts(spec) -> list[dict[str, Any]]:
    out = []
    for m in spec.mounts:
        d = {"Type": m.type, "Source": m.source or "", "Destination": m.target,
             "Mode": "ro" if m.read_only else "", "RW": not m.read_only,
             "Propagation": m.propagation if m.type != "tmpfs" else ""}
        if m.volume_name:
            d["Name"] = m.volume_name
            d["Driver"] = "local"
        out.append(d)
    return out


def _health(spec, state: dict) -> dict[str, Any]:
    """``State.Health`` as docker shows it: present once a container with a healthcheck
    has been started (written by the monitor, see ``runtime.shim.health``)."""
    h = state.get("health")
    if not h or spec.healthcheck is None or spec.healthcheck.test[:1] == ("NONE",):
        return {}
    return {"Health": {"Status": h.get("Status", "starting"),
                       "FailingStreak": h.get("FailingStreak", 0),
                       "Log": list(h.get("Log") or [])}}


def _healthcheck_config(spec) -> dict[str, Any]:
    hc = spec.healthcheck
    if hc is None:
        return {}
    ns = 1_000_000_000
    return {"Healthcheck": {"Test": list(hc.test), "Interval": int(hc.interval * ns),
                            "Timeout": int(hc.timeout * ns),
                            "StartPeriod": int(hc.start_period * ns),
                            "StartInterval": int(hc.start_interval * ns),
                            "Retries": hc.retries}}


def inspect(rec: Record) -> dict[str, Any]:
    s, st = rec.spec, rec.state
    status = st.get("status", "created")
    res, sec = s.resources, s.security
    cdir = rec.dir
    net_file = cdir / "network.json"
    network: dict[str, Any]
    if net_file.is_file():
        network = json.loads(net_file.read_text())
    else:
        network = {"Networks": {s.network.kind: {}} if s.network.kind != "container" else {},
                   "SandboxKey": "", "Ports": {}}
    args = list(s.process.args)
    return {
        "Id": rec.id,
        "Created": rec.created,
        "Path": args[0] if args else "",
        "Args": args[1:],
        "State": {
            "Status": status,
            "Running": status in ("running", "paused"),
            "Paused": status == "paused",
            "Restarting": status == "restarting",
            "OOMKilled": bool(st.get("oom_killed")),
            "Dead": status == "dead",
            "Pid": st.get("pid", 0) if status in ("running", "paused") else 0,
            "ExitCode": st.get("exit_code", 0),
            "Error": st.get("error", ""),
            "StartedAt": st.get("started_at") or "0001-01-01T00:00:00Z",
            "FinishedAt": st.get("finished_at") or "0001-01-01T00:00:00Z",
            **_health(s, st),
        },
        "Image": s.image_id or s.image,
        "ResolvConfPath": str(cdir / "resolv.conf"),
        "HostnamePath": str(cdir / "hostname"),
        "HostsPath": str(cdir / "hosts"),
        "LogPath": str(cdir / f"{rec.id}-json.log"),
        "Name": "/" + rec.name,
        "RestartCount": st.get("restart_count", 0),
        "Driver": "overlay",
        "Platform": "linux",
        "Mounts": _mounts(s),
        "Config": {
            "Hostname": s.hostname or rec.id[:12],
            "Domainname": s.domainname or "",
            "User": s.process.user,
            "AttachStdin": s.process.stdin_open,
            "Tty": s.process.tty,
            "OpenStdin": s.process.stdin_open,
            "Env": _env_list(s),
            "Cmd": args,
            "Image": s.image,
            "WorkingDir": s.process.cwd if s.process.cwd != "/" else "",
            "Labels": dict(s.labels),
            "StopSignal": s.stop_signal,
            "StopTimeout": int(s.stop_timeout),
            **_healthcheck_config(s),
        },
        "HostConfig": {
            "Binds": [f"{m.source}:{m.target}{':ro' if m.read_only else ''}"
                      for m in s.mounts if m.type == "bind"],
            "NetworkMode": s.network.kind if s.network.kind != "container"
            else f"container:{s.network.target}",
            "RestartPolicy": {"Name": s.restart.name,
                              "MaximumRetryCount": s.restart.max_retries},
            "AutoRemove": s.auto_remove,
            "CapAdd": list(sec.cap_add) or None,
            "CapDrop": list(sec.cap_drop) or None,
            "Dns": list(s.dns), "DnsOptions": list(s.dns_options),
            "DnsSearch": list(s.dns_search),
            "ExtraHosts": [f"{h}:{ip}" for h, ip in s.extra_hosts] or None,
            "Privileged": sec.privileged,
            "ReadonlyRootfs": sec.read_only_rootfs or s.rootfs.read_only,
            "SecurityOpt": (["no-new-privileges"] if sec.no_new_privileges else [])
            + ([f"seccomp={sec.seccomp}"] if sec.seccomp != "default" else []) or None,
            "Tmpfs": {m.target: ",".join(m.options) for m in s.mounts if m.type == "tmpfs"}
            or None,
            "ShmSize": s.shm_size,
            "Sysctls": dict(sec.sysctls) or None,
            "Init": s.init,
            "Memory": res.memory or 0,
            "MemoryReservation": res.memory_reservation or 0,
            "MemorySwap": res.memory_swap or 0,
            "NanoCpus": (res.cpu_quota * 1_000_000_000 // res.cpu_period)
            if res.cpu_quota and res.cpu_period else 0,
            "CpuShares": res.cpu_shares or 0,
            "CpuQuota": res.cpu_quota or 0,
            "CpuPeriod": res.cpu_period or 0,
            "CpusetCpus": res.cpuset_cpus or "",
            "CpusetMems": res.cpuset_mems or "",
            "PidsLimit": res.pids_limit,
            "OomKillDisable": res.oom_kill_disable,
            "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard}
                        for u in sec.ulimits] or None,
            "LogConfig": {"Type": s.log.driver, "Config": {
                k: v for k, v in (("max-size", s.log.max_size), ("max-file", s.log.max_file))
                if v and not (k == "max-file" and v == 1)}},
        },
        "GraphDriver": {"Name": "overlay", "Data": {
            "LowerDir": ":".join(str(p) for p in s.rootfs.layers),
            "UpperDir": str(cdir / "upper"), "WorkDir": str(cdir / "work"),
            "MergedDir": str(cdir / "merged")}},
        "NetworkSettings": network,
    }
