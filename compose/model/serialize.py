"""The model back to Compose's canonical long-form document (what ``config`` prints),
and the per-service config hash.

The output follows ``docker compose config``: ``name`` first, services sorted, long
syntax everywhere, absolute paths, durations as Go duration strings, sizes in bytes,
the implicit ``default`` network present, unset attributes omitted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from compose.model import types as T
from compose.model.units import format_duration

_DURATIONS = {"interval", "timeout", "start_period", "start_interval", "stop_grace_period",
              "delay", "window", "monitor", "pull_refresh_after"}
_SKIP = {"pos", "via", "key", "where"}
_KEEP_EMPTY = {"command", "entrypoint"}
_RAW = {"develop", "blkio_config", "credential_spec", "provider", "gpus", "models",
        "placement"}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return _object(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def _raw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _raw(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_raw(v) for v in value]
    return value


def _object(obj: Any) -> Any:
    if isinstance(obj, T.DependsOn):
        return {"condition": obj.condition, "required": obj.required, "restart": obj.restart}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        name = f.name
        if name in _SKIP or (name == "name" and isinstance(obj, T.Service)):
            continue
        v = getattr(obj, name)
        if v is None:
            continue
        if isinstance(v, bool):
            if v is f.default:
                continue
            out[name] = v
            continue
        if isinstance(v, (tuple, Mapping)) and not v and name not in _KEEP_EMPTY:
            continue
        if name in _DURATIONS and isinstance(v, (int, float)):
            out[name] = format_duration(v)
        elif name == "extra_hosts":
            out[name] = [f"{h}={ip}" for h, ip in v]
        elif name == "ulimits":
            out[name] = {u.name: (u.soft if u.soft == u.hard else
                                  {"soft": u.soft, "hard": u.hard}) for u in v}
        elif name == "image_subpath":
            out["image"] = {"subpath": v}
        elif name == "extensions":
            out.update(_raw(v))
        elif name in _RAW:
            out[name] = _raw(v)
        elif name == "mode" and isinstance(obj, T.FileRef | T.TmpfsOptions):
            out[name] = v
        elif name == "networks" and isinstance(obj, T.Service):
            out[name] = {k: (_object(n) or None) for k, n in v.items()}
        else:
            out[name] = _plain(v)
    return out


def service_dict(service: T.Service) -> dict[str, Any]:
    d = _object(service)
    if "volumes" in d:
        for vol in d["volumes"]:
            if vol.get("type") == "bind" and "bind" not in vol:
                vol["bind"] = {"create_host_path": True}
    return dict(sorted(d.items()))


def _resource(obj: Any) -> dict[str, Any]:
    d = _object(obj)
    if getattr(obj, "external", False):
        d["external"] = True
    return d


def project_dict(project: T.Project) -> dict[str, Any]:
    """The whole project as a plain, JSON/YAML-ready document."""
    out: dict[str, Any] = {"name": project.name,
                           "services": {n: service_dict(s) for n, s in
                                        sorted(project.services.items())}}
    for section in ("networks", "volumes", "secrets", "configs", "models"):
        items = getattr(project, section)
        if items:
            out[section] = {k: _resource(v) for k, v in sorted(items.items())}
    out.update(_raw(project.extensions))
    return out


# Not part of the hash: what does not change the container itself (as compose does).
_HASH_EXCLUDED = ("build", "pull_policy", "scale", "profiles", "depends_on")


def config_hash(service: T.Service) -> str:
    """sha256 of the service's canonical form: changes exactly when the container
    must be recreated."""
    d = service_dict(service)
    for k in _HASH_EXCLUDED:
        d.pop(k, None)
    if "deploy" in d:
        d["deploy"] = {k: v for k, v in d["deploy"].items() if k != "replicas"}
    text = json.dumps(d, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def escape_dollars(doc: Any) -> Any:
    """``$`` -> ``$$`` in every string value, so the printed (already interpolated)
    document reads back as the same project (docker compose config does the same)."""
    if isinstance(doc, str):
        return doc.replace("$", "$$")
    if isinstance(doc, dict):
        return {k: escape_dollars(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [escape_dollars(v) for v in doc]
    return doc


def to_yaml(doc: Any) -> str:
    """Block-style YAML; strings quoted only where YAML needs it."""
    import io

    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = False
    y.sort_base_mapping_type_on_output = False  # type: ignore[attr-defined]
    y.width = 4096
    buf = io.StringIO()
    y.dump(doc, buf)
    return buf.getvalue()


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
