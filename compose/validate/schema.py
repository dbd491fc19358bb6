"""Validate the merged tree against ``schemas/compose-spec.json`` and turn every
jsonschema error into a readable, located :class:`~compose.errors.ConfigIssue`.

jsonschema is imported only when a tree is invalid (it costs ~70 ms to import):
jsonschema-rs answers "valid?" first (about 1000x faster), and
:mod:`compose.validate.cache` skips both for trees already known valid.

Readability rules:
* unknown keys name the key, point at the key itself and suggest the closest known key;
* ``oneOf`` errors (the short/long syntax alternatives) are reduced to the branch whose
  shape matches the value (a mapping for the long syntax...), and to "must be a string
  or a mapping" when no branch's shape matches;
* types are spelled as users write YAML: mapping, list, string, number, boolean.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any

from compose.errors import ConfigIssue

SCHEMA_FILE = Path(__file__).resolve().parent.parent.parent / "schemas" / "compose-spec.json"

_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string",
               "integer": "an integer", "number": "a number", "boolean": "a boolean",
               "null": "null"}


@cache
def schema() -> dict[str, Any]:
    with open(SCHEMA_FILE, encoding="utf-8") as f:
        return json.load(f)


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft7Validator(schema())


@cache
def _fast_validator() -> Any:
    """jsonschema-rs (Rust, ~0.1 ms for 200 services against ~100 ms for jsonschema):
    only answers "valid or not"; the messages always come from jsonschema."""
    try:
        import jsonschema_rs
    except ImportError:  # optional speed-up
        return None
    return jsonschema_rs.Draft7Validator(schema())


def format_path(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _types(schema_: dict[str, Any]) -> list[str]:
    t = schema_.get("type")
    if t is None:
        return []
    return _drop_interpolation_string(t if isinstance(t, list) else [t])


def _drop_interpolation_string(types: list[str]) -> list[str]:
    """We accept a string where a number/boolean is expected only because values may
    come from interpolation: do not advertise it ("must be an integer" is what the user
    needs to read)."""
    # the lenient types are written number-first (["integer", "string"]); a genuine
    # union is written string-first (["string", "number"]) and is spelled in full
    if len(types) == 2 and types[1] == "string" and any(
            x in types for x in ("integer", "number", "boolean")):
        return [x for x in types if x != "string"]
    return types


def _spell(types: list[str]) -> str:
    words = []
    for t in types:
        w = _TYPE_WORDS.get(t, t)
        if w not in words:
            words.append(w)
    if len(words) <= 1:
        return words[0] if words else "something else"
    return ", ".join(words[:-1]) + " or " + words[-1]


class SchemaValidator:
    def __init__(self, positions: Any) -> None:
        self.positions = positions
        self.issues: list[ConfigIssue] = []

    def pos(self, path: tuple, key: bool = False):
        if self.positions is None:
            return None
        p = self.positions.key_pos(path) if key else self.positions.get(path)
        return p if p is not None else self.positions.nearest(path)

    def add(self, path: tuple, message: str, hint: str | None = None, *,
            key: bool = False) -> None:
        self.issues.append(ConfigIssue(self.pos(path, key), format_path(path), message, hint))

    def run(self, data: Any) -> list[ConfigIssue]:
        fast = _fast_validator()
        if fast is not None:
            try:
                if fast.is_valid(data):
                    return self.issues
            except (ValueError, TypeError):  # a value Rust cannot take: ask jsonschema
                pass
        for err in _validator().iter_errors(data):
            self.explain(err)
        return self.issues

    # --- one error -----------------------------------------------------------------
    def explain(self, err: Any) -> None:
        path = tuple(err.absolute_path)
        v = err.validator
        if v in ("oneOf", "anyOf"):
            self.explain_alternatives(err, path)
        elif v == "additionalProperties":
            self.explain_unknown_keys(err, path)
        elif v == "required":
            missing = err.message.split("'")[1] if "'" in err.message else err.message
            self.add(path, f"missing required key {missing!r}")
        elif v == "type":
            self.add(path, f"must be {_spell(_types(err.schema) or [err.validator_value])}, "
                           f"not {_kind(err.instance)}")
        elif v == "enum":
            allowed = ", ".join(str(x) for x in err.validator_value)
            self.add(path, f"invalid value {err.instance!r} (expected one of: {allowed})")
        elif v == "uniqueItems":
            self.add(path, "contains duplicate entries")
        elif v in ("minimum", "maximum"):
            word = "greater than or equal to" if v == "minimum" else "less than or equal to"
            self.add(path, f"must be {word} {err.validator_value}")
        elif v == "pattern":
            self.add(path, f"invalid value {err.instance!r}")
        else:  # pragma: no cover - validators our schema does not use
            self.add(path, err.message)

    def explain_unknown_keys(self, err: Any, path: tuple) -> None:
        props = err.schema.get("properties", {})
        patterns = err.schema.get("patternProperties", {})
        import re

        for key in err.instance:
            if key in props or any(re.search(p, key) for p in patterns):
                continue
            known = [k for k in props if not k.startswith("x-")]
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else None
            where = format_path(path) or "top level"
            if not props and patterns:
                self.add((*path, key), f"invalid name {key!r}: use only letters, digits, "
                         "'.', '_' and '-'", key=True)
                continue
            if not path and not close:
                hint = ("top-level keys are services, networks, volumes, secrets, configs, "
                        "include, models, name and x-*; a service must go under `services:`")
            self.add((*path, key), f"unknown key {key!r} in {where}", hint, key=True)

    def explain_alternatives(self, err: Any, path: tuple) -> None:
        branches: dict[int, list[Any]] = {}
        for sub in err.context or ():
            branches.setdefault(sub.schema_path[0], []).append(sub)
        shape_ok: list[list[Any]] = []
        for _idx, subs in sorted(branches.items()):
            root_type_fail = any(s.validator == "type" and not s.relative_path for s in subs)
            if not root_type_fail:
                shape_ok.append(subs)
        if not shape_ok:
            types: list[str] = []
            for alt in err.validator_value:
                types.extend(_types(_resolve(alt)))
            types = _drop_interpolation_string(list(dict.fromkeys(types)))
            self.add(path, f"must be {_spell(types)}, not {_kind(err.instance)}")
            return
        # the value has the shape of (at least) one alternative: explain why that one
        # fails, starting with the deepest error
        subs = min(shape_ok, key=len)
        deepest = max(subs, key=lambda s: len(s.relative_path))
        self.explain(_Shim(deepest, (*path, *deepest.relative_path)))


def _resolve(alt: dict[str, Any]) -> dict[str, Any]:
    ref = alt.get("$ref")
    if ref and ref.startswith("#/definitions/"):
        return _resolve(schema()["definitions"][ref.split("/")[-1]])
    if "oneOf" in alt:
        out: list[str] = []
        for a in alt["oneOf"]:
            out.extend(_types(_resolve(a)))
        return {"type": out}
    return alt


class _Shim:
    """A jsonschema error seen at another absolute path (for nested oneOf causes)."""

    def __init__(self, err: Any, path: tuple) -> None:
        self._err = err
        self.absolute_path = path

    def __getattr__(self, name: str) -> Any:
        return getattr(self._err, name)


def validate_schema(data: Any, positions: Any = None) -> list[ConfigIssue]:
    """Every schema problem of ``data`` as located issues (empty list: valid)."""
    return SchemaValidator(positions).run(data)
