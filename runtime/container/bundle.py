"""ContainerSpec -> bundle.json: the low-level plan the shim executes (our OCI config).

All policy is decided here, on the CLI side, where imports are cheap to pay once:
Docker's default capabilities, masked and read-only paths, the overlay options, the
/etc files, the init binary, rlimits.  The shim only follows the plan, so its import
graph stays tiny and the plan can be unit-tested without root.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from runtime.errors import InvalidInputError, RuntimeFailure
from runtime.kernel import consts as C
from runtime.spec import ContainerSpec

INIT_CANDIDATES = ("/usr/bin/tini-static", "/usr/bin/docker-init",
                   "/usr/libexec/catatonit/catatonit", "/usr/bin/catatonit")

# Keep the overlay mount data well below one page (4096 bytes, the kernel's limit).
_MAX_MOUNT_DATA = 3500


def capabilities(privileged: bool, cap_add: tuple[str, ...], cap_drop: tuple[str, ...]
                 ) -> list[str]:
    """Docker's rules (defaults, drops, adds, ``ALL``), as ``CAP_*`` names."""
    from runtime.security import capabilities as caps

    return sorted(caps.effective_caps(cap_add, cap_drop, privileged), key=caps.BIT.get)


def find_init_binary() -> str:
    for cand in INIT_CANDIDATES:
        if os.access(cand, os.X_OK):
            return cand
    import shutil

    found = shutil.which("tini-static") or shutil.which("catatonit")
    if found:
        return found
    raise RuntimeFailure("--init needs a static init binary (tini-static or catatonit)",
                         hint="apt-get install tini")


def lowerdir(cdir: Path, layers: tuple[Path, ...]) -> str:
    """``lowerdir=`` value; short per-layer symlinks under ``<cdir>/l`` when too long."""
    if not layers:
        raise InvalidInputError("the image has no layers")
    for layer in layers:
        if not Path(layer).is_dir():
            raise InvalidInputError(f"image layer {layer} is not a directory")
    plain = ":".join(str(Path(p).absolute()) for p in layers)
    if len(plain) < _MAX_MOUNT_DATA and ":" not in "".join(str(p) for p in layers) \
            and "," not in plain:
        return plain
    links = cdir / "l"
    links.mkdir(exist_ok=True)
    names = []
    for i, layer in enumerate(layers):
        link = links / format(i, "x")
        if link.is_symlink():
            link.unlink()
        link.symlink_to(Path(layer).absolute())
        names.append(f"l/{i:x}")  # relative to <cdir>: the init stage chdirs there
    return ":".join(names)


def mount_entry(m) -> dict[str, Any]:
    """One spec.Mount -> the shim's mount description."""
    if not m.target.startswith("/"):
        raise InvalidInputError(f"mount target {m.target!r} must be an absolute path")
    if m.type == "tmpfs":
        opts = []
        flags = C.MS_NOSUID | C.MS_NODEV
        for o in m.options:
            if o in C.MOUNT_FLAG_NAMES:
                bit, on = C.MOUNT_FLAG_NAMES[o]
                flags = flags | bit if on else flags & ~bit
            else:
                opts.append(o)
        if m.tmpfs_size:
            opts.append(f"size={m.tmpfs_size}")
        if m.tmpfs_mode is not None:
            opts.append(f"mode={m.tmpfs_mode:o}")
        if m.read_only:
            flags |= C.MS_RDONLY
        return {"type": "tmpfs", "target": m.target, "flags": flags, "data": ",".join(opts)}
    if not m.source:
        raise InvalidInputError(f"{m.type} mount at {m.target} has no source")
    if not os.path.exists(m.source):
        raise InvalidInputError(f"bind source path does not exist: {m.source}",
                                hint="create it first (Docker's --mount does not either)")
    flags = 0
    for o in m.options:
        if o in C.MOUNT_FLAG_NAMES and o not in ("bind", "rbind", "ro", "rw"):
            bit, on = C.MOUNT_FLAG_NAMES[o]
            flags = flags | bit if on else flags & ~bit
    prop = C.PROPAGATION_FLAGS.get(m.propagation or "rprivate", C.MS_PRIVATE | C.MS_REC)
    return {"type": "bind", "source": os.path.abspath(m.source), "target": m.target,
            "read_only": m.read_only, "flags": flags, "propagation": prop}


