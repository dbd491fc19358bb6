"""``search TERM``: Docker Hub's search API, or a registry's catalog filtered by TERM.

``search redis`` asks Docker Hub (``index.docker.io/v1/search``; not reachable from
offline test machines).  ``search HOST[:PORT]/TERM`` lists ``HOST``'s ``/v2/_catalog``
and keeps the repositories containing ``TERM``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from runtime.images.errors import RegistryError
from runtime.images.pull import Registries
from runtime.images.reference import Reference
from runtime.images.registry.client import RegistryClient, _read_limited
from runtime.images.registry.config import Endpoint
from runtime.images.store import ImageStore

HUB_SEARCH = "https://index.docker.io/v1/search"


@dataclass(frozen=True)
class SearchResult:
    name: str
    description: str = ""
    stars: int = 0
    official: bool = False


def _split(term: str) -> tuple[str | None, str]:
    first, sep, rest = term.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return None, term


def search(store: ImageStore, term: str, *, limit: int = 25, transport=None
           ) -> list[SearchResult]:
    registry, text = _split(term)
    regs = Registries(store, transport)
    if registry is None:
        client = RegistryClient(Endpoint("https://index.docker.io"), "", transport=regs.transport)
        url = f"{HUB_SEARCH}?q={quote(text)}&n={limit}"
        resp = client.request("GET", url, what="Docker Hub search", scope="")
        data = json.loads(_read_limited(resp, 8 << 20, "search"))
        return [SearchResult(r.get("name", ""), r.get("description") or "",
                             int(r.get("star_count") or 0), bool(r.get("is_official")))
                for r in data.get("results") or []][:limit]
    ref = Reference(registry, "catalog")
    client = regs.clients(ref, "pull", mirrors=False)[0]
    try:
        repos = client.catalog()
    except RegistryError as e:
        raise RegistryError(f"{registry} does not list its repositories: {e.message}",
                            hint="this registry may not offer the catalog API") from e
    return [SearchResult(f"{registry}/{r}") for r in repos if text.lower() in r.lower()
            ][:limit]
