"""Registry credentials: ``pycompose login`` file plus Docker's ``config.json`` auths.

pycompose's own file is ``<root>/images/auth.json`` (mode 0600, in a 0700 directory),
in Docker's format: ``{"auths": {"<registry>": {"auth": base64("user:password")}}}``.
Lookups fall back to ``$DOCKER_CONFIG/config.json`` (default ``~/.docker/config.json``);
credential helpers (``credsStore``) are not supported.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path

from runtime.fsutil import atomic_write_json

HUB_KEYS = ("docker.io", "index.docker.io", "registry-1.docker.io",
            "https://index.docker.io/v1/", "https://index.docker.io/v1")


def _keys(domain: str) -> tuple[str, ...]:
    if domain == "docker.io":
        return HUB_KEYS
    return (domain, f"https://{domain}", f"http://{domain}", f"https://{domain}/v2/")


def _decode(entry: dict) -> tuple[str, str] | None:
    if entry.get("username") and entry.get("password"):
        return entry["username"], entry["password"]
    raw = entry.get("auth")
    if not raw:
        return None
    try:
        user, _, pw = base64.b64decode(raw).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (user, pw) if user else None


class CredentialStore:
    def __init__(self, images_root: Path) -> None:
        self.path = images_root / "auth.json"

    def _read(self, path: Path) -> dict:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @staticmethod
    def docker_config_path() -> Path:
        base = os.environ.get("DOCKER_CONFIG") or os.path.join(
            os.path.expanduser("~"), ".docker")
        return Path(base) / "config.json"

    def get(self, domain: str) -> tuple[str, str] | None:
        for path in (self.path, self.docker_config_path()):
            auths = self._read(path).get("auths") or {}
            for k in _keys(domain):
                if k in auths and isinstance(auths[k], dict):
                    creds = _decode(auths[k])
                    if creds:
                        return creds
        return None

    def save(self, domain: str, user: str, password: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = self._read(self.path)
        auths = data.setdefault("auths", {})
        auths[domain] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        atomic_write_json(self.path, data, mode=0o600)

    def remove(self, domain: str) -> bool:
        data = self._read(self.path)
        auths = data.get("auths") or {}
        found = False
        for k in _keys(domain):
            if k in auths:
                del auths[k]
                found = True
        if found:
            atomic_write_json(self.path, data, mode=0o600)
        return found