def build(spec: ContainerSpec, cid: str, cdir: Path, run_dir: Path, name_file: Path,
          netns: str, console_size: tuple[int, int] | None = None,
          seccomp_cache: Path | None = None) -> dict[str, Any]:
    """The bundle for one start of the container (rebuilt on every ``start``)."""
    from runtime.security.defaults import for_container

    sec = spec.security
    privileged = sec.privileged
    caps = capabilities(privileged, sec.cap_add, sec.cap_drop)
    seccomp: str | None = None
    if not privileged and sec.seccomp != "unconfined":
        from runtime.container.seccomp_cache import compiled

        seccomp = compiled(seccomp_cache or cdir / "seccomp", sec.seccomp, caps)
    masked, readonly = for_container(privileged, sec.masked_paths, sec.readonly_paths)
    hostname = spec.hostname or cid[:12]
    b: dict[str, Any] = {
        "id": cid,
        "dir": str(cdir),
        "log_path": str(cdir / f"{cid}-json.log"),
        "attach_socket": str(run_dir / "attach.sock"),
        "rootfs": {"lowerdir": lowerdir(cdir, spec.rootfs.layers), "upperdir": "upper",
                   "workdir": "work", "merged": "merged",
                   "read_only": spec.rootfs.read_only or sec.read_only_rootfs},
        "process": {"args": list(spec.process.args), "env": list(spec.process.env),
                    "cwd": spec.process.cwd or "/", "user": spec.process.user,
                    "group_add": list(spec.process.group_add), "tty": spec.process.tty,
                    "stdin_open": spec.process.stdin_open,
                    "console_size": list(console_size) if console_size else None},
        "hostname": hostname,
        "domainname": spec.domainname,
        "namespaces": {"net": netns, "uts": True},
        "mounts": [mount_entry(m) for m in spec.mounts],
        "shm_size": spec.shm_size,
        "masked_paths": list(masked),
        "readonly_paths": list(readonly),
        "etc_files": {"/etc/hostname": str(cdir / "hostname"),
                      "/etc/hosts": str(cdir / "hosts"),
                      "/etc/resolv.conf": str(cdir / "resolv.conf")},
        "init_binary": find_init_binary() if spec.init else None,
        "caps": caps,
        "privileged": privileged,
        "no_new_privileges": sec.no_new_privileges,
        "seccomp": seccomp,
        "rlimits": [[u.name, u.soft, u.hard] for u in sec.ulimits],
        "sysctls": [list(kv) for kv in sec.sysctls],
        "cgroup": None,          # filled in by start() after creating the cgroup
        "restart": {"name": spec.restart.name, "max_retries": spec.restart.max_retries},
        "log": {"max_size": spec.log.max_size, "max_file": spec.log.max_file},
        "auto_remove": spec.auto_remove,
        "healthcheck": healthcheck(spec.healthcheck),
        "stop_signal": spec.stop_signal,
        "remove": {"dirs": [str(cdir), str(run_dir)], "files": [str(name_file)],
                   "netns": netns if netns not in ("new", "host") and spec.network.kind
                   == "bridge" else None,
                   "root": str(name_file.parent.parent), "run_dir": str(run_dir.parent.parent)},
    }
    if not spec.process.args:
        raise InvalidInputError("no command specified",
                                hint="give a command after the image, or use an image "
                                     "with a default command")
    return b


def healthcheck(hc) -> dict[str, Any] | None:
    """The monitor's probe settings; None when there is none or it is ``NONE``."""
    if hc is None or not hc.test or hc.test[0] == "NONE":
        return None
    if hc.test[0] not in ("CMD", "CMD-SHELL") or len(hc.test) < 2:
        raise InvalidInputError(f"invalid healthcheck test {list(hc.test)!r}",
                                hint='use ["CMD", "prog", "arg"...], ["CMD-SHELL", "command"] '
                                     'or ["NONE"]')
    return {"test": list(hc.test), "interval": hc.interval, "timeout": hc.timeout,
            "retries": hc.retries, "start_period": hc.start_period,
            "start_interval": hc.start_interval}


def etc_files(spec: ContainerSpec, cid: str, cdir: Path, network: str) -> None:
    """Write the container's hostname, hosts and resolv.conf (bind-mounted by init).

    Regenerated on every start, so they are replaced atomically but not fsync'd.
    """

    host_net = network == "host"
    hostname = spec.hostname or (os.uname().nodename if host_net else cid[:12])
    atomic_write_bytes(cdir / "hostname", f"{hostname}\n".encode())
    if host_net:
        hosts = _read("/etc/hosts")
    else:
        hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                 "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                 "ff02::2\tip6-allrouters\n")
    for host, ip in spec.extra_hosts:
        hosts += f"{ip}\t{host}\n"
    atomic_write_bytes(cdir / "hosts", hosts.encode())
    atomic_write_bytes(cdir / "resolv.conf", resolv_conf(spec, host_net).encode())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    import _thread  # per-thread temp name: concurrent starts in one process (build stages,
    # `up`) write the same seccomp cache file at once

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_thread.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def resolv_conf(spec: ContainerSpec, host_net: bool) -> str:
    host = _read("/etc/resolv.conf")
    if host_net and not (spec.dns or spec.dns_search or spec.dns_options):
        return host
    servers = list(spec.dns)
    search = list(spec.dns_search)
    options = list(spec.dns_options)
    for line in host.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "nameserver" and not spec.dns and len(parts) > 1:
            # Loopback resolvers of the host are unreachable from another netns.
            if not (parts[1].startswith("127.") or parts[1] == "::1" or host_net):
                servers.append(parts[1])
        elif parts[0] == "search" and not spec.dns_search:
            search.extend(parts[1:])
        elif parts[0] == "options" and not spec.dns_options:
            options.extend(parts[1:])
    if not servers:
        servers = ["8.8.8.8", "8.8.4.4"]  # Docker's fallback
    out = "".join(f"nameserver {s}\n" for s in servers)
    if search:
        out += "search " + " ".join(search) + "\n"
    if options:
        out += "options " + " ".join(options) + "\n"
    return out
