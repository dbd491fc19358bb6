"""A kernel that records calls instead of making them (unit tests).

``RecordingKernel().calls`` is a list of ``(name, args)`` tuples in call order.
``fail={"mount": errno.EPERM}`` makes the named call raise KernelError once per entry;
``results={"openat2": 7}`` sets return values.  ``openat2`` defaults to ENOSYS so that
path resolution under test uses the pure-Python walk on the real (temporary) directory.
"""

from __future__ import annotations

import errno
from typing import Any

from runtime.errors import KernelError


class RecordingKernel:
    name = "fake"

    def __init__(self, fail: dict[str, int] | None = None,
                 results: dict[str, Any] | None = None) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self.fail = dict(fail or {})
        self.results = dict(results or {})

    def _rec(self, name: str, *args: Any) -> Any:
        self.calls.append((name, args))
        if name in self.fail:
            raise KernelError(name, self.fail.pop(name), str(args[1]) if len(args) > 1
                              else None)
        return self.results.get(name)

    def names(self) -> list[str]:
        return [n for n, _ in self.calls]

    def mount(self, source, target, fstype, flags=0, data=None):
        self._rec("mount", source, target, fstype, flags, data)

    def umount2(self, target, flags=0):
        self._rec("umount2", target, flags)

    def pivot_root(self, new_root, put_old):
        self._rec("pivot_root", new_root, put_old)

    def unshare(self, flags):
        self._rec("unshare", flags)

    def setns(self, fd, nstype=0):
        self._rec("setns", fd, nstype)

    def sethostname(self, name):
        self._rec("sethostname", name)

    def setdomainname(self, name):
        self._rec("setdomainname", name)

    def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0):
        return self._rec("prctl", option, arg2, arg3, arg4, arg5) or 0

    def pidfd_open(self, pid):
        return self._rec("pidfd_open", pid)

    def pidfd_send_signal(self, pidfd, sig):
        self._rec("pidfd_send_signal", pidfd, sig)

    def openat2(self, dirfd, path, flags, mode=0, resolve=0):
        self.calls.append(("openat2", (dirfd, path, flags, mode, resolve)))
        if "openat2" in self.results:
            return self.results["openat2"]
        raise KernelError("openat2", errno.ENOSYS, path)

    def seccomp_load_bpf(self, bpf):
        self._rec("seccomp_load_bpf", len(bpf))

    def mknod(self, path, mode, device):
        self._rec("mknod", path, mode, device)
