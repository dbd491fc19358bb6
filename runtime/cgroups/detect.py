"""Which cgroup layout the host has, decided at run time.

* Pure v2 ("unified"): ``/sys/fs/cgroup`` itself is a cgroup2 mount (statfs magic
  ``CGROUP2_SUPER_MAGIC``; in a test tree: it has ``cgroup.controllers``).
* v1 / hybrid: ``/sys/fs/cgroup`` is a tmpfs holding one directory per v1 hierarchy
  (``memory``, ``cpu,cpuacct`` with ``cpu``/``cpuacct`` symlinks, ...), and on hybrid
  hosts also a cgroup2 mount at ``unified`` that usually holds no controllers at all
  (systemd uses it only for process tracking).  Every controller mounted as v1 is
  driven through v1; the unified mount is reported but not used.  (crun 1.8 picks v2
  as soon as it sees the unified mount and then fails on this kind of host.)
"""

from __future__ import annotations

import os

from runtime._record import Record
from runtime.cgroups.base import PARENT
from runtime.errors import PermissionRequired

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (lean shim)
if TYPE_CHECKING:
    from runtime.cgroups.api import CgroupDriver

DEFAULT_ROOT = "/sys/fs/cgroup"
CGROUP2_SUPER_MAGIC = 0x63677270
CGROUP_SUPER_MAGIC = 0x0027E0EB

# v1 hierarchies whose directory name is not a controller list.
_NOT_CONTROLLERS = {"unified", "systemd", "elogind"}


class CgroupLayout(Record):
    """What :func:`detect` found.  ``v1`` maps controller -> hierarchy mount;
    ``v2_controllers`` are those offered by the cgroup2 root (``v2_root``).
    ``version``: 1 (legacy or hybrid), 2 (unified), 0 (no cgroup filesystem)."""

    __slots__ = ("version", "root", "v1", "v2_root", "v2_controllers")  # noqa: RUF023
    _defaults = {"v1": {}, "v2_root": None, "v2_controllers": frozenset()}
    version: int
    root: str
    v1: dict[str, str]
    v2_root: str | None
    v2_controllers: frozenset[str]

    def __hash__(self) -> int:
        return hash((self.version, self.root, self.v2_root))

    @property
    def hybrid(self) -> bool:
        return self.version == 1 and self.v2_root is not None

    def controllers(self) -> list[str]:
        return sorted(self.v1) if self.version == 1 else sorted(self.v2_controllers)


_statfs = None


def fs_magic(path: str | os.PathLike[str]) -> int | None:
    """``statfs(path).f_type`` (the stdlib's statvfs does not expose it)."""
    global _statfs
    import ctypes

    if _statfs is None:
        libc = ctypes.CDLL(None, use_errno=True)
        _statfs = libc.statfs
        _statfs.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    buf = ctypes.create_string_buffer(256)           # struct statfs is 120 bytes on LP64
    if _statfs(os.fsencode(path), buf) != 0:
        return None
    return ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF


def _kind(path: str) -> int:
    """2 for a cgroup2 directory, 1 for a v1 hierarchy, 0 otherwise.  statfs decides on
    a real host; a test tree (ext4/tmpfs everywhere) is judged by the kernel's marker
    files instead."""
    magic = fs_magic(path)
    if magic == CGROUP2_SUPER_MAGIC:
        return 2
    if magic == CGROUP_SUPER_MAGIC:
        return 1
    if os.path.isfile(os.path.join(path, "cgroup.controllers")):
        return 2
    if os.path.isfile(os.path.join(path, "cgroup.procs")):
        return 1
    return 0


def detect(root: str | os.PathLike[str] = DEFAULT_ROOT) -> CgroupLayout:
    """Inspect ``root`` (``/sys/fs/cgroup``, or a test tree laid out like it)."""
    root = os.path.abspath(os.fspath(root))
    if not os.path.isdir(root):
        return CgroupLayout(0, root)
    if _kind(root) == 2:
        return CgroupLayout(2, root, v2_root=root, v2_controllers=_controllers(root))
    v1: dict[str, str] = {}
    v2_root: str | None = None
    for name in sorted(os.listdir(root)):
        entry = os.path.join(root, name)
        if not os.path.isdir(entry):
            continue
        target = os.path.realpath(entry)              # cpu -> cpu,cpuacct
        kind = _kind(target)
        if kind == 2:
            v2_root = target
        elif kind == 1 and name not in _NOT_CONTROLLERS and not name.startswith("name="):
            for ctrl in os.path.basename(target).split(","):
                v1.setdefault(ctrl, target)
    if v1:
        return CgroupLayout(1, root, v1=v1, v2_root=v2_root,
                            v2_controllers=_controllers(v2_root) if v2_root else frozenset())
    if v2_root is not None:                            # only a unified mount under a tmpfs
        return CgroupLayout(2, root, v2_root=v2_root, v2_controllers=_controllers(v2_root))
    return CgroupLayout(0, root)


def _controllers(path: str) -> frozenset[str]:
    try:
        with open(os.path.join(path, "cgroup.controllers")) as f:
            return frozenset(f.read().split())
    except OSError:
        return frozenset()


def driver(root: str | os.PathLike[str] = DEFAULT_ROOT, *, parent: str = PARENT,
           layout: CgroupLayout | None = None) -> CgroupDriver:
    """The driver for this host (v1 on legacy and hybrid hosts, v2 on unified ones)."""
    layout = layout or detect(root)
    if layout.version == 1:
        from runtime.cgroups.v1 import CgroupV1

        return CgroupV1(layout.v1, parent=parent)
    if layout.version == 2 and layout.v2_root is not None:
        from runtime.cgroups.v2 import CgroupV2

        return CgroupV2(layout.v2_root, parent=parent)
    raise PermissionRequired(f"no cgroup filesystem found at {layout.root}",
                             hint="mount cgroup2 on /sys/fs/cgroup (or the v1 hierarchies)")
