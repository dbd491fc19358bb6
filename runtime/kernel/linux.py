"""The real kernel: ctypes on libc with declared prototypes.

Every call raises :class:`runtime.errors.KernelError` (syscall name, errno, path) on
failure.  Only the calls the stdlib lacks live here; everything else (fork, execve,
setresuid, mknod, pidfd_open, prlimit ...) is plain ``os``/``resource``.
"""

from __future__ import annotations

import ctypes
import errno
import os

from runtime.errors import KernelError
from runtime.kernel import consts as C

_libc = ctypes.CDLL(None, use_errno=True)


def _fn(name: str, restype, *argtypes):
    f = getattr(_libc, name, None)
    if f is None:
        return None
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_c_char_p = ctypes.c_char_p
_mount = _fn("mount", ctypes.c_int, _c_char_p, _c_char_p, _c_char_p, ctypes.c_ulong,
             _c_char_p)
_umount2 = _fn("umount2", ctypes.c_int, _c_char_p, ctypes.c_int)
_pivot_root = _fn("pivot_root", ctypes.c_int, _c_char_p, _c_char_p)
_unshare = _fn("unshare", ctypes.c_int, ctypes.c_int)
_setns = _fn("setns", ctypes.c_int, ctypes.c_int, ctypes.c_int)
_sethostname = _fn("sethostname", ctypes.c_int, _c_char_p, ctypes.c_size_t)
_setdomainname = _fn("setdomainname", ctypes.c_int, _c_char_p, ctypes.c_size_t)
_prctl = _fn("prctl", ctypes.c_int, ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
             ctypes.c_ulong, ctypes.c_ulong)
# syscall(2) is variadic: one function object per prototype (CDLL[...] gives a new one)
_sys_openat2 = _libc["syscall"]
_sys_openat2.restype = ctypes.c_long
_sys_openat2.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
                         ctypes.c_size_t]
_sys_pivot_root = _libc["syscall"]
_sys_pivot_root.restype = ctypes.c_long
_sys_pivot_root.argtypes = [ctypes.c_long, ctypes.c_char_p, ctypes.c_char_p]
_SYSNO = C.SYSCALLS.get(os.uname().machine, C.SYSCALLS["x86_64"])


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_prctl_ptr = _libc["prctl"]
_prctl_ptr.restype = ctypes.c_int
_prctl_ptr.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                       ctypes.c_ulong]


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def _b(s: str | bytes | None) -> bytes | None:
    if s is None or isinstance(s, bytes):
        return s
    return os.fsencode(s)


def _check(rc: int, syscall: str, path: str | None = None) -> int:
    if rc < 0:
        raise KernelError(syscall, ctypes.get_errno(), path)
    return rc


class LinuxKernel:
    """System calls on the running kernel (see :mod:`runtime.kernel` for the contract)."""

    name = "linux"

    def mount(self, source: str | None, target: str, fstype: str | None, flags: int = 0,
              data: str | None = None) -> None:
        _check(_mount(_b(source), _b(target), _b(fstype), flags, _b(data)), "mount", target)

    def umount2(self, target: str, flags: int = 0) -> None:
        _check(_umount2(_b(target), flags), "umount2", target)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        if _pivot_root is not None:
            _check(_pivot_root(_b(new_root), _b(put_old)), "pivot_root", new_root)
        else:
            _check(_sys_pivot_root(_SYSNO["pivot_root"], _b(new_root), _b(put_old)),
                   "pivot_root", new_root)

    def unshare(self, flags: int) -> None:
        _check(_unshare(flags), "unshare")

    def setns(self, fd: int, nstype: int = 0) -> None:
        _check(_setns(fd, nstype), "setns")

    def sethostname(self, name: str) -> None:
        b = name.encode()
        _check(_sethostname(b, len(b)), "sethostname", name)

    def setdomainname(self, name: str) -> None:
        b = name.encode()
        _check(_setdomainname(b, len(b)), "setdomainname", name)

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0,
              arg5: int = 0) -> int:
        return _check(_prctl(option, arg2, arg3, arg4, arg5), "prctl")

    def pidfd_open(self, pid: int) -> int:
        try:
            return os.pidfd_open(pid)
        except OSError as e:
            raise KernelError("pidfd_open", e.errno or errno.EIO, str(pid)) from None

    def pidfd_send_signal(self, pidfd: int, sig: int) -> None:
        import signal

        try:
            signal.pidfd_send_signal(pidfd, sig)
        except OSError as e:
            raise KernelError("pidfd_send_signal", e.errno or errno.EIO) from None

    def openat2(self, dirfd: int, path: str, flags: int, mode: int = 0,
                resolve: int = 0) -> int:
        how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
        rc = _sys_openat2(_SYSNO["openat2"], dirfd, _b(path), ctypes.addressof(how),
                          ctypes.sizeof(how))
        return _check(rc, "openat2", path)

    def seccomp_load_bpf(self, bpf: bytes) -> None:
        """Install a compiled classic-BPF seccomp program (``PR_SET_SECCOMP``).

        Needs no_new_privs or CAP_SYS_ADMIN.  The program comes from
        ``runtime.security.seccomp`` (libseccomp), compiled once and cached.
        """
        if len(bpf) % 8:
            raise KernelError("seccomp", errno.EINVAL, hint="BPF program size is not a "
                              "multiple of 8")
        buf = ctypes.create_string_buffer(bpf, len(bpf))
        prog = _SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
        rc = _prctl_ptr(C.PR_SET_SECCOMP, C.SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0)
        _check(rc, "prctl(PR_SET_SECCOMP)")

    def mknod(self, path: str, mode: int, device: int) -> None:
        try:
            os.mknod(path, mode, device)
        except OSError as e:
            raise KernelError("mknod", e.errno or errno.EIO, path) from None
