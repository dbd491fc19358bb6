"""Linux capabilities: Docker's default set, ``cap_add``/``cap_drop``/``privileged``,
and applying a set to the calling process (ctypes: prctl, capset; stdlib only).

Call order in the container init, the same as runc's ``finalizeNamespace`` and crun's
``set_required_caps``::

    caps = capabilities.effective_caps(sec.cap_add, sec.cap_drop, sec.privileged)
    flt = seccomp.prepare(sec.seccomp, caps)   # BEFORE pivot_root: reads the profile,
                                               # dlopens libseccomp (None = unconfined)
    ... pivot_root, mounts, masked/readonly paths, hostname ...
    if flt and not sec.no_new_privileges:
        flt.load()                             # needs CAP_SYS_ADMIN, about to go
    capabilities.apply(caps, switch_user=lambda: (os.setgroups(groups),
                                                  os.setresgid(g, g, g),
                                                  os.setresuid(u, u, u)))
    if sec.no_new_privileges:
        seccomp.set_no_new_privs()
        if flt:
            flt.load()                         # as late as possible
    close fds, os.execve(...)

:func:`apply` itself does, in order:

1. drop every capability outside ``caps`` from the bounding set (``PR_CAPBSET_DROP``;
   needs CAP_SETPCAP, so while still uid 0 with the full set);
2. if ``switch_user`` is given: ``PR_SET_KEEPCAPS 1``, call it (setgroups, then
   setresgid, then setresuid: gid before uid or the gid change is refused), then
   ``PR_SET_KEEPCAPS 0``;
3. ``capset``: effective = permitted = ``caps``, inheritable empty (Docker stopped
   setting inheritable caps after CVE-2022-24769);
4. ambient set cleared, then, only with ``ambient=True``, raised for each cap (which
   also needs them inheritable).  Docker sets no ambient caps: a non-root user keeps
   only the bounding set, and gets no effective caps after exec.

For a process that stays uid 0 the post-exec set equals the bounding set, so step 1 is
what makes ``CapEff`` = ``00000000a80425fb`` for the default set.
"""

from __future__ import annotations

import ctypes  # at import time: the init calls these after pivot_root
import os

from runtime.errors import InvalidInputError, KernelError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (lean init)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

# linux/capability.h, in bit order.
NAMES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
BIT: dict[str, int] = {name: i for i, name in enumerate(NAMES)}

DEFAULT: frozenset[str] = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
})
DEFAULT_MASK = 0x00000000A80425FB                   # what `docker run` shows in CapEff

