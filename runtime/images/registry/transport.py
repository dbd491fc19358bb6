"""HTTP transport behind a small protocol, on stdlib ``http.client``.

The ``RegistryTransport`` protocol is what the client uses; tests may plug a fake and a
later HTTP/2 client could replace :class:`HttpTransport` without touching the protocol
logic.  Connections are kept alive per thread and per (scheme, host).
"""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Mapping
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

USER_AGENT = "pycompose/0.1 (+registry client)"
BLOCK = 1 << 20   # request body send size


class Response(Protocol):
    status: int
    url: str

    def header(self, name: str, default: str | None = None) -> str | None: ...
    def read(self, n: int = -1) -> bytes: ...
    def close(self) -> None: ...


class RegistryTransport(Protocol):
    def request(self, method: str, url: str, headers: Mapping[str, str],
                body: bytes | BinaryIO | None = None, *, timeout: float = 60.0
                ) -> Response: ...


class _HttpResponse:
    def __init__(self, resp: http.client.HTTPResponse, url: str, conn_key, owner) -> None:
        self._r = resp
        self.status = resp.status
        self.url = url
        self._key = conn_key
        self._owner = owner

    def header(self, name: str, default: str | None = None) -> str | None:
        return self._r.getheader(name, default)

    def headers(self) -> list[tuple[str, str]]:
        return self._r.getheaders()

    def read(self, n: int = -1) -> bytes:
        return self._r.read() if n is None or n < 0 else self._r.read(n)

    def readinto(self, b) -> int:
        return self._r.readinto(b)

    def close(self) -> None:
        # a fully read response leaves the connection reusable; otherwise drop it
        if not self._r.isclosed():
            self._owner._drop(self._key)
        self._r.close()


class HttpTransport:
    """Plain ``http.client``; one keep-alive connection per thread and host."""

    def __init__(self, *, verify_tls: bool = True) -> None:
        self._local = threading.local()
        self._ctx = ssl.create_default_context()
        self._insecure_ctx = ssl._create_unverified_context()
        self.verify_tls = verify_tls

    def _conns(self) -> dict:
        if not hasattr(self._local, "conns"):
            self._local.conns = {}
        return self._local.conns

    def _drop(self, key) -> None:
        conn = self._conns().pop(key, None)
        if conn is not None:
            conn.close()

    def _conn(self, scheme: str, netloc: str, timeout: float, verify: bool):
        key = (scheme, netloc, verify)
        conns = self._conns()
        conn = conns.get(key)
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    netloc, timeout=timeout, blocksize=BLOCK,
                    context=self._ctx if verify else self._insecure_ctx)
            else:
                conn = http.client.HTTPConnection(netloc, timeout=timeout, blocksize=BLOCK)
            conns[key] = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return key, conn

    def request(self, method: str, url: str, headers: Mapping[str, str],
                body: bytes | BinaryIO | None = None, *, timeout: float = 60.0,
                verify_tls: bool | None = None) -> _HttpResponse:
        parts = urlsplit(url)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        hdrs = {"User-Agent": USER_AGENT, **headers}
        verify = self.verify_tls if verify_tls is None else verify_tls
        for attempt in (0, 1):
            key, conn = self._conn(parts.scheme, parts.netloc, timeout, verify)
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError, http.client.CannotSendRequest):
                # stale keep-alive connection: retry once on a fresh one
                self._drop(key)
                if attempt or (body is not None and not isinstance(body, bytes)
                               and not hasattr(body, "seek")):
                    raise
                if hasattr(body, "seek"):
                    body.seek(0)
                continue
            except BaseException:
                self._drop(key)
                raise
            return _HttpResponse(resp, url, key, self)
        raise AssertionError("unreachable")

    def close(self) -> None:
        for conn in self._conns().values():
            conn.close()
        self._conns().clear()
