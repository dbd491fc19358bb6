"""The cgroup v2 device allow-list: a small eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE)
attached to the container's cgroup, generated from the same rules as v1's
``devices.allow`` (see ``runtime.cgroups.devices``).

cgroup v2 has no ``devices.*`` files; the kernel instead runs every program attached
to the cgroup (and its ancestors) on each device open/mknod and refuses the access
when one returns 0.  The program reads ``struct bpf_cgroup_dev_ctx``::

    u32 access_type;   /* (access << 16) | type;  type 1 = block, 2 = char;
                          access bits 1 = mknod, 2 = read, 4 = write */
    u32 major;
    u32 minor;

and is a chain of rule blocks: a block whose type, major and minor match and whose
permissions include every requested access bit returns 1; if none matches, 0.
(runc's generator in libcontainer/cgroups/devices is the model.)  Programs attached
with BPF_F_ALLOW_MULTI stay attached while the cgroup exists; nothing to clean up.

The program also works on hybrid hosts: the kernel evaluates the programs of the
process's cgroup in the unified hierarchy, which is how the integration test runs it on
a v1 machine.
"""

from __future__ import annotations

import ctypes
import os
import struct

from runtime.errors import KernelError

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
_SYS_BPF = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351, "riscv64": 280,
            "loongarch64": 280}

DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}

# eBPF opcodes used here
_LDX_W = 0x61            # BPF_LDX | BPF_MEM | BPF_W
_MOV64_X = 0xBF          # BPF_ALU64 | BPF_MOV | BPF_X
_MOV64_K = 0xB7
_AND64_K = 0x57
_RSH64_K = 0x77
_JNE_K = 0x55            # BPF_JMP | BPF_JNE | BPF_K
_EXIT = 0x95


