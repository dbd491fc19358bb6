"""``exec`` into a running container: the process side (runc's ``setns`` init).

Runs in a process that has been single-threaded since birth: either the lean helper
``python -I -S -c BOOT`` that :mod:`runtime.container.exec` spawns for the CLI/API, or a
fork of the shim's monitor (healthcheck probes).  Two processes, as runc/crun do::

    middle      opens /proc/<pid1>/ns/* and the cgroup's cgroup.procs files (host paths),
     |          joins ipc, uts, net, pid (for children) and, last, mnt; reports the
     |          grandchild's host pid, waits for it and exits with its exit code
     +- grandchild   joins the cgroup (writes "0" to the already open cgroup.procs:
                     the middle stays out of the container's cgroup, so ``top`` and
                     cgroup removal never see it), then the cgroup ns; pty from the
                     container's devpts (master sent back with SCM_RIGHTS), user looked
                     up in the container's /etc/passwd in-root, env, cwd, rlimits,
                     caps/no_new_privs/seccomp exactly like the container's init
                     (:func:`runtime.shim.security.finalize`), execve

Messages to the caller go over one SOCK_SEQPACKET socket: ``{"pid": N}`` from the
middle, ``{"pty": true}`` + the master fd, ``{"error", "code"}`` on failure (126/127
like Docker).  The socket is close-on-exec in the grandchild, so EOF on it means the
command has exec'd (or failed).

The plan (a dict) comes from :func:`plan`, built from the container's ``bundle.json``.
Everything is imported up front: after ``setns(mnt)`` the host's files are gone.
"""

from __future__ import annotations

import _signal as signal
import _socket
import array
import errno
import fcntl
import os
import resource
import struct
import termios

from runtime.errors import KernelError, RuntimeFailure
from runtime.kernel import consts as C
from runtime.kernel.paths import open_in_root
from runtime.shim import init as stage
from runtime.shim import minijson, security
from runtime.shim.execplan import plan  # noqa: F401  (re-exported for the monitor)
from runtime.shim.users import resolve_user

# joined by the middle, in this order (mnt last: /proc paths must stay reachable)
NAMESPACES = (("ipc", C.CLONE_NEWIPC), ("uts", C.CLONE_NEWUTS), ("net", C.CLONE_NEWNET),
              ("pid", C.CLONE_NEWPID), ("mnt", C.CLONE_NEWNS))


def _starttime(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[19])


def _send(sock, msg: dict, fds: list[int] | None = None) -> None:
    data = minijson.dumps(msg).encode()[:60000]
    try:
        if fds:
            sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS,
                                   array.array("i", fds).tobytes())])
        else:
            sock.send(data)
    except OSError:
        pass


