"""The container's init stage: the forked child that becomes PID 1.

It exists only between ``fork`` (in a process that has been single-threaded since
birth) and ``execve``.  Order follows runc/crun (see docs/architecture.md, "Start
sequence"): wait for "go" (the shim has placed us in the cgroup), namespaces, private
propagation, overlay root, Docker's default mounts and devices, /etc files, user mounts,
pivot_root + detach the old root, sysctls, masked and read-only paths, read-only root,
hostname, rlimits, user lookup in the image, cwd, seccomp/capabilities/no_new_privs,
close fds, execve.

Every failure is sent to the shim as one JSON message on the SEQPACKET socket, then
the process ``_exit``s; it never returns into the shim's code.  A successful exec is
seen by the shim as EOF on the close-on-exec ``execw`` pipe.
"""

from __future__ import annotations

import _signal as signal
import _socket
import errno
import fcntl
import os
import resource
import struct

# Everything is imported up front: after pivot_root the host's files are out of reach.
from runtime.errors import KernelError
from runtime.kernel import consts as C
from runtime.kernel.paths import fd_path, mkdirs_in_root, mkfile_in_root, open_in_root
from runtime.shim import minijson, security
from runtime.shim.users import resolve_user

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INIT_PATH = "/sbin/docker-init"

# (name, major, minor) — the OCI mandatory character devices, mode 0666
DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
           ("urandom", 1, 9), ("tty", 5, 0))
DEV_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
             ("ptmx", "pts/ptmx"), ("core", "/proc/kcore"))
NOSUID_NOEXEC_NODEV = C.MS_NOSUID | C.MS_NOEXEC | C.MS_NODEV


class StageError(Exception):
    """A failure with the Docker exit code the shim should report (125/126/127)."""

    def __init__(self, message: str, code: int = 125) -> None:
        super().__init__(message)
        self.code = code


def run(k, b: dict, sock, execw: int, stdio: tuple[int, int, int], tty: bool) -> None:
    """Entry point in the forked child; never returns."""
    code = 125
    try:
        msg = sock.recv(65536)
        if not msg:
            os._exit(125)  # the shim died before "go"
        go = minijson.loads(msg)
        setup(k, b, go, stdio, tty, sock, execw)
    except StageError as e:
        code = e.code
        _report(sock, {"error": str(e), "code": e.code})
    except KernelError as e:
        _report(sock, {"error": f"{_step(e)}: {e}", "code": 125, "syscall": e.syscall,
                       "errno": e.errno, "path": e.path})
    except BaseException as e:
        _report(sock, {"error": f"{_step(e)}: {type(e).__name__}: {e}", "code": 125})
    os._exit(code)


def _step(e: BaseException) -> str:
    """Which setup step failed: the innermost function of this module in the traceback."""
    tb, name = e.__traceback__, "container init"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == __file__:
            name = tb.tb_frame.f_code.co_name.strip("_").replace("_", " ")
        tb = tb.tb_next
    return name


def _report(sock, msg: dict) -> None:
    try:
        sock.send(minijson.dumps(msg).encode()[:60000])
    except OSError:
        pass


def setup(k, b: dict, go: dict, stdio: tuple[int, int, int], tty: bool, sock,
          execw: int) -> None:
    # Non-dumpable until exec: container processes cannot ptrace us or open our
    # /proc/<pid>/exe|fd (runc's lesson from the /proc/self/exe CVE).
    k.prctl(C.PR_SET_DUMPABLE, 0)
    _stdio(stdio, tty)
    _namespaces(k, b)
    k.mount(None, "/", None, C.MS_REC | C.MS_PRIVATE)
    os.chdir(b["dir"])
    rootfd = _mount_rootfs(k, b)
    _mount_defaults(k, b, rootfd)
    _mount_etc_files(k, b, rootfd)
    _mount_user_mounts(k, b, rootfd)
    if b.get("init_binary"):
        _bind(k, b["init_binary"], rootfd, INIT_PATH, create="file", read_only=True,
              recursive=False)
    if tty:
        _bind(k, os.ttyname(0), rootfd, "/dev/console", create="file", recursive=False)
    _pivot(k, rootfd)
    os.close(rootfd)
    _sysctls(b)
    _masks(k, b)
    if b["rootfs"].get("read_only"):
        k.mount(None, "/", None, C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY)
    if b.get("hostname") and b["namespaces"].get("uts", True):
        k.sethostname(b["hostname"])
    if b.get("domainname"):
        k.setdomainname(b["domainname"])
    _rlimits(b)
    os.umask(0o022)
    _exec(k, b, sock, execw, tty)