class Rule:
    """A parsed ``devices.allow`` line: ``c 1:3 rwm``, ``b *:* m``, ``a`` ..."""

    __slots__ = ("access", "major", "minor", "type")

    def __init__(self, type: int | None, major: int | None, minor: int | None,
                 access: int) -> None:
        self.type, self.major, self.minor, self.access = type, major, minor, access

    @classmethod
    def parse(cls, text: str) -> Rule:
        parts = text.split()
        kind = parts[0]
        if kind == "a":
            return cls(None, None, None, ACC_MKNOD | ACC_READ | ACC_WRITE)
        major_s, _, minor_s = parts[1].partition(":")
        access = 0
        for ch in parts[2]:
            access |= _ACCESS[ch]
        return cls(DEV_BLOCK if kind == "b" else DEV_CHAR,
                   None if major_s == "*" else int(major_s),
                   None if minor_s == "*" else int(minor_s), access)

    def matches(self, dev_type: int, access: int, major: int, minor: int) -> bool:
        """Reference semantics (what the generated program must compute)."""
        return ((self.type is None or self.type == dev_type)
                and access & ~self.access == 0
                and (self.major is None or self.major == major)
                and (self.minor is None or self.minor == minor))


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def program(rules: list[str]) -> bytes:
    """The eBPF program (raw ``struct bpf_insn`` array) allowing exactly ``rules``."""
    prologue = [
        _insn(_LDX_W, 2, 1, 0),          # r2 = ctx->access_type
        _insn(_AND64_K, 2, imm=0xFFFF),  # r2 = type
        _insn(_LDX_W, 3, 1, 0),          # r3 = ctx->access_type
        _insn(_RSH64_K, 3, imm=16),      # r3 = access
        _insn(_LDX_W, 4, 1, 4),          # r4 = major
        _insn(_LDX_W, 5, 1, 8),          # r5 = minor
    ]
    blocks = []
    for text in rules:
        r = Rule.parse(text)
        checks: list[tuple[str, tuple]] = []
        if r.type is not None:
            checks.append(("jne", (2, r.type)))
        if r.access != ACC_MKNOD | ACC_READ | ACC_WRITE:
            checks.append(("access", (r.access,)))
        if r.major is not None:
            checks.append(("jne", (4, r.major)))
        if r.minor is not None:
            checks.append(("jne", (5, r.minor)))
        # Emit with forward jumps to the end of this block ("next rule").
        body: list[bytes | tuple] = []
        for kind, args in checks:
            if kind == "jne":
                body.append(("jne", args[0], args[1]))
            else:
                body.append(_insn(_MOV64_X, 1, 3))                    # r1 = access
                body.append(_insn(_AND64_K, 1, imm=~args[0] & 0xFFFF))  # extra bits?
                body.append(("jne", 1, 0))
        body.append(_insn(_MOV64_K, 0, imm=1))
        body.append(_insn(_EXIT))
        out = []
        for i, item in enumerate(body):
            if isinstance(item, tuple):
                _, reg, val = item
                out.append(_insn(_JNE_K, reg, off=len(body) - i - 1, imm=val))
            else:
                out.append(item)
        blocks.extend(out)
    epilogue = [_insn(_MOV64_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(prologue + blocks + epilogue)


def run(prog: bytes, dev_type: int, access: int, major: int, minor: int) -> int:
    """Interpret ``prog`` (only the opcodes :func:`program` emits) for a tests' oracle."""
    regs = [0] * 11
    ctx = ((access << 16) | dev_type, major, minor)
    pc = 0
    insns = [struct.unpack("<BBhi", prog[i:i + 8]) for i in range(0, len(prog), 8)]
    mask = (1 << 64) - 1
    while True:
        code, regs_byte, off, imm = insns[pc]
        dst, src = regs_byte & 0xF, regs_byte >> 4
        pc += 1
        if code == _LDX_W:
            regs[dst] = ctx[off // 4]
        elif code == _AND64_K:
            regs[dst] &= imm & mask
        elif code == _RSH64_K:
            regs[dst] >>= imm
        elif code == _MOV64_X:
            regs[dst] = regs[src]
        elif code == _MOV64_K:
            regs[dst] = imm & mask
        elif code == _JNE_K:
            if regs[dst] != imm & mask:
                pc += off
        elif code == _EXIT:
            return regs[0]
        else:
            raise ValueError(f"unexpected opcode {code:#x}")


# -- kernel --------------------------------------------------------------------------

def _bpf(cmd: int, attr: ctypes.Array) -> int:
    nr = _SYS_BPF.get(os.uname().machine)
    if nr is None:
        raise KernelError("bpf", 38, hint="the v2 device filter is not wired for this arch")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    rc = libc.syscall(ctypes.c_long(nr), ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr)))
    if rc < 0:
        raise KernelError(f"bpf({cmd})", ctypes.get_errno())
    return rc


def load(rules: list[str]) -> int:
    """BPF_PROG_LOAD the program; returns its fd."""
    code = program(rules)
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"Apache")
    log = ctypes.create_string_buffer(65536)
    attr = ctypes.create_string_buffer(128)
    # union bpf_attr, BPF_PROG_LOAD: prog_type u32, insn_cnt u32, insns u64, license u64,
    # log_level u32, log_size u32, log_buf u64, kern_version u32, prog_flags u32,
    # prog_name[16]
    struct.pack_into("<IIQQIIQII16s", attr, 0, BPF_PROG_TYPE_CGROUP_DEVICE, len(code) // 8,
                     ctypes.addressof(insns), ctypes.addressof(license_), 1, len(log),
                     ctypes.addressof(log), 0, 0, b"pycompose_dev")
    try:
        return _bpf(BPF_PROG_LOAD, attr)
    except KernelError as e:
        verifier = log.value.decode(errors="replace").strip()
        if verifier:
            e.hint = f"verifier: {verifier[-300:]}"
        raise


def attach(cgroup_dir: str, rules: list[str]) -> None:
    """Load the program for ``rules`` and attach it to ``cgroup_dir`` (a cgroup2 dir)."""
    prog_fd = load(rules)
    try:
        cg_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            attr = ctypes.create_string_buffer(32)
            # BPF_PROG_ATTACH: target_fd u32, attach_bpf_fd u32, attach_type u32, flags u32
            struct.pack_into("<IIII", attr, 0, cg_fd, prog_fd, BPF_CGROUP_DEVICE,
                             BPF_F_ALLOW_MULTI)
            _bpf(BPF_PROG_ATTACH, attr)
        finally:
            os.close(cg_fd)
    finally:
        os.close(prog_fd)
