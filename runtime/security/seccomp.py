"""Seccomp filters: Docker's default policy, ``unconfined``, or a Docker-format JSON
profile, compiled and loaded by libseccomp (``libseccomp.so.2``) through ctypes.

libseccomp keeps the per-architecture syscall tables and writes the BPF; we only
translate rules.  Semantics follow Docker/runc:

* default action ``ERRNO(EPERM)``; the filter covers the native arch plus Docker's
  sub-arches (x86 and x32 on x86_64), any other arch is killed;
* a rule applies if every cap in ``includes.caps`` is in the container's caps, none of
  ``excludes.caps`` is, the arch matches ``includes/excludes.arches`` and the kernel is
  at least ``includes.minKernel``;
* conditions on distinct arguments are ANDed in one rule; if two conditions test the
  same argument, each becomes its own rule (ORed), as runc does;
* syscall names unknown to this libseccomp are skipped;
* the filter does not set no_new_privs itself (libseccomp would by default): without
  it, loading needs CAP_SYS_ADMIN, so the init loads it *before* dropping caps, or
  after :func:`set_no_new_privs` right before exec.  See
  ``runtime.security.capabilities`` for the whole order.
"""

from __future__ import annotations

import ctypes
import errno
import os

from runtime._record import Record
from runtime.errors import InvalidInputError, KernelError, RuntimeFailure

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (lean init)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# scmp_compare
_OPS = {"NE": 1, "LT": 2, "LE": 3, "EQ": 4, "GE": 5, "GT": 6, "MASKED_EQ": 7}
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_KILL_THREAD = 0x00000000
SCMP_ACT_TRAP = 0x00030000
SCMP_ACT_ERRNO = 0x00050000
SCMP_ACT_TRACE = 0x7FF00000
SCMP_ACT_LOG = 0x7FFC0000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_FLTATR_CTL_NNP = 3
_NR_SCMP_ERROR = -1
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39

# Docker's ``includes.arches`` use Go's names.
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm",
           "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x",
           "riscv64": "riscv64", "mips64": "mips64", "loongarch64": "loong64"}


class Arg(Record):
    """Condition on syscall argument ``index``: ``op`` is NE LT LE EQ GE GT MASKED_EQ;
    for MASKED_EQ, ``(arg & value) == value2``."""

    __slots__ = ("index", "op", "value", "value2")
    _defaults = {"value2": 0}
    index: int
    op: str
    value: int
    value2: int


class Rule(Record):
    """One allow/deny entry of a profile (the conditions say when it applies)."""

    __slots__ = ("names", "action", "errno", "args", "caps", "not_caps",  # noqa: RUF023
                 "arches", "not_arches", "min_kernel")
    _defaults = {"action": "allow", "errno": None, "args": (), "caps": frozenset(),
                 "not_caps": frozenset(), "arches": frozenset(), "not_arches": frozenset(),
                 "min_kernel": None}
    names: tuple[str, ...]
    action: str                        # allow errno kill kill_process trap log trace
    errno: int | None                  # errno / trace message; None = profile default
    args: tuple[Arg, ...]
    caps: frozenset[str]               # all required
    not_caps: frozenset[str]           # any present disables the rule
    arches: frozenset[str]             # Go arch names; empty = all
    not_arches: frozenset[str]
    min_kernel: tuple[int, int] | None

    def applies(self, caps: frozenset[str], arch: str, kernel: tuple[int, int]) -> bool:
        if self.not_arches and arch in self.not_arches:
            return False
        if self.not_caps & caps:
            return False
        if self.arches and arch not in self.arches:
            return False
        if not self.caps <= caps:
            return False
        return not (self.min_kernel and kernel < self.min_kernel)


