"""The host platform in OCI/Go names and platform matching for image indexes."""

from __future__ import annotations

import os
import platform as _platform
from dataclasses import dataclass

_ARCH = {
    "x86_64": ("amd64", None), "amd64": ("amd64", None),
    "aarch64": ("arm64", "v8"), "arm64": ("arm64", "v8"),
    "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
    "i386": ("386", None), "i686": ("386", None),
    "ppc64le": ("ppc64le", None), "s390x": ("s390x", None), "riscv64": ("riscv64", None),
}


@dataclass(frozen=True, slots=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().lower().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            from runtime.images.errors import InvalidReference

            raise InvalidReference(f"invalid platform {text!r}",
                                   hint="use OS/ARCH[/VARIANT], e.g. linux/amd64")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, p: dict) -> bool:
        if p.get("os") != self.os or p.get("architecture") != self.architecture:
            return False
        v = p.get("variant")
        # an entry without a variant matches any variant of our architecture
        return not (self.variant and v and v != self.variant)


def host_platform() -> Platform:
    env = os.environ.get("PYCOMPOSE_PLATFORM") or os.environ.get("DOCKER_DEFAULT_PLATFORM")
    if env:
        return Platform.parse(env)
    arch, variant = _ARCH.get(_platform.machine().lower(), (_platform.machine().lower(), None))
    return Platform("linux", arch, variant)


def select_manifest(index: dict, want: Platform) -> dict | None:
    """First manifest descriptor of ``index`` whose platform matches ``want``; entries
    for ``unknown/unknown`` (attestations) are skipped; exact variant preferred."""
    best = None
    for desc in index.get("manifests") or []:
        p = desc.get("platform") or {}
        if p.get("os") == "unknown" or p.get("architecture") == "unknown":
            continue
        if not want.matches(p):
            continue
        if want.variant and p.get("variant") == want.variant:
            return desc
        if best is None:
            best = desc
    return best
