"""One repository on one registry endpoint: the OCI distribution API calls.

Every manifest and blob fetched is checked against its digest (and declared size).
Requests are retried once with credentials after a ``401`` challenge; ``429``/``5xx`` on
idempotent requests are retried a few times (``Retry-After`` honoured, capped).
Redirects are followed without forwarding ``Authorization`` to another host.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

from runtime.images import mediatypes as mt
from runtime.images.digest import check_digest, sha256_bytes
from runtime.images.errors import (
    DigestMismatch,
    RegistryAuthError,
    RegistryError,
    RegistryNotFound,
)
from runtime.images.registry.auth import Authenticator, parse_challenges
from runtime.images.registry.config import Endpoint
from runtime.images.registry.transport import HttpTransport, RegistryTransport

MAX_MANIFEST = 4 << 20
MAX_REDIRECTS = 5
RETRIES = 3


@dataclass(frozen=True)
class Manifest:
    data: bytes
    media_type: str
    digest: str

    def json(self) -> dict:
        return json.loads(self.data)


def _error_from(resp, body: bytes, what: str) -> RegistryError:
    code = msg = None
    try:
        errs = json.loads(body).get("errors") or []
        if errs:
            code = errs[0].get("code")
            msg = errs[0].get("message")
    except (ValueError, AttributeError):
        pass
    text = f"{what}: HTTP {resp.status}" + (f" {code}" if code else "") + (
        f" ({msg})" if msg else "")
    if resp.status in (401, 403):
        return RegistryAuthError(text, status=resp.status, code=code,
                                 hint="log in with `pycompose login <registry>` or check"
                                      " your access rights")
    if resp.status == 404:
        return RegistryNotFound(text, status=404, code=code,
                                hint="check the image name and tag")
    if resp.status == 429:
        return RegistryError(text, status=429, code=code,
                             hint="rate limited by the registry: wait, or log in")
    return RegistryError(text, status=resp.status, code=code)


class RegistryClient:
    def __init__(self, endpoint: Endpoint, repository: str, *,
                 transport: RegistryTransport | None = None,
                 credentials: tuple[str, str] | None = None,
                 actions: str = "pull", timeout: float = 60.0) -> None:
        self.endpoint = endpoint
        self.repository = repository
        self.transport = transport or HttpTransport()
        self.auth = Authenticator(self.transport, credentials, verify_tls=endpoint.verify_tls)
        self.actions = actions
        self.timeout = timeout
        self._authz: str | None = None
        self._authz_host = urlsplit(endpoint.url).netloc

    @property
    def scope(self) -> str:
        return f"repository:{self.repository}:{self.actions}"

    def url(self, path: str) -> str:
        return f"{self.endpoint.url}/v2/{path}"

    # -- core request -----------------------------------------------------------------
    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body: bytes | BinaryIO | None = None, *, what: str = "",
                ok: tuple[int, ...] = (200,), retry: bool | None = None,
                scope: str | None = None):
        """Send a request, handling auth challenges, redirects and retries.  Returns the
        open response for a status in ``ok``; raises a :class:`RegistryError` otherwise."""
        retry = method in ("GET", "HEAD") if retry is None else retry
        headers = dict(headers or {})
        attempts = 0
        authed = False
        redirects = 0
        cur = url
        while True:
            h = dict(headers)
            same_host = urlsplit(cur).netloc == self._authz_host
            if self._authz and same_host:
                h["Authorization"] = self._authz
            if hasattr(body, "seek"):
                body.seek(0)
            try:
                resp = self.transport.request(method, cur, h, body, timeout=self.timeout,
                                              **self._tls())
            except OSError as e:
                attempts += 1
                if retry and attempts < RETRIES:
                    time.sleep(0.2 * attempts)
                    continue
                raise RegistryError(f"{what or method + ' ' + cur}: cannot reach"
                                    f" {urlsplit(cur).netloc}: {e}",
                                    hint="is the registry running and reachable?") from e
            status = resp.status
            if status in ok:
                return resp
            if status in (301, 302, 303, 307, 308) and resp.header("Location"):
                loc = urljoin(cur, resp.header("Location"))
                _drain(resp)
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise RegistryError(f"{what}: too many redirects")
                if status == 303:
                    method, body = "GET", None
                cur = loc
                continue
            if status == 401 and not authed and same_host:
                challenges = parse_challenges(resp.header("WWW-Authenticate"))
                _drain(resp)
                authz = self.auth.authorization(challenges, scope or self.scope)
                if authz is None:
                    raise RegistryAuthError(f"{what}: HTTP 401 without a usable challenge",
                                            status=401)
                self._authz = authz
                authed = True
                continue
            if status in (429, 500, 502, 503, 504) and retry and attempts + 1 < RETRIES:
                attempts += 1
                wait = resp.header("Retry-After")
                _drain(resp)
                try:
                    delay = min(float(wait), 10.0) if wait else 0.5 * attempts
                except ValueError:
                    delay = 0.5 * attempts
                time.sleep(delay)
                continue
            body_bytes = resp.read(65536) if method != "HEAD" else b""
            resp.close()
            raise _error_from(resp, body_bytes, what or f"{method} {cur}")

    def _tls(self) -> dict:
        if isinstance(self.transport, HttpTransport):
            return {"verify_tls": self.endpoint.verify_tls}
        return {}

    # -- API calls ---------------------------------------------------------------------
    def ping(self) -> None:
        resp = self.request("GET", f"{self.endpoint.url}/v2/", what="registry check",
                            scope="")
        _drain(resp)

    def get_manifest(self, reference: str) -> Manifest:
        what = f"manifest {self.repository}:{reference}"
        resp = self.request("GET", self.url(f"{self.repository}/manifests/{reference}"),
                            {"Accept": mt.ACCEPT}, what=what)
        data = _read_limited(resp, MAX_MANIFEST, what)
        media = (resp.header("Content-Type") or "").split(";")[0].strip()
        digest = sha256_bytes(data)
        if reference.startswith("sha256:") and digest != reference:
            raise DigestMismatch(f"{what}: content digest {digest} does not match the"
                                 " requested digest", hint="the registry served corrupt data")
        header_digest = resp.header("Docker-Content-Digest")
        if header_digest and header_digest.startswith("sha256:") and header_digest != digest:
            raise DigestMismatch(f"{what}: registry says {header_digest}, content is {digest}")
        try:
            body_type = json.loads(data).get("mediaType")
        except (ValueError, AttributeError) as e:
            raise RegistryError(f"{what}: not a JSON manifest") from e
        if body_type and media and media not in ("application/json",) and body_type != media:
            raise RegistryError(f"{what}: Content-Type {media} but body says {body_type}")
        media = body_type or media
        if media in (mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_JSON):
            raise RegistryError(f"{what}: Docker schema 1 manifests are not supported",
                                hint="push the image again with a current client")
        return Manifest(data, media, digest)

    def head_manifest(self, reference: str) -> str | None:
        """The digest of a tag (cheap check), or None when absent."""
        try:
            resp = self.request("HEAD", self.url(f"{self.repository}/manifests/{reference}"),
                                {"Accept": mt.ACCEPT}, what="manifest check")
        except RegistryNotFound:
            return None
        _drain(resp)
        return resp.header("Docker-Content-Digest")

    def get_blob_bytes(self, digest: str, size: int | None = None,
                       limit: int = 64 << 20) -> bytes:
        check_digest(digest)
        what = f"blob {digest[:19]}"
        resp = self.request("GET", self.url(f"{self.repository}/blobs/{digest}"), what=what)
        data = _read_limited(resp, limit, what)
        got = sha256_bytes(data)
        if got != digest:
            raise DigestMismatch(f"{what}: content hashes to {got}",
                                 hint="the registry served corrupt data")
        if size is not None and len(data) != size:
            raise DigestMismatch(f"{what}: size {len(data)} != {size}")
        return data

    def open_blob(self, digest: str, offset: int = 0):
        """Open a blob for streaming, from ``offset`` (``Range``).  Returns
        ``(response, start)`` where ``start`` is where the body begins (0 if the
        registry ignored the range)."""
        check_digest(digest)
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        resp = self.request("GET", self.url(f"{self.repository}/blobs/{digest}"), headers,
                            what=f"blob {digest[:19]}", ok=(200, 206))
        start = 0
        if resp.status == 206:
            cr = resp.header("Content-Range") or ""
            try:
                start = int(cr.split()[1].split("-")[0])
            except (IndexError, ValueError):
                start = offset
        return resp, start

    def blob_exists(self, digest: str) -> bool:
        try:
            resp = self.request("HEAD", self.url(f"{self.repository}/blobs/{digest}"),
                                what="blob check")
        except RegistryNotFound:
            return False
        _drain(resp)
        return True

    def upload_blob(self, digest: str, size: int, src: BinaryIO, *,
                    chunk_size: int | None = None,
                    on_bytes: Callable[[int], None] | None = None,
                    mount_from: str | None = None) -> None:
        """Upload a blob: monolithic (POST + PUT) or chunked (POST + PATCH... + PUT)."""
        check_digest(digest)
        what = f"upload {digest[:19]}"
        post_url = self.url(f"{self.repository}/blobs/uploads/")
        if mount_from:
            post_url += f"?mount={digest}&from={mount_from}"
        resp = self.request("POST", post_url, {"Content-Length": "0"}, b"", what=what,
                            ok=(201, 202), retry=False)
        _drain(resp)
        if resp.status == 201:
            return  # mounted
        location = self._location(resp, post_url)
        if chunk_size and size > chunk_size:
            sent = 0
            while sent < size:
                chunk = src.read(min(chunk_size, size - sent))
                if not chunk:
                    raise RegistryError(f"{what}: source ended at {sent} of {size} bytes")
                end = sent + len(chunk) - 1
                resp = self.request("PATCH", location, {
                    "Content-Type": "application/octet-stream",
                    "Content-Range": f"{sent}-{end}", "Content-Length": str(len(chunk))},
                    chunk, what=what, ok=(202,), retry=False)
                _drain(resp)
                location = self._location(resp, location)
                rng = resp.header("Range")
                if rng:
                    try:
                        confirmed = int(rng.split("-")[1])
                    except (IndexError, ValueError):
                        confirmed = end
                    if confirmed != end:
                        raise RegistryError(f"{what}: registry confirmed bytes up to"
                                            f" {confirmed}, expected {end}")
                sent += len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
            body: bytes | BinaryIO = b""
            length = 0
        else:
            body = _CountingReader(src, on_bytes)
            length = size
        sep = "&" if "?" in location else "?"
        resp = self.request("PUT", f"{location}{sep}digest={digest}", {
            "Content-Type": "application/octet-stream", "Content-Length": str(length)},
            body, what=what, ok=(201, 204), retry=False)
        _drain(resp)

    @staticmethod
    def _location(resp, base: str) -> str:
        loc = resp.header("Location")
        if not loc:
            raise RegistryError("upload: the registry sent no Location header")
        return urljoin(base, loc)

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        resp = self.request("PUT", self.url(f"{self.repository}/manifests/{reference}"),
                            {"Content-Type": media_type, "Content-Length": str(len(data))},
                            data, what=f"manifest {self.repository}:{reference}",
                            ok=(200, 201, 202), retry=False)
        _drain(resp)
        digest = sha256_bytes(data)
        got = resp.header("Docker-Content-Digest")
        if got and got != digest:
            raise DigestMismatch(f"registry stored the manifest as {got}, expected {digest}")
        return digest

    def tags(self) -> list[str]:
        resp = self.request("GET", self.url(f"{self.repository}/tags/list"), what="tags")
        data = json.loads(_read_limited(resp, 16 << 20, "tags"))
        return list(data.get("tags") or [])

    def catalog(self, n: int = 1000) -> list[str]:
        resp = self.request("GET", f"{self.endpoint.url}/v2/_catalog?n={n}", what="catalog",
                            scope="registry:catalog:*")
        data = json.loads(_read_limited(resp, 16 << 20, "catalog"))
        return list(data.get("repositories") or [])


class _CountingReader:
    def __init__(self, src: BinaryIO, cb) -> None:
        self._src = src
        self._cb = cb
        self._start = src.tell() if hasattr(src, "tell") else 0

    def read(self, n: int = -1) -> bytes:
        data = self._src.read(n)
        if data and self._cb:
            self._cb(len(data))
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._src.seek(self._start + pos, whence)


def _drain(resp) -> None:
    try:
        while resp.read(65536):
            pass
    except OSError:
        pass
    resp.close()


def _read_limited(resp, limit: int, what: str) -> bytes:
    length = resp.header("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        resp.close()
        raise RegistryError(f"{what}: {length} bytes is more than the {limit} allowed")
    data = resp.read(limit + 1)
    resp.close()
    if len(data) > limit:
        raise RegistryError(f"{what}: larger than {limit} bytes")
    return data


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
