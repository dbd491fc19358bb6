"""Digests: validation before use in file names or URLs (CVE-2024-3727), chain IDs."""

from __future__ import annotations

import hashlib
import re

from runtime.images.errors import InvalidReference

_DIGEST_RE = re.compile(r"^sha256:[a-f0-9]{64}$")


def is_digest(value: str) -> bool:
    return bool(_DIGEST_RE.match(value))


def check_digest(value: str, what: str = "digest") -> str:
    """Return ``value`` if it is ``sha256:<64 hex>``; raise otherwise."""
    if not isinstance(value, str) or not _DIGEST_RE.match(value):
        raise InvalidReference(f"invalid {what} {value!r}: expected sha256:<64 hex digits>",
                               hint="only sha256 digests are supported")
    return value


def hex_of(digest: str) -> str:
    return check_digest(digest)[7:]


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """Chain IDs of a layer stack (base first): chain(L0)=diff(L0),
    chain(L0..n) = sha256("<chain(L0..n-1)> <diff(Ln)>")."""
    out: list[str] = []
    for d in diff_ids:
        check_digest(d, "diff_id")
        out.append(d if not out else sha256_bytes(f"{out[-1]} {d}".encode()))
    return out
