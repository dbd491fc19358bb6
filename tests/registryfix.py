"""A real OCI registry (Debian's ``docker-registry``) on 127.0.0.1 for the tests.

``start_registry(tmp, auth=...)`` returns a handle; ``handle.stop()`` kills exactly the
process it started (by PID) and removes its directory.  Auth modes: ``none``,
``htpasswd`` (bcrypt via ``htpasswd -B``), ``token`` (the registry validates RS256 JWTs
issued by :class:`TokenServer`, which runs in a thread of the test process and signs
with the ``openssl`` CLI).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

USER, PASSWORD = "tester", "s3cret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenServer:
    """Issues tokens like Docker Hub's auth service: GET /token?service=&scope=...
    Anonymous callers get ``pull`` only; Basic ``tester:s3cret`` gets what it asks."""

    def __init__(self, workdir: Path, service: str, issuer: str) -> None:
        self.dir = workdir
        self.service, self.issuer = service, issuer
        self.key = workdir / "token.key"
        self.cert = workdir / "token.crt"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "2", "-subj", "/CN=pycompose-test-token", "-keyout", str(self.key),
                        "-out", str(self.cert)], check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                url = urlparse(self.path)
                q = parse_qs(url.query)
                hdr = self.headers.get("Authorization", "")
                who = None
                if hdr.startswith("Basic "):
                    who = base64.b64decode(hdr[6:]).decode()
                    if who != f"{USER}:{PASSWORD}":
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                server.requests.append({"scope": q.get("scope", []), "user": who,
                                        "service": q.get("service", [""])[0]})
                if url.path != "/token" or q.get("service", [""])[0] != server.service:
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                access = []
                for scope in q.get("scope", []):
                    for item in scope.split(" "):
                        parts = item.split(":")
                        if len(parts) < 3:
                            continue
                        actions = parts[-1].split(",")
                        if who is None:
                            actions = [a for a in actions if a == "pull"]
                        access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                                       "actions": actions})
                body = json.dumps({"token": server.sign(who, access), "expires_in": 300,
                                   "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def sign(self, who: str | None, access: list) -> str:
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": self.issuer, "sub": (who or "").split(":")[0], "aud": self.service,
                  "iat": now, "nbf": now - 5, "exp": now + 300, "jti": uuid.uuid4().hex,
                  "access": access}
        signing_input = (_b64url(json.dumps(header).encode()) + "." +
                         _b64url(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)],
                             input=signing_input, check=True, capture_output=True).stdout
        return signing_input.decode() + "." + _b64url(sig)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class Registry:
    def __init__(self, workdir: Path, auth: str = "none") -> None:
        self.dir = workdir
        self.data = workdir / "data"
        self.data.mkdir(parents=True)
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.addr}"
        self.auth = auth
        self.token: TokenServer | None = None
        auth_block = ""
        if auth == "htpasswd":
            htpasswd = shutil.which("htpasswd")
            if not htpasswd:
                raise RuntimeError("htpasswd (apache2-utils) is missing")
            out = subprocess.run([htpasswd, "-Bbn", USER, PASSWORD], check=True,
                                 capture_output=True, text=True).stdout
            (workdir / "htpasswd").write_text(out)
            auth_block = ("auth:\n  htpasswd:\n    realm: pycompose-test\n"
                          f"    path: {workdir / 'htpasswd'}\n")
        elif auth == "token":
            self.token = TokenServer(workdir, "pycompose-test-registry", "pycompose-issuer")
            auth_block = (f"auth:\n  token:\n    realm: {self.token.realm}\n"
                          "    service: pycompose-test-registry\n"
                          "    issuer: pycompose-issuer\n"
                          f"    rootcertbundle: {self.token.cert}\n")
        (workdir / "config.yml").write_text(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.data}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.addr}\n  secret: pycompose-test\n{auth_block}")
        self.log = open(workdir / "registry.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(["docker-registry", "serve", str(workdir / "config.yml")],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(self.url + "/v2/", timeout=1).close()
                break
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    break
                raise
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("registry did not start: " +
                                       (workdir / "registry.log").read_text()[-2000:]) from None
                time.sleep(0.05)

    def blob_file(self, digest: str) -> Path:
        hx = digest.split(":", 1)[1]
        return self.data / "docker/registry/v2/blobs/sha256" / hx[:2] / hx / "data"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()
        if self.token:
            self.token.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def registry_available() -> bool:
    return shutil.which("docker-registry") is not None