# prctl options (linux/prctl.h)
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def last_cap() -> int:
    """Highest capability number the running kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(NAMES) - 1


def all_caps() -> frozenset[str]:
    """Every capability the running kernel supports (``privileged``, ``cap_add: ALL``)."""
    return frozenset(NAMES[: last_cap() + 1])


def normalize(name: str) -> str:
    """``chown``, ``CHOWN``, ``cap_chown`` -> ``CAP_CHOWN``; ``all`` -> ``ALL``."""
    n = name.strip().upper()
    if n == "ALL":
        return n
    if not n.startswith("CAP_"):
        n = "CAP_" + n
    if n not in BIT:
        raise InvalidInputError(f"unknown capability: {name!r}",
                                hint="use a name from capabilities(7), e.g. NET_ADMIN, or ALL")
    return n


def effective_caps(cap_add: Iterable[str] = (), cap_drop: Iterable[str] = (),
                   privileged: bool = False, *, base: frozenset[str] = DEFAULT
                   ) -> frozenset[str]:
    """The container's capability set, with Docker's rules: privileged gets all;
    ``cap_add: [ALL]`` gives all minus ``cap_drop``; ``cap_drop: [ALL]`` keeps only
    ``cap_add``; otherwise default minus drops plus adds."""
    adds = {normalize(c) for c in cap_add}
    drops = {normalize(c) for c in cap_drop}
    if privileged:
        return all_caps()
    if "ALL" in adds:
        return frozenset(all_caps() - drops)
    if "ALL" in drops:
        return frozenset(adds - {"ALL"})
    return frozenset((base - drops) | adds)


def to_mask(caps: Iterable[str]) -> int:
    mask = 0
    for c in caps:
        mask |= 1 << BIT[c]
    return mask


def from_mask(mask: int) -> frozenset[str]:
    return frozenset(n for n, b in BIT.items() if mask >> b & 1)


# -- kernel calls --------------------------------------------------------------------

_libc = None


def _lib():
    global _libc
    if _libc is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                              ctypes.c_ulong]
        lib.prctl.restype = ctypes.c_int
        _libc = lib
    return _libc


def prctl(option: int, arg2: int = 0, arg3: int = 0, name: str = "prctl") -> int:
    rc = _lib().prctl(option, arg2, arg3, 0, 0)
    if rc < 0:
        raise KernelError(name, ctypes.get_errno())
    return rc


def _known_bits() -> range:
    """Bits to walk: the kernel's (``cap_last_cap``, or our table when /proc is not
    readable, e.g. after pivot_root before /proc is mounted); EINVAL marks the end."""
    return range(min(last_cap(), len(NAMES) - 1) + 1)


def bounding_set() -> frozenset[str]:
    out = []
    for i in _known_bits():
        try:
            if prctl(PR_CAPBSET_READ, i, name="prctl(PR_CAPBSET_READ)") == 1:
                out.append(NAMES[i])
        except KernelError as e:
            if e.errno != 22:          # EINVAL: the kernel has no such capability
                raise
            break
    return frozenset(out)


def drop_bounding(keep: frozenset[str]) -> None:
    """Remove every capability not in ``keep`` from the bounding set."""
    keep_bits = {BIT[c] for c in keep}
    for bit in _known_bits():
        if bit not in keep_bits:
            try:
                prctl(PR_CAPBSET_DROP, bit, name=f"prctl(PR_CAPBSET_DROP, {bit})")
            except KernelError as e:
                if e.errno != 22:
                    raise
                break


def set_keepcaps(on: bool) -> None:
    prctl(PR_SET_KEEPCAPS, int(on), name="prctl(PR_SET_KEEPCAPS)")


def capset(effective: int, permitted: int, inheritable: int = 0) -> None:
    """The capset(2) syscall with the v3 header (64-bit masks in two 32-bit words)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    hdr = Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (Data * 2)()
    for i in (0, 1):
        shift = 32 * i
        data[i].effective = (effective >> shift) & 0xFFFFFFFF
        data[i].permitted = (permitted >> shift) & 0xFFFFFFFF
        data[i].inheritable = (inheritable >> shift) & 0xFFFFFFFF
    if _lib().capset(ctypes.byref(hdr), data) != 0:
        raise KernelError("capset", ctypes.get_errno(),
                          hint="capset can only lower caps, or raise them within permitted")


def set_ambient(caps: frozenset[str]) -> None:
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, name="prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
    for c in sorted(caps, key=BIT.__getitem__):
        try:
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, BIT[c], name="prctl(AMBIENT_RAISE)")
        except KernelError as e:           # tolerated, as crun does
            if e.errno not in (1, 22):     # EPERM, EINVAL
                raise


def apply(caps: Iterable[str | int], *, switch_user: Callable[[], object] | None = None,
          ambient: bool = False) -> None:
    """Give the calling process exactly ``caps`` (names ``CAP_...`` or numbers; see the
    module docstring for the order).  Caps the calling process does not have itself
    (the host's bounding set may lack some, e.g. under another container runtime) are
    left out rather than failing.  Call it after pivot_root: it imports nothing.
    """
    wanted = frozenset(NAMES[c] if isinstance(c, int) else c for c in caps) & bounding_set()
    drop_bounding(wanted)
    if switch_user is not None:
        set_keepcaps(True)
        try:
            switch_user()
        finally:
            set_keepcaps(False)
    mask = to_mask(wanted)
    capset(mask, mask, mask if ambient else 0)
    if ambient:
        set_ambient(wanted)
    else:
        try:
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, name="prctl(AMBIENT_CLEAR_ALL)")
        except KernelError:
            pass                           # kernels before 4.3 have no ambient set


def current() -> dict[str, int]:
    """``CapInh/CapPrm/CapEff/CapBnd/CapAmb`` of the calling process, from /proc."""
    out: dict[str, int] = {}
    with open(f"/proc/{os.getpid()}/status") as f:
        for line in f:
            if line.startswith("Cap"):
                key, _, val = line.partition(":")
                out[key] = int(val.strip(), 16)
    return out