class Profile(Record):
    """A whole policy; ``arch_map``: native arch -> extra arches (libseccomp names)."""

    __slots__ = ("default_action", "default_errno", "arch_map", "rules")  # noqa: RUF023
    _defaults = {"default_action": "errno", "default_errno": errno.EPERM, "arch_map": {},
                 "rules": ()}
    default_action: str
    default_errno: int
    arch_map: Mapping[str, tuple[str, ...]]
    rules: tuple[Rule, ...]

    def __hash__(self) -> int:
        return hash(self.rules)

    def rules_for(self, caps: Iterable[str], arch: str | None = None,
                  kernel: tuple[int, int] | None = None) -> list[Rule]:
        """The rules that apply to a container with ``caps`` (pure; tested directly)."""
        capset = frozenset(caps)
        arch = arch or go_arch()
        kernel = kernel or kernel_version()
        return [r for r in self.rules if r.applies(capset, arch, kernel)]


def go_arch(machine: str | None = None) -> str:
    m = machine or os.uname().machine
    return _GOARCH.get(m, m)


def kernel_version(release: str | None = None) -> tuple[int, int]:
    rel = release or os.uname().release
    parts = rel.split("-")[0].split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return (0, 0)


# -- Docker JSON ---------------------------------------------------------------------

def _action(name: str) -> str:
    table = {"SCMP_ACT_ALLOW": "allow", "SCMP_ACT_ERRNO": "errno", "SCMP_ACT_KILL": "kill",
             "SCMP_ACT_KILL_THREAD": "kill", "SCMP_ACT_KILL_PROCESS": "kill_process",
             "SCMP_ACT_TRAP": "trap", "SCMP_ACT_LOG": "log", "SCMP_ACT_TRACE": "trace"}
    try:
        return table[name]
    except KeyError:
        raise InvalidInputError(f"seccomp profile: unsupported action {name!r}",
                                hint=f"supported: {', '.join(table)}") from None


def _arch_name(scmp: str) -> str:
    return scmp.removeprefix("SCMP_ARCH_").lower()


def _kernel_tuple(text: str) -> tuple[int, int]:
    return kernel_version(text)


def profile_from_docker(doc: Mapping, source: str = "<profile>") -> Profile:
    """Parse a Docker/moby seccomp JSON profile (``defaultAction``, ``archMap`` or
    ``architectures``, ``syscalls`` with ``names``/``name``, ``args``, ``includes``,
    ``excludes``, ``errnoRet``)."""
    try:
        default_errno = int(doc.get("defaultErrnoRet", errno.EPERM))
        arch_map: dict[str, tuple[str, ...]] = {}
        for entry in doc.get("archMap") or ():
            arch_map[_arch_name(entry["architecture"])] = tuple(
                _arch_name(a) for a in entry.get("subArchitectures") or ())
        if not arch_map and doc.get("architectures"):
            names = [_arch_name(a) for a in doc["architectures"]]
            arch_map = {n: tuple(x for x in names if x != n) for n in names}
        rules = []
        for sc in doc.get("syscalls") or ():
            names = tuple(sc.get("names") or ((sc["name"],) if sc.get("name") else ()))
            inc = sc.get("includes") or {}
            exc = sc.get("excludes") or {}
            rules.append(Rule(
                names=names,
                action=_action(sc["action"]),
                errno=sc.get("errnoRet"),
                args=tuple(Arg(int(a["index"]), a["op"].removeprefix("SCMP_CMP_"),
                               int(a.get("value", 0)), int(a.get("valueTwo", 0)))
                           for a in sc.get("args") or ()),
                caps=frozenset(inc.get("caps") or ()),
                not_caps=frozenset(exc.get("caps") or ()),
                arches=frozenset(inc.get("arches") or ()),
                not_arches=frozenset(exc.get("arches") or ()),
                min_kernel=_kernel_tuple(inc["minKernel"]) if inc.get("minKernel") else None,
            ))
        for r in rules:
            for a in r.args:
                if a.op not in _OPS:
                    raise InvalidInputError(f"seccomp profile {source}: unknown op {a.op!r}")
        return Profile(_action(doc.get("defaultAction", "SCMP_ACT_ERRNO")), default_errno,
                       arch_map, tuple(rules))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InvalidInputError(f"seccomp profile {source} is malformed: {e}",
                                hint="expected Docker's seccomp JSON format") from None


def load_profile_file(path: str | os.PathLike[str]) -> Profile:
    import json

    p = os.fspath(path)
    try:
        with open(p) as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise InvalidInputError(f"seccomp profile not found: {p}") from None
    except (OSError, ValueError) as e:
        raise InvalidInputError(f"cannot read seccomp profile {p}: {e}") from None
    return profile_from_docker(doc, str(p))


