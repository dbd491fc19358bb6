"""Compiled seccomp programs, cached on disk (``<root>/cache/seccomp/<key>.bpf``).

Compiling Docker's default profile through libseccomp costs ~25 ms (and importing the
profile tables more); the result only depends on the profile, the container's
capabilities, the architecture, the kernel and libseccomp.  So it is compiled once on
the CLI side and the init stage just loads the bytes (``seccomp_load_bpf``).
"""

from __future__ import annotations

import os
from pathlib import Path


def _key(profile: str, caps: list[str]) -> str:
    """``<profile>-<caps mask>-<kernel>-<arch>``: readable, and no hashlib on the
    default path (custom profiles add a digest of their path, size and mtime)."""
    from runtime.security.capabilities import to_mask

    u = os.uname()
    name = "default"
    if profile not in ("default", ""):
        import hashlib

        st = os.stat(profile)
        ident = f"{os.path.abspath(profile)}:{st.st_size}:{st.st_mtime_ns}".encode()
        name = "custom-" + hashlib.sha256(ident).hexdigest()[:16]
    return f"{name}-{to_mask(caps):x}-{u.release}-{u.machine}-v1"


def compiled(cache_dir: Path, profile: str, caps: list[str]) -> str:
    """Path of the compiled BPF program for ``profile`` with ``caps`` (compiling once)."""
    path = cache_dir / f"{_key(profile, caps)}.bpf"
    if path.is_file():
        return str(path)
    from runtime.security import seccomp

    prof = seccomp.resolve_profile(profile)
    if prof is None:
        raise ValueError("unconfined has no program")
    f = seccomp.Filter(prof, caps)
    try:
        bpf = f.export_bpf()
    finally:
        f.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    import _thread  # per-thread: concurrent starts in one process compile at once

    tmp = path.with_name(f".{path.name}.{os.getpid()}.{_thread.get_ident()}.tmp")
    tmp.write_bytes(bpf)
    os.replace(tmp, path)
    return str(path)
