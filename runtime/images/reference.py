"""Image references with Docker's normalisation (distribution/reference ``normalize.go``).

``redis`` -> ``docker.io/library/redis:latest``; ``user/app:1`` -> ``docker.io/user/app:1``;
``host:5000/a/b:t``; ``name@sha256:<hex>``.  A bare 64-hex string is an image ID, not a
name, and is rejected here (the store resolves IDs itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from runtime.images.errors import InvalidReference

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAIN = "index.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|-+)"
_PATH_COMPONENT = re.compile(rf"^{_ALNUM}(?:{_SEP}{_ALNUM})*$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$")
_HEX64 = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True, slots=True)
class Reference:
    """A fully normalised reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """``docker.io/library/redis``."""
        return f"{self.domain}/{self.path}"

    @property
    def name(self) -> str:
        return self.repository

    def __str__(self) -> str:
        s = self.repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s

    @property
    def familiar(self) -> str:
        """Short form as Docker prints it (``redis:7``, ``user/app:1``)."""
        return familiar_name(self.repository) + (f":{self.tag}" if self.tag else "") + (
            f"@{self.digest}" if self.digest else "")

    @property
    def familiar_repository(self) -> str:
        return familiar_name(self.repository)

    @property
    def object(self) -> str:
        """What to ask the registry for: the digest if any, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def tagged(self) -> Reference:
        """The reference with the default tag filled in (unless it has a digest)."""
        if self.tag or self.digest:
            return self
        return Reference(self.domain, self.path, DEFAULT_TAG, None)


def familiar_name(repository: str) -> str:
    if repository.startswith(DEFAULT_DOMAIN + "/"):
        rest = repository[len(DEFAULT_DOMAIN) + 1:]
        if rest.startswith(OFFICIAL_PREFIX) and "/" not in rest[len(OFFICIAL_PREFIX):]:
            rest = rest[len(OFFICIAL_PREFIX):]
        return rest
    return repository


def _bad(text: str, why: str) -> InvalidReference:
    return InvalidReference(
        f"invalid reference format {text!r}: {why}",
        hint="use NAME[:TAG][@sha256:DIGEST], e.g. redis:7, user/app, localhost:5000/app:1")


def parse(text: str, *, default_tag: bool = True) -> Reference:
    """Parse and normalise a reference.  ``default_tag`` adds ``:latest`` when neither a
    tag nor a digest is given."""
    if not isinstance(text, str) or not text:
        raise _bad(str(text), "empty reference")
    if text != text.strip() or any(c.isspace() for c in text):
        raise _bad(text, "contains whitespace")
    if _HEX64.match(text):
        raise _bad(text, "a 64-character hexadecimal string is an image ID, not a name")
    rest = text
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise _bad(text, f"invalid digest {digest!r}")
        if not digest.startswith("sha256:") or not _HEX64.match(digest[7:]):
            raise _bad(text, f"unsupported digest {digest!r} (sha256:<64 hex> expected)")
    tag = None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.match(tag):
            raise _bad(text, f"invalid tag {tag!r} (letters, digits, '_', '.', '-';"
                             " at most 128; not starting with '.' or '-')")
    if not rest:
        raise _bad(text, "missing repository name")
    i = rest.find("/")
    first = rest[:i] if i >= 0 else ""
    if i < 0 or ("." not in first and ":" not in first and first != "localhost"
                 and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, rest
    else:
        domain, remainder = first, rest[i + 1:]
        if not _DOMAIN.match(domain):
            raise _bad(text, f"invalid registry host {domain!r}")
    if domain == LEGACY_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    if remainder.lower() != remainder:
        raise _bad(text, "repository name must be lowercase")
    for comp in remainder.split("/"):
        if not comp:
            raise _bad(text, "empty path component")
        if not _PATH_COMPONENT.match(comp):
            raise _bad(text, f"invalid path component {comp!r} (lowercase letters, digits"
                             " and separators '.', '_', '__', '-')")
    if len(domain) + 1 + len(remainder) > NAME_MAX:
        raise _bad(text, f"repository name longer than {NAME_MAX} characters")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(domain, remainder, tag, digest)


def parse_repository(text: str) -> Reference:
    """A repository without tag or digest (for ``search``, ``push`` targets...)."""
    ref = parse(text, default_tag=False)
    return ref