def resolve_profile(profile: str | os.PathLike[str]) -> Profile | None:
    """``"default"`` -> Docker's policy, ``"unconfined"`` -> None, else a JSON file."""
    if profile in ("default", "", None):
        from runtime.security.seccomp_default import DEFAULT_PROFILE

        return DEFAULT_PROFILE
    if profile == "unconfined":
        return None
    return load_profile_file(profile)


# -- libseccomp ----------------------------------------------------------------------

_lib = None


def _libseccomp():
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError:
            raise RuntimeFailure("libseccomp.so.2 not found",
                                 hint="install libseccomp2 (Debian/Ubuntu) or libseccomp "
                                      "(Fedora), or run with seccomp=unconfined") from None
        vp, u32, i, ui = ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint
        lib.seccomp_init.argtypes, lib.seccomp_init.restype = [u32], vp
        lib.seccomp_release.argtypes, lib.seccomp_release.restype = [vp], None
        lib.seccomp_arch_add.argtypes, lib.seccomp_arch_add.restype = [vp, u32], i
        lib.seccomp_arch_native.argtypes, lib.seccomp_arch_native.restype = [], u32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_arch_resolve_name.restype = u32
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name.restype = i
        lib.seccomp_rule_add_array.argtypes = [vp, u32, i, ui, ctypes.c_void_p]
        lib.seccomp_rule_add_array.restype = i
        lib.seccomp_attr_set.argtypes, lib.seccomp_attr_set.restype = [vp, i, u32], i
        lib.seccomp_load.argtypes, lib.seccomp_load.restype = [vp], i
        lib.seccomp_export_bpf.argtypes, lib.seccomp_export_bpf.restype = [vp, i], i
        _lib = lib
    return _lib


def _action_value(action: str, err: int | None, default_errno: int) -> int:
    if action == "allow":
        return SCMP_ACT_ALLOW
    if action == "errno":
        return SCMP_ACT_ERRNO | ((default_errno if err is None else err) & 0xFFFF)
    if action == "kill":
        return SCMP_ACT_KILL_THREAD
    if action == "kill_process":
        return SCMP_ACT_KILL_PROCESS
    if action == "trap":
        return SCMP_ACT_TRAP
    if action == "log":
        return SCMP_ACT_LOG
    if action == "trace":
        return SCMP_ACT_TRACE | ((err or 0) & 0xFFFF)
    raise InvalidInputError(f"unknown seccomp action {action!r}")


