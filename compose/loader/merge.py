"""Merge two compose trees the way Compose merges ``-f`` files and ``extends``.

``merge(base, override)`` returns a new tree; neither input is changed (sub-trees that
only one side has are shared, so callers must treat trees as immutable).  The rules,
after compose-go's ``override/merge.go`` (see docs/architecture.md):

* mappings merge key by key, scalars: the override wins;
* ``command``, ``entrypoint``, ``healthcheck.test`` and ``ulimits.<name>`` are replaced;
* ``environment``, ``labels``, ``annotations``, ``sysctls``, ``build.args``,
  ``build.labels``, ``build.additional_contexts``, ``deploy.labels`` and the ``labels``
  of networks/volumes/secrets/configs: list and mapping forms become one mapping, the
  override's value wins per key;
* ``ports`` unique by (host ip, published, target, protocol); ``volumes`` and
  ``devices`` by container path; ``secrets``/``configs`` by target; ``env_file`` by
  path; a later duplicate replaces the earlier one in place;
* ``cap_add``, ``cap_drop``, ``dns``, ``dns_opt``, ``dns_search``, ``expose``,
  ``profiles``, ``links``, ``external_links``, ``volumes_from``, ``build.tags``,
  ``networks.<n>.aliases``: appended, duplicate values dropped;
* ``extra_hosts``: a mapping becomes sorted ``host=ip`` entries, then union;
* other sequences are appended;
* ``depends_on``, service ``networks`` and ``models`` lists become mappings, then merge;
  a string ``build`` becomes ``{context: ...}``;
* ``logging``: same (or missing) driver merges options, another driver replaces it;
* ``networks.<n>.ipam.config`` merges by ``subnet``;
* a value tagged ``!reset`` removes the key; ``!override`` replaces it wholesale; an
  empty (null) value keeps the base value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from compose.loader.tree import OVERRIDE, RESET, CMap, CSeq

Rule = Callable[[Any, Any, tuple], Any]

_RESOURCE_SECTIONS = frozenset(("services", "networks", "volumes", "secrets", "configs"))


def strip(value: Any) -> Any:
    """``value`` without ``!reset`` entries and without tags (shared when untagged)."""
    if isinstance(value, CMap):
        if not value.tags and not any(isinstance(v, (CMap, CSeq)) for v in value.values()):
            return value
        out = CMap(value.pos)
        for k, v in value.items():
            if value.tags.get(k) == RESET:
                continue
            out.copy_entry(value, k, strip(v) if isinstance(v, (CMap, CSeq)) else v,
                           keep=False)
        return out
    if isinstance(value, CSeq):
        if not value.tags and not any(isinstance(v, (CMap, CSeq)) for v in value):
            return value
        out_s = CSeq(value.pos)
        for i, v in enumerate(value):
            if value.tags.get(i) == RESET:
                continue
            out_s.add(strip(v), value.ipos[i] if i < len(value.ipos) else None)
        return out_s
    return value


def merge(base: Any, override: Any, path: tuple = ()) -> Any:
    """Merge ``override`` onto ``base`` (both already read; ``path`` locates them)."""
    rule = _rule_for(path)
    if rule is not None:
        return rule(base, override, path)
    return _default(base, override, path)


def _pattern(path: tuple) -> str:
    parts = [str(p) for p in path]
    if len(parts) >= 2 and parts[0] in _RESOURCE_SECTIONS:
        parts[1] = "*"
    if len(parts) >= 4 and parts[0] == "services" and parts[2] in ("networks", "ulimits"):
        parts[3] = "*"
    return ".".join(parts)


def _rule_for(path: tuple) -> Rule | None:
    if not path:
        return None
    return _RULES.get(_pattern(path))


def _default(base: Any, override: Any, path: tuple) -> Any:
    if isinstance(base, CMap) and isinstance(override, CMap):
        return _merge_maps(base, override, path)
    if isinstance(base, CSeq) and isinstance(override, CSeq):
        return _concat(base, override)
    return strip(override)


def _merge_maps(base: CMap, override: CMap, path: tuple) -> CMap:
    out = CMap(override.pos or base.pos)
    for k, v in base.items():
        out.copy_entry(base, k, v, keep=False)
    for k, v in override.items():
        tag = override.tags.get(k)
        if tag == RESET:
            out.remove(k)
            continue
        if tag == OVERRIDE or k not in out:
            out.copy_entry(override, k, strip(v), keep=False)
            continue
        if v is None:
            continue  # an empty value does not erase the base (use !reset for that)
        out.copy_entry(override, k, merge(out[k], v, (*path, k)), keep=False)
    return out


def _concat(base: CSeq, override: CSeq) -> CSeq:
    out = CSeq(override.pos or base.pos)
    for i, v in enumerate(base):
        out.add(v, base.ipos[i] if i < len(base.ipos) else None)
    for i, v in enumerate(override):
        if override.tags.get(i) == RESET:
            continue
        out.add(strip(v), override.ipos[i] if i < len(override.ipos) else None)
    return out


def _replace(base: Any, override: Any, path: tuple) -> Any:
    return strip(override)


# --- list <-> mapping forms ---------------------------------------------------------

def as_mapping(value: Any, sep: str = "=") -> CMap | None:
    """A ``KEY=VALUE`` list (or a mapping) as a CMap; ``KEY`` alone maps to None."""
    if isinstance(value, CMap):
        return value
    if not isinstance(value, CSeq):
        return None
    out = CMap(value.pos)
    for i, item in enumerate(value):
        if value.tags.get(i) == RESET:
            continue
        p = value.ipos[i] if i < len(value.ipos) else None
        if isinstance(item, str):
            k, has, v = item.partition(sep)
            out.put(k, v if has else None, p, p)
        elif item is not None and not isinstance(item, (CMap, CSeq)):
            out.put(_scalar_text(item), None, p, p)
        else:
            return None
    return out


def _scalar_text(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def _merge_as_mapping(base: Any, override: Any, path: tuple) -> Any:
    b, o = as_mapping(base), as_mapping(override)
    if b is None or o is None:
        return _default(base, override, path)
    out = CMap(o.pos or b.pos)
    for k in b:
        out.copy_entry(b, k, b[k], keep=False)
    for k, v in o.items():
        if o.tags.get(k) == RESET:
            out.remove(k)
            continue
        out.copy_entry(o, k, strip(v), keep=False)
    return out


def _depends_on_map(value: Any) -> Any:
    if not isinstance(value, CSeq):
        return value
    out = CMap(value.pos)
    for i, name in enumerate(value):
        p = value.ipos[i] if i < len(value.ipos) else None
        if not isinstance(name, str):
            return value
        cond = CMap(p)
        cond.put("condition", "service_started", p, p)
        cond.put("required", True, p, p)
        out.put(name, cond, p, p)
    return out


def _merge_depends_on(base: Any, override: Any, path: tuple) -> Any:
    return _default(_depends_on_map(base), _depends_on_map(override), path)


def _networks_map(value: Any) -> Any:
    if not isinstance(value, CSeq):
        return value
    out = CMap(value.pos)
    for i, name in enumerate(value):
        if not isinstance(name, str):
            return value
        p = value.ipos[i] if i < len(value.ipos) else None
        out.put(name, None, p, p)
    return out


def _merge_service_networks(base: Any, override: Any, path: tuple) -> Any:
    b, o = _networks_map(base), _networks_map(override)
    if isinstance(b, CMap) and isinstance(o, CMap):
        out = CMap(o.pos or b.pos)
        for k in b:
            out.copy_entry(b, k, b[k], keep=False)
        for k, v in o.items():
            tag = o.tags.get(k)
            if tag == RESET:
                out.remove(k)
            elif tag == OVERRIDE or k not in out or out[k] is None or v is None:
                out.copy_entry(o, k, strip(v) if v is not None else out.get(k), keep=False)
            else:
                out.copy_entry(o, k, merge(out[k], v, (*path, k)), keep=False)
        return out
    return _default(b, o, path)


def _build_map(value: Any) -> Any:
    if isinstance(value, str):
        out = CMap(None)
        out.put("context", value, None)
        return out
    return value


def _merge_build(base: Any, override: Any, path: tuple) -> Any:
    b, o = base, override
    if isinstance(base, str) and isinstance(override, CMap):
        b = CMap(override.pos)
        b.put("context", base, None)
    elif isinstance(override, str) and isinstance(base, CMap):
        o = CMap(base.pos)
        o.put("context", override, None)
    return _default(b, o, path)


def _merge_logging(base: Any, override: Any, path: tuple) -> Any:
    if isinstance(base, CMap) and isinstance(override, CMap):
        bd, od = base.get("driver"), override.get("driver")
        if bd is not None and od is not None and bd != od:
            return strip(override)
    return _default(base, override, path)


# --- unique lists -------------------------------------------------------------------

def _unique_merge(key: Callable[[Any], Any]) -> Rule:
    def rule(base: Any, override: Any, path: tuple) -> Any:
        b, o = _as_seq(base), _as_seq(override)
        if b is None or o is None:
            return _default(base, override, path)
        out = CSeq(o.pos or b.pos)
        index: dict[Any, int] = {}
        for src in (b, o):
            for i, v in enumerate(src):
                if src.tags.get(i) == RESET:
                    continue
                p = src.ipos[i] if i < len(src.ipos) else None
                v = strip(v)
                try:
                    k = key(v)
                    hash(k)
                except Exception:
                    k = object()
                at = index.get(k)
                if at is None:
                    index[k] = len(out)
                    out.add(v, p)
                else:
                    out[at] = v
                    out.ipos[at] = p
        return out

    return rule


def _as_seq(value: Any) -> CSeq | None:
    if isinstance(value, CSeq):
        return value
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        out = CSeq(None)
        out.add(value, None)
        return out
    return None


def _by_value(v: Any) -> Any:
    return repr(_freeze(v))


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


def port_key(v: Any) -> Any:
    """compose-go's port index: the short string itself, or the long form's
    ``host_ip:published:target/protocol``."""
    from compose.loader.unique import _port

    return _port(v)


def mount_target_key(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("target")
    s = str(v)
    parts = s.split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _file_object_key(default_dir: str) -> Callable[[Any], Any]:
    def key(v: Any) -> Any:
        t = str((v.get("target") or v.get("source")) if isinstance(v, dict) else v)
        return t if t.startswith("/") else default_dir + t

    return key


def _env_file_key(v: Any) -> Any:
    if isinstance(v, dict):
        return v.get("path")
    return v


def _subnet_key(v: Any) -> Any:
    if isinstance(v, dict) and v.get("subnet") is not None:
        return v.get("subnet")
    return _by_value(v)


def _merge_ipam_config(base: Any, override: Any, path: tuple) -> Any:
    if isinstance(base, CSeq) and isinstance(override, CSeq):
        out = CSeq(override.pos)
        index: dict[Any, int] = {}
        for src in (base, override):
            for i, v in enumerate(src):
                p = src.ipos[i] if i < len(src.ipos) else None
                k = _subnet_key(v)
                at = index.get(k)
                if at is None:
                    index[k] = len(out)
                    out.add(strip(v), p)
                else:
                    out[at] = merge(out[at], v, (*path, at)) if isinstance(v, CMap) else v
                    out.ipos[at] = p
        return out
    return _default(base, override, path)


_unique_value = _unique_merge(_by_value)


def _hosts_seq(value: Any) -> CSeq | None:
    """extra_hosts as a list; the mapping form becomes sorted ``host=ip`` entries."""
    if isinstance(value, CMap):
        items: list[tuple[str, Any]] = []
        for k, v in value.items():
            p = value.vpos.get(k)
            if isinstance(v, CSeq):
                items += [(f"{k}={x}", p) for x in v]
            elif v is None:
                items.append((k, p))
            else:
                items.append((f"{k}={v}", p))
        out = CSeq(value.pos)
        for text, p in sorted(items, key=lambda t: t[0]):
            out.add(text, p)
        return out
    return _as_seq(value)


def _merge_extra_hosts(base: Any, override: Any, path: tuple) -> Any:
    b, o = _hosts_seq(base), _hosts_seq(override)
    if b is None or o is None:
        return _default(base, override, path)
    return _unique_value(b, o, path)

_RULES: dict[str, Rule] = {}
for _name in ("command", "entrypoint", "healthcheck.test", "ulimits.*"):
    _RULES[f"services.*.{_name}"] = _replace
for _name in ("environment", "labels", "annotations", "sysctls", "build.args",
              "build.labels", "build.additional_contexts", "deploy.labels"):
    _RULES[f"services.*.{_name}"] = _merge_as_mapping
for _section in ("networks", "volumes", "secrets", "configs"):
    _RULES[f"{_section}.*.labels"] = _merge_as_mapping
for _name in ("cap_add", "cap_drop", "dns", "dns_opt", "dns_search", "expose", "profiles",
              "links", "external_links", "volumes_from", "build.tags", "networks.*.aliases"):
    _RULES[f"services.*.{_name}"] = _unique_value
_RULES["services.*.extra_hosts"] = _merge_extra_hosts
_RULES["services.*.build.extra_hosts"] = _merge_extra_hosts
_RULES["services.*.models"] = _merge_service_networks  # list -> mapping, then merge
_RULES["services.*.ports"] = _unique_merge(port_key)
_RULES["services.*.volumes"] = _unique_merge(mount_target_key)
_RULES["services.*.devices"] = _unique_merge(mount_target_key)
_RULES["services.*.secrets"] = _unique_merge(_file_object_key("/run/secrets/"))
_RULES["services.*.configs"] = _unique_merge(_file_object_key("/"))
_RULES["services.*.env_file"] = _unique_merge(_env_file_key)
_RULES["services.*.label_file"] = _unique_value
_RULES["services.*.tmpfs"] = _unique_value
_RULES["services.*.depends_on"] = _merge_depends_on
_RULES["services.*.networks"] = _merge_service_networks
_RULES["services.*.build"] = _merge_build
_RULES["services.*.logging"] = _merge_logging
_RULES["networks.*.ipam.config"] = _merge_ipam_config