def _open_handles(p: dict) -> tuple[list[tuple[int, int]], list[int]]:
    """Namespace fds and cgroup.procs fds, opened while the host paths are reachable.
    The pid is checked against its recorded start time before and after (pid reuse)."""
    pid = p["pid"]
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        raise stage.StageError("container is not running", 126) from None
    try:
        if p.get("pid_start") is not None and _starttime(pid) != p["pid_start"]:
            raise stage.StageError("container is not running", 126)
        ns = []
        for name, flag in NAMESPACES:
            if name == "net" and p.get("host_net"):
                continue
            ns.append((os.open(f"/proc/{pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC), flag))
        ns.append((os.open(f"/proc/{pid}/ns/cgroup", os.O_RDONLY | os.O_CLOEXEC),
                   C.CLONE_NEWCGROUP))
        cg = [os.open(os.path.join(d, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC)
              for d in p.get("cgroup", ())]
        signal.pidfd_send_signal(pidfd, 0)     # still alive: the fds are the container's
    except (OSError, ValueError) as e:
        if isinstance(e, ProcessLookupError):
            raise stage.StageError("container is not running", 126) from None
        raise
    finally:
        os.close(pidfd)
    return ns, cg


def run_middle(k, p: dict, sock, stdio: tuple[int, int, int]) -> int:
    """Join the container and run the command; returns its exit code (128+signal)."""
    k.prctl(C.PR_SET_DUMPABLE, 0)
    bpf = p.get("seccomp_bpf")
    if isinstance(bpf, str):
        p["seccomp_bpf"] = bytes.fromhex(bpf)
    elif bpf is None and p.get("seccomp"):
        with open(p["seccomp"], "rb") as f:     # the CLI side: read before setns(mnt)
            p["seccomp_bpf"] = f.read()
    ns, cg = _open_handles(p)
    cgroupns = ns.pop()
    for fd, flag in ns:
        k.setns(fd, flag)
        os.close(fd)
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)       # the command decides; we relay its code
    execr, execw = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # ------------------------------------------------------ grandchild
        code = 125
        try:
            os.close(execr)
            _child(k, p, sock, stdio, cgroupns[0], cg)
        except stage.StageError as e:
            code = e.code
            _send(sock, {"error": str(e), "code": e.code})
        except RuntimeFailure as e:
            code = 126
            _send(sock, {"error": e.message, "code": 126})
        except KernelError as e:
            _send(sock, {"error": f"{e.syscall}: {os.strerror(e.errno)}"
                                  + (f" ({e.path})" if e.path else ""), "code": 126})
            code = 126
        except BaseException as e:
            _send(sock, {"error": f"exec: {type(e).__name__}: {e}", "code": 126})
            code = 126
        os._exit(code)
    os.close(execw)
    os.close(cgroupns[0])
    for fd in cg:
        os.close(fd)
    _send(sock, {"pid": pid})
    sock.close()
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    for fd in set(stdio):      # only the command holds its stdio: EOF when it exits
        if fd > 2:
            os.close(fd)
        else:
            os.dup2(null, fd)
    os.close(null)
    os.read(execr, 1)      # exec'd or failed
    os.close(execr)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _child(k, p: dict, sock, stdio: tuple[int, int, int], cgroupns: int,
           cg: list[int]) -> None:
    for fd in cg:
        os.write(fd, b"0")         # "0" = the writer: join while still outside the cgroupns
        os.close(fd)
    k.setns(cgroupns, C.CLONE_NEWCGROUP)
    os.close(cgroupns)
    os.chdir("/")
    root = os.open("/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        user = resolve_user(k, root, p["user"], p.get("group_add", ()))
    finally:
        os.close(root)
    if p["tty"]:
        master, slave = os.openpty()       # /dev/ptmx -> the container's own devpts
        if p.get("console_size"):
            _winsize(slave, *p["console_size"])
        os.fchown(slave, user.uid, 5 if user.uid else -1)
        _send(sock, {"pty": True}, [master])
        os.close(master)
        os.login_tty(slave)
    else:
        if p.get("setsid"):
            os.setsid()
        for target, fd in enumerate(stdio):
            if fd != target:
                os.dup2(fd, target)
        for fd in set(stdio):
            if fd > 2:
                os.close(fd)
    for name, soft, hard in p.get("rlimits", ()):
        resource.setrlimit(getattr(resource, C.RLIMITS[name]), (soft, hard))
    b = {"hostname": p.get("hostname"), "process": {"env": p["env"]}}
    env = stage._environment(b, user.home, p["tty"])
    cwd = p["cwd"]
    try:
        os.chdir(cwd)
    except OSError as e:
        raise stage.StageError(f"chdir to cwd ({cwd!r}) set in config.json failed: "
                               f"{os.strerror(e.errno or errno.EIO)}", 126) from None
    root = os.open("/", C.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:   # a symlinked working dir must stay inside the root
        os.close(open_in_root(k, root, cwd, C.O_PATH | os.O_DIRECTORY))
    finally:
        os.close(root)
    args = list(p["args"])
    if not args:
        raise stage.StageError("no command specified", 126)
    exe = stage._lookup(args[0], env)
    security.finalize(k, p, user.uid, user.gid, list(user.groups))
    stage._close_fds(sock.fileno())
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP, signal.SIGINT, signal.SIGTERM,
                signal.SIGCHLD, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    try:
        os.execve(exe, args, dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in env))
    except OSError as e:
        code = 126 if e.errno in (errno.EACCES, errno.ENOEXEC, errno.EISDIR) else 127
        raise stage.StageError(f'exec: "{args[0]}": {os.strerror(e.errno or errno.EIO)}',
                               code) from None


def _winsize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


BOOT = ("import sys;sys.path.insert(0,sys.argv[1]);"
        "from runtime.shim.execproc import main;main(sys.argv[2:])")


def main(argv: list[str]) -> None:
    """Helper entry: ``<plan fd> <sock fd>``; the command's stdio are fds 0/1/2.  With
    ``"detach"`` in the plan the first process exits at once (the caller need not wait)."""
    from runtime.kernel import kernel

    plan_fd, sock_fd = int(argv[0]), int(argv[1])
    sock = _socket.socket(fileno=sock_fd)
    os.set_inheritable(sock_fd, False)
    chunks = []
    while chunk := os.read(plan_fd, 65536):
        chunks.append(chunk)
    os.close(plan_fd)
    p = minijson.loads(b"".join(chunks))
    if p.get("detach"):
        if os.fork():
            os._exit(0)
        os.setsid()
    os._exit(middle_main(kernel(), p, sock, (0, 1, 2)))


def middle_main(k, p: dict, sock, stdio: tuple[int, int, int]) -> int:
    """:func:`run_middle` with every failure reported on ``sock``; the exit code."""
    try:
        return run_middle(k, p, sock, stdio)
    except stage.StageError as e:
        _send(sock, {"error": str(e), "code": e.code})
        return e.code
    except BaseException as e:  # setns refused, ...
        _send(sock, {"error": f"exec: {type(e).__name__}: {e}", "code": 126})
        return 126
