"""The one narrow interface between pycompose's runtime and the kernel.

Code that needs a system call the stdlib lacks receives a *kernel object* and calls it;
it never touches ctypes.  Two implementations share one method set:

* :class:`runtime.kernel.linux.LinuxKernel` — ctypes on libc, declared prototypes,
  errors raised as :class:`runtime.errors.KernelError` (syscall, errno, path);
* :class:`runtime.kernel.fake.RecordingKernel` — records every call for unit tests.

Methods: ``mount umount2 pivot_root unshare setns sethostname setdomainname prctl
pidfd_open pidfd_send_signal openat2 mknod seccomp_load_bpf`` plus the helpers in
:mod:`runtime.kernel.paths` (in-root path resolution built on ``openat2``).
"""

from __future__ import annotations

_KERNEL = None


def kernel():
    """The process-wide real kernel (imports ctypes on first use)."""
    global _KERNEL
    if _KERNEL is None:
        from runtime.kernel.linux import LinuxKernel

        _KERNEL = LinuxKernel()
    return _KERNEL
