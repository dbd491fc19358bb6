"""Registry authentication: ``WWW-Authenticate`` challenges, Basic, Bearer tokens.

Bearer flow (distribution ``auth/token.md``, as Docker Hub): a ``401`` carries
``Bearer realm=...,service=...,scope=...``; we ``GET realm?service=&scope=`` (with Basic
credentials if we have some, anonymously otherwise), read ``token``/``access_token``
and retry with ``Authorization: Bearer``.  Tokens are cached per (realm, service, scope)
until ``expires_in`` (default 60 s) runs out.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from runtime.images.errors import RegistryAuthError, RegistryError

_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


@dataclass(frozen=True)
class Challenge:
    scheme: str                # "bearer" | "basic" (lower case)
    params: dict[str, str]


def parse_challenges(header: str | None) -> list[Challenge]:
    """Parse a ``WWW-Authenticate`` value (one or more challenges)."""
    out: list[Challenge] = []
    if not header:
        return out
    rest = header.strip()
    while rest:
        m = re.match(r"([A-Za-z][A-Za-z0-9_-]*)\s*", rest)
        if not m:
            break
        scheme = m.group(1).lower()
        rest = rest[m.end():]
        params: dict[str, str] = {}
        while rest:
            pm = _PARAM.match(rest)
            if not pm:
                break
            # a new scheme starts with "Word " not followed by '='
            params[pm.group(1).lower()] = (pm.group(2).replace('\\"', '"')
                                           if pm.group(2) is not None else pm.group(3))
            rest = rest[pm.end():]
            if re.match(r"[A-Za-z][A-Za-z0-9_-]*\s+[A-Za-z0-9_.-]+\s*=", rest) or \
               re.match(r"[A-Za-z][A-Za-z0-9_-]*\s*$", rest):
                break
        out.append(Challenge(scheme, params))
        rest = rest.lstrip(", ")
    return out


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Authenticator:
    """Turns challenges into ``Authorization`` values; thread-safe token cache."""

    def __init__(self, transport, credentials: tuple[str, str] | None = None,
                 *, verify_tls: bool = True) -> None:
        self.transport = transport
        self.credentials = credentials
        self.verify_tls = verify_tls
        self._tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def authorization(self, challenges: list[Challenge], scope: str | None) -> str | None:
        for ch in challenges:
            if ch.scheme == "bearer":
                return "Bearer " + self.token(ch, scope)
        for ch in challenges:
            if ch.scheme == "basic":
                if not self.credentials:
                    raise RegistryAuthError(
                        "the registry requires a login (Basic authentication)",
                        status=401, hint="run: pycompose login <registry>")
                return basic_header(*self.credentials)
        return None

    def token(self, ch: Challenge, scope: str | None) -> str:
        realm = ch.params.get("realm")
        if not realm or urlsplit(realm).scheme not in ("http", "https"):
            raise RegistryAuthError(f"invalid bearer challenge realm {realm!r}")
        service = ch.params.get("service", "")
        scope = scope or ch.params.get("scope", "")
        key = (realm, service, scope)
        with self._lock:
            hit = self._tokens.get(key)
            if hit and hit[1] > time.monotonic():
                return hit[0]
        query = {}
        if service:
            query["service"] = service
        q = urlencode(query)
        for s in [x for x in scope.split(" ") if x]:
            q += ("&" if q else "") + urlencode({"scope": s})
        url = realm + ("&" if "?" in realm else "?") + q
        headers = {"Accept": "application/json"}
        if self.credentials:
            headers["Authorization"] = basic_header(*self.credentials)
        try:
            resp = self.transport.request("GET", url, headers, timeout=30,
                                          **_tls(self.transport, self.verify_tls))
            body = resp.read()
            resp.close()
        except OSError as e:
            raise RegistryError(f"cannot reach the token service {realm}: {e}") from e
        if resp.status in (401, 403):
            raise RegistryAuthError(
                f"the token service {realm} refused the credentials (HTTP {resp.status})",
                status=resp.status, hint="check `pycompose login` for this registry")
        if resp.status != 200:
            raise RegistryAuthError(f"token service {realm} answered HTTP {resp.status}",
                                    status=resp.status)
        try:
            data = json.loads(body)
            tok = data.get("token") or data.get("access_token")
            expires = float(data.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError) as e:
            raise RegistryAuthError(f"invalid answer from the token service {realm}") from e
        if not tok or not isinstance(tok, str):
            raise RegistryAuthError(f"the token service {realm} returned no token")
        with self._lock:
            self._tokens[key] = (tok, time.monotonic() + max(1.0, expires - 5))
        return tok


def _tls(transport, verify: bool) -> dict:
    """Pass ``verify_tls`` only to transports that support it."""
    import inspect

    try:
        if "verify_tls" in inspect.signature(transport.request).parameters:
            return {"verify_tls": verify}
    except (TypeError, ValueError):
        pass
    return {}
