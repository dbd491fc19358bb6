"""Compiled seccomp programs, cached on disk (``<root>/cache/seccomp/<key>.bpf``).

Compiling Docker's default profile through libseccomp costs ~25 ms (and importing the
profile tables more); the result only depends on the profile, the container's
capabilities, the architecture, the kernel and libseccomp.  So it is compiled once on
the CLI side and the init stage just loads the bytes (``seccomp_load_bpf``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from runtime.fsutil import atomic_write_bytes


def _key(profile: str, caps: list[str]) -> str:
    ident: dict = {"profile": profile, "caps": sorted(caps), "uname": list(os.uname())[2:],
                   "v": 1}
    if profile not in ("default", ""):
        st = os.stat(profile)
        ident["file"] = [os.path.abspath(profile), st.st_size, st.st_mtime_ns]
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


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
    atomic_write_bytes(path, bpf)
    return str(path)
