"""Capabilities, no_new_privs and seccomp for the init stage, in runc's order.

The policy (which caps, which profile) is decided on the CLI side; the machinery is
``runtime.security.capabilities``.  The seccomp program arrives pre-compiled (see
``runtime.container.seccomp_cache``) and is read by the monitor before the fork, so
nothing here touches the host filesystem after pivot_root.
"""

from __future__ import annotations

import os

from runtime.kernel import consts as C
from runtime.security import capabilities


def finalize(k, b: dict, uid: int, gid: int, groups: list[int]) -> None:
    """seccomp (early, when nnp is off) -> caps + user switch -> nnp -> seccomp (late)."""
    bpf = b.get("seccomp_bpf")
    nnp = b.get("no_new_privileges")
    if bpf and not nnp:
        k.seccomp_load_bpf(bpf)       # needs CAP_SYS_ADMIN, which is about to go

    def switch_user() -> None:
        os.setgroups(groups)
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)

    if b.get("privileged"):
        switch_user()
    else:
        capabilities.apply(b["caps"], switch_user=switch_user)
    if nnp:
        k.prctl(C.PR_SET_NO_NEW_PRIVS, 1)
        if bpf:
            k.seccomp_load_bpf(bpf)   # as late as possible: fewest setup syscalls allowed