def _stdio(stdio: tuple[int, int, int], tty: bool) -> None:
    if tty:
        os.login_tty(stdio[0])  # setsid + TIOCSCTTY + dup2 onto 0/1/2
        return
    os.setsid()
    for target, fd in enumerate(stdio):
        if fd != target:
            os.dup2(fd, target)
    for fd in set(stdio):
        if fd > 2:
            os.close(fd)


def _namespaces(k, b: dict) -> None:
    ns = b["namespaces"]
    flags = C.CLONE_NEWNS | C.CLONE_NEWIPC | C.CLONE_NEWCGROUP
    if ns.get("uts", True):
        flags |= C.CLONE_NEWUTS
    net = ns.get("net", "new")
    if net == "new":
        flags |= C.CLONE_NEWNET
    elif net != "host":
        fd = os.open(net, os.O_RDONLY | os.O_CLOEXEC)
        try:
            k.setns(fd, C.CLONE_NEWNET)
        finally:
            os.close(fd)
    k.unshare(flags)
    if net == "new":
        _loopback_up()


def _loopback_up() -> None:
    """``ip link set lo up`` with one ioctl (SIOCSIFFLAGS), no netlink needed."""
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, ifr))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", flags | 0x1 | 0x40))  # UP|RUNNING
    finally:
        s.close()


