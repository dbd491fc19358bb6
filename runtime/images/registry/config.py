"""Which URL(s) serve a registry domain: mirrors, insecure (plain HTTP) registries.

Configuration file ``<root>/images/registries.json`` (all keys optional)::

    {
      "mirrors":  {"docker.io": ["http://127.0.0.1:5000", "https://mirror.example"]},
      "insecure": ["myregistry.lan:5000", "10.0.0.0/8"],
      "timeout": 60
    }

Environment overrides (handy in tests and CI):

* ``PYCOMPOSE_REGISTRY_MIRROR=url[,url]``: mirrors for ``docker.io``;
* ``PYCOMPOSE_INSECURE_REGISTRIES=host[:port][,...]``: plain HTTP for these.

Mirrors are tried first, in order, then the registry itself.  Registries on loopback
(``localhost``, ``127.0.0.0/8``, ``::1``) use plain HTTP by default, as Docker does.
Insecure registries use plain HTTP.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from runtime.errors import InvalidInputError

DOCKER_HUB_API = "https://registry-1.docker.io"


@dataclass(frozen=True)
class Endpoint:
    url: str                 # base URL without trailing slash, e.g. http://127.0.0.1:5000
    mirror: bool = False
    verify_tls: bool = True


def _host_of(domain: str) -> str:
    if domain.startswith("["):
        return domain[1:domain.index("]")]
    return domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain


def is_loopback(domain: str) -> bool:
    host = _host_of(domain)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class RegistryConfig:
    mirrors: dict[str, list[str]] = field(default_factory=dict)
    insecure: list[str] = field(default_factory=list)
    timeout: float = 60.0

    @classmethod
    def load(cls, images_root: Path) -> RegistryConfig:
        cfg = cls()
        path = images_root / "registries.json"
        if path.exists():
            try:
                data = json.loads(path.read_text())
                cfg.mirrors = {k: list(v) for k, v in (data.get("mirrors") or {}).items()}
                cfg.insecure = list(data.get("insecure") or [])
                cfg.timeout = float(data.get("timeout", 60.0))
            except (ValueError, TypeError, AttributeError) as e:
                raise InvalidInputError(f"invalid registry configuration {path}: {e}",
                                        hint="see docs/architecture.md, 'registries.json'"
                                        ) from e
        env = os.environ.get("PYCOMPOSE_REGISTRY_MIRROR")
        if env:
            cfg.mirrors["docker.io"] = [u.strip().rstrip("/") for u in env.split(",")
                                        if u.strip()]
        env = os.environ.get("PYCOMPOSE_INSECURE_REGISTRIES")
        if env:
            cfg.insecure += [h.strip() for h in env.split(",") if h.strip()]
        return cfg

    def is_insecure(self, domain: str) -> bool:
        if is_loopback(domain):
            return True
        host = _host_of(domain)
        for entry in self.insecure:
            if entry in (domain, host):
                return True
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False

    def endpoints(self, domain: str) -> list[Endpoint]:
        out = [Endpoint(m.rstrip("/"), mirror=True) for m in self.mirrors.get(domain, [])]
        if domain == "docker.io":
            out.append(Endpoint(DOCKER_HUB_API))
        else:
            scheme = "http" if self.is_insecure(domain) else "https"
            out.append(Endpoint(f"{scheme}://{domain}"))
        return out
