"""Remove redefinitions from the sequences Compose keeps unique (compose-go's
``override.EnforceUnicity``), after all files are merged.

A later entry with the same key replaces the earlier one in place (keeping the later
entry's position).  Keys, as in the reference: ``KEY`` of ``KEY=VALUE`` for
environment/labels/args-style lists and for plain-value lists (``cap_add``, ``dns``,
``profiles``...); the container path for ``volumes`` and ``devices``; the target for
``secrets`` (``/run/secrets/<name>`` by default) and ``configs``; the path for
``env_file``; for ``ports`` the short string itself, or
``host_ip:published:target/protocol`` for the long form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compose.loader.tree import CMap, CSeq


def _key_value(v: Any) -> Any:
    if isinstance(v, str):
        return v.split("=", 1)[0]
    return ("?", repr(v))


def _expose(v: Any) -> Any:
    return str(v) if isinstance(v, (str, int)) and not isinstance(v, bool) else ("?", repr(v))


def _volume(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("target") if isinstance(v.get("target"), str) else ("?", repr(v))
    if isinstance(v, str):
        parts = v.split(":")
        return parts[1] if len(parts) > 1 else parts[0]
    return ("?", repr(v))


def _mount(default_dir: str) -> Callable[[Any], Any]:
    def key(v: Any) -> Any:
        if isinstance(v, str):
            return f"{default_dir}/{v}"
        if isinstance(v, dict):
            if "target" in v:
                return str(v["target"])
            return f"{default_dir}/{v.get('source')}"
        return ("?", repr(v))

    return key


def _port(v: Any) -> Any:
    if isinstance(v, bool):
        return ("?", repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return (f"{v.get('host_ip', '0.0.0.0')}:{v.get('published', '')}:{v.get('target')}/"
                f"{v.get('protocol', 'tcp')}")
    return ("?", repr(v))


def _env_file(v: Any) -> Any:
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return v.get("path")
    return ("?", repr(v))


_SERVICE_RULES: dict[str, Callable[[Any], Any]] = {
    "annotations": _key_value, "cap_add": _key_value, "cap_drop": _key_value,
    "dns": _key_value, "dns_opt": _key_value, "dns_search": _key_value,
    "environment": _key_value, "labels": _key_value, "links": _key_value,
    "profiles": _key_value, "sysctls": _key_value, "tmpfs": _key_value,
    "expose": _expose, "volumes": _volume, "devices": _volume,
    "secrets": _mount("/run/secrets"), "configs": _mount(""), "ports": _port,
    "env_file": _env_file,
}
_BUILD_RULES = {"args": _key_value, "additional_contexts": _key_value,
                "platforms": _key_value, "tags": _key_value, "labels": _key_value}
_SERVICE_NETWORK_RULES = {"aliases": _key_value, "link_local_ips": _key_value}


def enforce_unique(tree: CMap) -> CMap:
    """Deduplicate the unique sequences of a merged tree (in place); returns it."""
    services = tree.get("services")
    if isinstance(services, CMap):
        for svc in services.values():
            if not isinstance(svc, CMap):
                continue
            _apply(svc, _SERVICE_RULES)
            build = svc.get("build")
            if isinstance(build, CMap):
                _apply(build, _BUILD_RULES)
            deploy = svc.get("deploy")
            if isinstance(deploy, CMap):
                _apply(deploy, {"labels": _key_value})
            nets = svc.get("networks")
            if isinstance(nets, CMap):
                for net in nets.values():
                    if isinstance(net, CMap):
                        _apply(net, _SERVICE_NETWORK_RULES)
    networks = tree.get("networks")
    if isinstance(networks, CMap):
        for net in networks.values():
            if isinstance(net, CMap):
                _apply(net, {"labels": _key_value})
                ipam = net.get("ipam")
                if isinstance(ipam, CMap):
                    _apply(ipam, {"options": _key_value})
    return tree


def _apply(m: CMap, rules: dict[str, Callable[[Any], Any]]) -> None:
    for name, key in rules.items():
        seq = m.get(name)
        if isinstance(seq, CSeq) and len(seq) > 1:
            deduped = _dedupe(seq, key)
            if deduped is not None:
                m[name] = deduped


def _dedupe(seq: CSeq, key: Callable[[Any], Any]) -> CSeq | None:
    index: dict[Any, int] = {}
    out = CSeq(seq.pos)
    changed = False
    for i, v in enumerate(seq):
        try:
            k = key(v)
            hash(k)
        except Exception:
            k = ("?", i)
        p = seq.ipos[i] if i < len(seq.ipos) else None
        at = index.get(k)
        if at is None:
            index[k] = len(out)
            out.add(v, p)
        else:
            changed = True
            out[at] = v
            out.ipos[at] = p
    return out if changed else None
