"""The config hash stored on each container: ``up`` recreates only what changed.

It covers the service's effective definition (every model field except position data
and the replica count: scaling must not recreate) plus the image ID, so a rebuilt or
re-pulled image also recreates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from compose.model.types import Service

_EXCLUDED = {"pos", "scale"}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.name not in _EXCLUDED}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def service_hash(service: Service, image_id: str) -> str:
    data = _plain(service)
    deploy = data.get("deploy")
    if isinstance(deploy, dict):
        deploy.pop("replicas", None)
    data["__image_id"] = image_id
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