class Filter:
    """A libseccomp filter context built from a profile (release with :meth:`close`)."""

    def __init__(self, profile: Profile, caps: Iterable[str]) -> None:
        class ArgCmp(ctypes.Structure):
            _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                        ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]

        lib = _libseccomp()
        self._lib = lib
        default = _action_value(profile.default_action, None, profile.default_errno)
        self._ctx = lib.seccomp_init(default)
        if not self._ctx:
            raise KernelError("seccomp_init", errno.EINVAL)
        try:
            self._check(lib.seccomp_attr_set(self._ctx, SCMP_FLTATR_CTL_NNP, 0),
                        "seccomp_attr_set(CTL_NNP)")
            self._add_arches(profile)
            self.skipped: list[str] = []
            for rule in profile.rules_for(caps):
                act = _action_value(rule.action, rule.errno, profile.default_errno)
                if act == default:
                    continue                     # libseccomp refuses no-op rules
                groups = _arg_groups(rule.args)
                for name in rule.names:
                    nr = lib.seccomp_syscall_resolve_name(name.encode())
                    if nr == _NR_SCMP_ERROR:
                        self.skipped.append(name)
                        continue
                    for group in groups:
                        arr = (ArgCmp * max(len(group), 1))()
                        for k, a in enumerate(group):
                            arr[k] = ArgCmp(a.index, _OPS[a.op], a.value & (2**64 - 1),
                                            a.value2 & (2**64 - 1))
                        rc = lib.seccomp_rule_add_array(self._ctx, act, nr, len(group), arr)
                        if rc == -errno.EACCES:
                            continue
                        self._check(rc, f"seccomp_rule_add({name})")
        except BaseException:
            self.close()
            raise

    def _add_arches(self, profile: Profile) -> None:
        lib = self._lib
        native = lib.seccomp_arch_native()
        for arch, subs in profile.arch_map.items():
            if lib.seccomp_arch_resolve_name(arch.encode()) != native:
                continue
            for sub in subs:
                token = lib.seccomp_arch_resolve_name(sub.encode())
                if token:
                    rc = lib.seccomp_arch_add(self._ctx, token)
                    if rc != -errno.EEXIST:
                        self._check(rc, f"seccomp_arch_add({sub})")

    @staticmethod
    def _check(rc: int, what: str) -> None:
        if rc < 0:
            raise KernelError(what, -rc)

    def export_bpf(self) -> bytes:
        """The compiled classic-BPF program (for tests and debugging)."""
        r, w = os.pipe()
        try:
            self._check(self._lib.seccomp_export_bpf(self._ctx, w), "seccomp_export_bpf")
            os.close(w)
            w = -1
            chunks = []
            while chunk := os.read(r, 65536):
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)

    def load(self) -> None:
        """Install the compiled filter (only the seccomp syscall: fine after pivot_root)."""
        rc = self._lib.seccomp_load(self._ctx)
        if rc < 0:
            raise KernelError("seccomp_load", -rc,
                              hint="without no_new_privs, loading a filter needs "
                                   "CAP_SYS_ADMIN: load it before dropping capabilities")

    def close(self) -> None:
        if self._ctx:
            self._lib.seccomp_release(self._ctx)
            self._ctx = None


def _arg_groups(args: tuple[Arg, ...]) -> list[tuple[Arg, ...]]:
    """One rule with all conditions, or (two conditions on one argument) one rule each."""
    if not args:
        return [()]
    indexes = [a.index for a in args]
    if len(set(indexes)) == len(indexes):
        return [args]
    return [(a,) for a in args]


def _cap_names(caps: Iterable[str | int] | None) -> frozenset[str]:
    """Capability names from names or numbers; ``None`` = Docker's default set."""
    from runtime.security import capabilities

    if caps is None:
        return capabilities.DEFAULT
    return frozenset(capabilities.NAMES[c] if isinstance(c, int) else c for c in caps)


def prepare(profile: str | os.PathLike[str] | None = "default",
            caps: Iterable[str | int] | None = None) -> Filter | None:
    """Resolve the profile and compile it, but do not load it yet (``None`` for
    ``unconfined``).

    Call this in the container init **before pivot_root**: it reads the JSON profile
    and dlopens libseccomp from the host, which are unreachable afterwards.  Then call
    ``.load()`` on the result at the right moment (see ``runtime.security.capabilities``).
    ``caps``: the container's capabilities (names ``CAP_...`` or numbers; ``None`` =
    Docker's default set), which unlock the capability-gated groups.
    """
    prof = resolve_profile(profile if profile is not None else "default")
    if prof is None:
        return None
    return Filter(prof, _cap_names(caps))


def load(profile: str | os.PathLike[str] | None = "default",
         caps: Iterable[str | int] | None = None) -> bool:
    """:func:`prepare` + load in one go (for callers that have not pivoted).  Installs the
    filter on the calling process and its future children; irreversible.  Returns
    whether a filter was loaded."""
    f = prepare(profile, caps)
    if f is None:
        return False
    try:
        f.load()
    finally:
        f.close()
    return True


def set_no_new_privs() -> None:
    """``PR_SET_NO_NEW_PRIVS 1`` (``security_opt: no-new-privileges:true``): execve can
    no longer grant privileges (setuid bits, file caps).  Irreversible."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise KernelError("prctl(PR_SET_NO_NEW_PRIVS)", ctypes.get_errno())


def seccomp_available() -> bool:
    """The kernel supports seccomp filters (``Seccomp:`` line in /proc/self/status)."""
    try:
        with open("/proc/self/status") as f:
            return any(line.startswith("Seccomp:") for line in f)
    except OSError:
        return False
