"""Tiny test images built from Debian's ``busybox-static`` (installed by .ci/run).

``busybox_rootfs(dest)`` lays out a minimal root filesystem: ``/bin/busybox`` plus one
symlink per applet in ``/bin``, ``/etc/passwd`` and ``/etc/group`` with a few users
(root, nobody, ``app`` 1000:1000 in the supplementary group ``staff`` 50), and the
usual empty top-level directories.  Other test modules reuse it for their images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BUSYBOX = Path("/bin/busybox")

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
app:x:1000:1000:app user:/home/app:/bin/sh
"""
GROUP = """root:x:0:
daemon:x:1:
tty:x:5:
staff:x:50:app
audio:x:29:app,root
app:x:1000:
nogroup:x:65534:
"""


def busybox_available() -> bool:
    return BUSYBOX.is_file()


def _applets() -> list[str]:
    out = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True,
                         check=True).stdout
    return [a for a in out.split() if a and "/" not in a]


def busybox_rootfs(dest: Path) -> Path:
    """Create (or reuse) a busybox root filesystem at ``dest`` and return ``dest``."""
    dest = Path(dest)
    if (dest / "bin" / "busybox").is_file():
        return dest
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app", "var/log",
              "usr/bin", "sbin"):
        (dest / d).mkdir(parents=True, exist_ok=True)
    os.chmod(dest / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, dest / "bin" / "busybox")
    for applet in _applets():
        link = dest / "bin" / applet
        if not link.exists() and not link.is_symlink():
            link.symlink_to("busybox")
    (dest / "etc" / "passwd").write_text(PASSWD)
    (dest / "etc" / "group").write_text(GROUP)
    os.chown(dest / "home" / "app", 1000, 1000) if os.geteuid() == 0 else None
    return dest