def _mount_rootfs(k, b: dict) -> int:
    r = b["rootfs"]
    data = f"lowerdir={r['lowerdir']},upperdir={r['upperdir']},workdir={r['workdir']}"
    if r.get("options"):
        data += "," + r["options"]
    k.mount("overlay", r["merged"], "overlay", 0, data)
    return os.open(r["merged"], C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


def _target_dir(k, rootfd: int, path: str) -> int:
    """An O_PATH fd of a real directory at ``path`` inside the root (created if needed)."""
    fd = mkdirs_in_root(k, rootfd, path)
    return fd


def _mount_at(k, rootfd: int, path: str, fstype: str, flags: int, data: str | None) -> None:
    fd = _target_dir(k, rootfd, path)
    try:
        k.mount(fstype, fd_path(fd), fstype, flags, data)
    except KernelError as e:
        raise KernelError(f"mount {fstype}", e.errno, path) from None
    finally:
        os.close(fd)


def _mount_defaults(k, b: dict, rootfd: int) -> None:
    _mount_at(k, rootfd, "/proc", "proc", NOSUID_NOEXEC_NODEV, None)
    _mount_at(k, rootfd, "/dev", "tmpfs", C.MS_NOSUID | C.MS_STRICTATIME,
              "mode=755,size=65536k")
    devfd = open_in_root(k, rootfd, "/dev", C.O_PATH | os.O_DIRECTORY)
    try:
        # /dev is our fresh tmpfs: nothing in it can be a planted symlink.
        for name, major, minor in DEVICES:
            path = f"{fd_path(devfd)}/{name}"
            k.mknod(path, 0o666 | 0o020000, os.makedev(major, minor))
            os.chmod(path, 0o666)
        for name, target in DEV_LINKS:
            os.symlink(target, f"{fd_path(devfd)}/{name}")
        for d in ("pts", "shm", "mqueue"):
            os.mkdir(f"{fd_path(devfd)}/{d}", 0o755)
    finally:
        os.close(devfd)
    _mount_at(k, rootfd, "/dev/pts", "devpts", C.MS_NOSUID | C.MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5")
    _mount_at(k, rootfd, "/dev/shm", "tmpfs", NOSUID_NOEXEC_NODEV,
              f"mode=1777,size={int(b.get('shm_size', 64 << 20))}")
    _mount_at(k, rootfd, "/dev/mqueue", "mqueue", NOSUID_NOEXEC_NODEV, None)
    if b["namespaces"].get("net", "new") == "host":
        # sysfs needs a net ns we own; with the host's, bind the host /sys read-only.
        _bind(k, "/sys", rootfd, "/sys", create="dir", read_only=True,
              extra_flags=NOSUID_NOEXEC_NODEV)
    else:
        _mount_at(k, rootfd, "/sys", "sysfs", NOSUID_NOEXEC_NODEV | C.MS_RDONLY, None)
    _mount_cgroups(k, b, rootfd)


def _mount_cgroups(k, b: dict, rootfd: int) -> None:
    """/sys/fs/cgroup as the container sees it: its own cgroups (we are in a fresh
    cgroup namespace, so each hierarchy's root is the container's cgroup), read-only."""
    mounts = (b.get("cgroup") or {}).get("mounts") or []
    if not mounts:
        return
    ro = NOSUID_NOEXEC_NODEV | C.MS_RDONLY
    if mounts[0][2] == "":            # pure cgroup v2: one mount at /sys/fs/cgroup
        _mount_at(k, rootfd, "/sys/fs/cgroup", "cgroup2", ro, None)
        return
    _mount_at(k, rootfd, "/sys/fs/cgroup", "tmpfs", NOSUID_NOEXEC_NODEV, "mode=755")
    for fstype, data, rel in mounts:
        _mount_at(k, rootfd, f"/sys/fs/cgroup/{rel}", fstype, ro, data or None)
    t = open_in_root(k, rootfd, "/sys/fs/cgroup", C.O_PATH)
    try:   # now that the sub-mounts exist, the tmpfs itself goes read-only too
        k.mount(None, fd_path(t), None, C.MS_REMOUNT | C.MS_RDONLY | NOSUID_NOEXEC_NODEV,
                "mode=755")
    finally:
        os.close(t)


def _open_target(k, rootfd: int, path: str, create: str | None) -> int:
    if create == "dir":
        return mkdirs_in_root(k, rootfd, path)
    if create == "file":
        return mkfile_in_root(k, rootfd, path, replace_symlink=True)
    return open_in_root(k, rootfd, path, C.O_PATH)


def _bind(k, source: str, rootfd: int, path: str, create: str | None = None,
          read_only: bool = False, recursive: bool = True, extra_flags: int = 0,
          propagation: int = 0) -> None:
    """Bind ``source`` onto ``path`` inside the root, then apply flags and propagation.

    The target is resolved in-root and addressed through its fd.  That fd still names
    the directory *under* the new mount, so it is resolved again for the remount.
    """
    t = _open_target(k, rootfd, path, create)
    try:
        k.mount(source, fd_path(t), None, C.MS_BIND | (C.MS_REC if recursive else 0))
    except KernelError as e:
        raise KernelError("mount bind", e.errno, path) from None
    finally:
        os.close(t)
    if not (read_only or extra_flags or propagation):
        return
    t = open_in_root(k, rootfd, path, C.O_PATH)
    try:
        if read_only or extra_flags:
            # Bind ignores flags on the first call: remount to apply them.
            flags = C.MS_BIND | C.MS_REMOUNT | (C.MS_RDONLY if read_only else 0) | extra_flags
            try:
                k.mount(None, fd_path(t), None, flags)
            except KernelError as e:
                if e.errno != errno.EPERM:
                    raise
                # Locked flags inherited from the source must be kept (runc does this).
                st = os.statvfs(fd_path(t))
                k.mount(None, fd_path(t), None,
                        flags | (st.f_flag & (C.MS_NOSUID | C.MS_NODEV | C.MS_NOEXEC)))
        if propagation:
            k.mount(None, fd_path(t), None, propagation)
    finally:
        os.close(t)


def _mount_etc_files(k, b: dict, rootfd: int) -> None:
    for target, source in b.get("etc_files", {}).items():
        _bind(k, source, rootfd, target, create="file", recursive=False)


def _mount_user_mounts(k, b: dict, rootfd: int) -> None:
    for m in b.get("mounts", ()):
        kind = m["type"]
        if kind == "tmpfs":
            _mount_at(k, rootfd, m["target"], "tmpfs", m.get("flags", C.MS_NOSUID | C.MS_NODEV),
                      m.get("data") or None)
            continue
        source = m["source"]
        _bind(k, source, rootfd, m["target"], create="dir" if os.path.isdir(source) else "file",
              read_only=m.get("read_only", False), extra_flags=m.get("flags", 0),
              propagation=m.get("propagation", 0))


def _pivot(k, rootfd: int) -> None:
    os.fchdir(rootfd)
    k.pivot_root(".", ".")          # the old root ends up stacked under "."
    k.mount(None, ".", None, C.MS_SLAVE | C.MS_REC)  # the unmount must not propagate
    k.umount2(".", C.MNT_DETACH)
    os.chdir("/")


def _sysctls(b: dict) -> None:
    for key, value in b.get("sysctls", ()):
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(str(value))
        except OSError as e:
            raise StageError(f"sysctl {key}={value}: {os.strerror(e.errno or errno.EIO)}"
                             ) from None


def _masks(k, b: dict) -> None:
    root = os.open("/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for path in b.get("masked_paths", ()):
            try:
                fd = open_in_root(k, root, path, C.O_PATH)
            except KernelError as e:
                if e.errno in (errno.ENOENT, errno.ENOTDIR):
                    continue
                raise
            try:
                if os.path.isdir(fd_path(fd)):
                    k.mount("tmpfs", fd_path(fd), "tmpfs", C.MS_RDONLY, "size=0,nr_inodes=1")
                else:
                    k.mount("/dev/null", fd_path(fd), None, C.MS_BIND)
            finally:
                os.close(fd)
        for path in b.get("readonly_paths", ()):
            try:
                fd = open_in_root(k, root, path, C.O_PATH)
            except KernelError as e:
                if e.errno in (errno.ENOENT, errno.ENOTDIR):
                    continue
                raise
            try:
                _bind(k, fd_path(fd), root, path, read_only=True,
                      extra_flags=NOSUID_NOEXEC_NODEV)
            finally:
                os.close(fd)
    finally:
        os.close(root)


def _rlimits(b: dict) -> None:
    if not b.get("rlimits"):
        return
    for name, soft, hard in b["rlimits"]:
        res = getattr(resource, C.RLIMITS[name])
        try:
            resource.setrlimit(res, (soft, hard))
        except (OSError, ValueError) as e:
            raise StageError(f"setrlimit {name}={soft}:{hard}: {e}") from None


def _lookup(argv0: str, env: list[str]) -> str:
    if "/" in argv0:
        return argv0
    path = DEFAULT_PATH
    for kv in env:
        if kv.startswith("PATH="):
            path = kv[5:]
    for d in path.split(":"):
        cand = os.path.join(d or ".", argv0)
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    raise StageError(f'exec: "{argv0}": executable file not found in $PATH', 127)


def _exec(k, b: dict, sock, execw: int, tty: bool) -> None:
    p = b["process"]
    root = os.open("/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        user = resolve_user(k, root, p.get("user", ""), p.get("group_add", ()))
    finally:
        os.close(root)
    env = _environment(b, user.home, tty)
    cwd = p.get("cwd") or "/"
    root = os.open("/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        cwdfd = mkdirs_in_root(k, root, cwd)   # Docker creates a missing working dir
    finally:
        os.close(root)
    args = list(p["args"])
    if not args:
        raise StageError("no command specified", 125)
    if b.get("init_binary"):
        args = [INIT_PATH, "--", *args]
    exe = _lookup(args[0], env)
    security.finalize(k, b, user.uid, user.gid, list(user.groups))
    os.fchdir(cwdfd)
    os.close(cwdfd)
    try:
        os.getcwd()
    except FileNotFoundError:
        # getcwd fails for a directory outside the root: an inherited fd or symlink
        # games (the CVE-2024-21626 class).  Never exec there.
        raise StageError(f"working directory {cwd} is outside the container", 125) from None
    _close_fds(sock.fileno(), execw)
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP, signal.SIGINT, signal.SIGTERM,
                signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)   # ignored signals would survive execve
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    try:
        os.execve(exe, args, dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in env))
    except OSError as e:
        code = 126 if e.errno in (errno.EACCES, errno.ENOEXEC, errno.EISDIR) else 127
        raise StageError(f'exec: "{args[0]}": {os.strerror(e.errno or errno.EIO)}',
                         code) from None


def _environment(b: dict, home: str, tty: bool) -> list[str]:
    env: dict[str, str] = {"PATH": DEFAULT_PATH}
    if b.get("hostname"):
        env["HOSTNAME"] = b["hostname"]
    if tty:
        env["TERM"] = "xterm"
    for kv in b["process"].get("env", ()):
        key, _, value = kv.partition("=")
        env[key] = value
    env.setdefault("HOME", home or "/")
    return [f"{k}={v}" for k, v in env.items()]


def _close_fds(*keep: int) -> None:
    """Mark every fd >= 3 close-on-exec except ``keep`` (already CLOEXEC themselves)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass
