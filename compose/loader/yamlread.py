"""Read compose YAML into the loader's positioned tree (:mod:`compose.loader.tree`).

Parsing uses ruamel.yaml's scanner/parser/composer (pure Python, so every node has a
line and column) with a resolver that leaves plain scalars unresolved; our own
constructor then applies Compose's reading rules (:mod:`compose.loader.yamlscalar`),
and reports, each with its file:line:col:

* duplicate keys (with the line of the first definition),
* ``<<`` merge keys whose value is not a mapping (or a list of mappings),
* anchors that reference themselves (``cycle detected``),
* alias bombs (``excessive aliasing``: the expanded size is computed before anything
  is built),
* keys that are not strings (``123:`` must be quoted, as in compose-go), and YAML
  syntax errors.

``!reset`` and ``!override`` tags are kept in the parent container's ``tags`` for the
merge step; other unknown tags are ignored (the value is kept), as the reference does.
"""

from __future__ import annotations

from typing import Any

from compose.errors import ConfigError, ConfigIssue, Pos
from compose.loader.tree import OVERRIDE, RESET, CMap, CSeq, format_path
from compose.loader.yamlscalar import resolve_plain, resolve_tagged

#: Upper bound on the number of nodes a document may expand to through aliases.
MAX_EXPANDED_NODES = 1_000_000

_PLAIN = "?plain"
_STR = "tag:yaml.org,2002:str"
_MERGE_TAGS = (OVERRIDE, RESET)

_yaml_factory = None


def _make_yaml():
    """A ruamel YAML object that composes nodes without resolving plain scalars."""
    global _yaml_factory
    if _yaml_factory is None:
        from ruamel.yaml import YAML
        from ruamel.yaml.nodes import ScalarNode
        from ruamel.yaml.resolver import VersionedResolver
        from ruamel.yaml.tag import Tag

        plain, string = Tag(suffix=_PLAIN), Tag(suffix=_STR)

        class _Resolver(VersionedResolver):
            def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
                if kind is ScalarNode:
                    return plain if implicit[0] else string
                return super().resolve(kind, value, implicit)

        def factory():
            y = YAML(typ="safe", pure=True)
            y.Resolver = _Resolver
            return y

        _yaml_factory = factory
    return _yaml_factory()


class _Fail(Exception):
    pass


def _syntax_hint(problem: str) -> str | None:
    if "'\\t'" in problem:
        return "indent with spaces: YAML does not allow tabs for indentation"
    if "mapping values are not allowed" in problem:
        return "quote a value that contains ': ' (e.g. command: \"echo a: b\")"
    if "expected <block end>" in problem:
        return "check the indentation of this line against the lines above it"
    if "cannot start any token" in problem:
        return "quote values that start with @, ` or %"
    if "undefined alias" in problem:
        return "define the anchor (&name) before using the alias (*name)"
    if "end of stream" in problem or "<stream end>" in problem:
        return "a quote or bracket opened earlier is not closed"
    return None


def read_yaml(text: str, filename: str, *, fast: bool = True) -> list[Any]:
    """Parse every YAML document of ``text``; raise :class:`ConfigError` on any problem.

    Returns one value per document (a :class:`CMap` for a well-formed compose file).
    Plain block-style files go through :mod:`compose.loader.fastyaml` (same result,
    ~10x faster); ``fast=False`` forces ruamel.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if fast:
        from compose.loader.fastyaml import fast_read

        docs = fast_read(text, filename)
        if docs is not None:
            return docs
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    issues: list[ConfigIssue] = []
    try:
        nodes = list(_make_yaml().compose_all(text))
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        pos = Pos(filename, mark.line + 1, mark.column + 1) if mark else Pos(filename)
        what = err.problem or err.context or "invalid YAML"
        raise ConfigError([ConfigIssue(pos, "", f"YAML syntax error: {what}",
                                       _syntax_hint(what))]) from None
    except YAMLError as err:
        raise ConfigError([ConfigIssue(Pos(filename), "", f"YAML error: {err}")]) from None
    except RecursionError:
        raise ConfigError([ConfigIssue(Pos(filename), "", "YAML nesting is too deep")]) from None
    docs: list[Any] = []
    for node in nodes:
        builder = _Builder(filename, issues)
        try:
            docs.append(builder.document(node))
        except _Fail:
            pass
        except RecursionError:
            issues.append(ConfigIssue(Pos(filename), "", "YAML nesting is too deep"))
    if issues:
        raise ConfigError(issues)
    return docs


class _Builder:
    def __init__(self, filename: str, issues: list[ConfigIssue]) -> None:
        self.file = filename
        self.issues = issues
        self.active: dict[int, tuple] = {}

    def pos(self, node: Any) -> Pos:
        m = node.start_mark
        return Pos(self.file, m.line + 1, m.column + 1)

    def fail(self, node: Any, path: tuple, message: str) -> None:
        self.issues.append(ConfigIssue(self.pos(node), format_path(path), message))

    def document(self, node: Any) -> Any:
        size = _expanded_size(node, {}, set())
        if size > MAX_EXPANDED_NODES:
            self.fail(node, (), "document contains excessive aliasing "
                      f"(expands to more than {MAX_EXPANDED_NODES} nodes)")
            raise _Fail
        return self.build(node, ())

    def build(self, node: Any, path: tuple) -> Any:
        kind = node.id
        if kind == "scalar":
            return self.scalar(node, path)
        key = id(node)
        if key in self.active:
            self.fail(node, path, f"cycle detected: node at path {format_path(path) or '.'} "
                      f"references node at path {format_path(self.active[key]) or '.'}")
            raise _Fail
        self.active[key] = path
        try:
            if kind == "mapping":
                return self.mapping(node, path)
            return self.sequence(node, path)
        finally:
            del self.active[key]

    def scalar(self, node: Any, path: tuple) -> Any:
        tag = str(node.tag)
        if tag == _PLAIN:
            return resolve_plain(node.value)
        if tag == _STR or tag in _MERGE_TAGS:
            if tag in _MERGE_TAGS and node.style is None:
                return resolve_plain(node.value)
            return node.value
        value, ok = resolve_tagged(tag, node.value)
        if not ok and tag.startswith("tag:yaml.org,2002:") and not tag.endswith(":str"):
            self.fail(node, path, f"cannot read {node.value!r} as {tag.rsplit(':', 1)[-1]}")
        return value

    def child_tag(self, node: Any) -> str | None:
        tag = str(node.tag)
        return tag if tag in _MERGE_TAGS else None

    def sequence(self, node: Any, path: tuple) -> CSeq:
        seq = CSeq(self.pos(node))
        for i, item in enumerate(node.value):
            seq.add(self.build(item, (*path, i)), self.pos(item), self.child_tag(item))
        return seq

    def mapping(self, node: Any, path: tuple) -> CMap:
        out = CMap(self.pos(node))
        merges: list[Any] = []
        for knode, vnode in node.value:
            if knode.id != "scalar":
                self.fail(knode, path, "mapping keys must be strings")
                continue
            ktag = str(knode.tag)
            if ktag == _PLAIN and knode.value == "<<":
                merges.append(vnode)
                continue
            key = knode.value
            if ktag == _PLAIN and key in ("", "~", "null", "Null", "NULL"):
                self.fail(knode, path, "mapping key must not be null")
                continue
            if ktag == _PLAIN and not isinstance(resolve_plain(key), str):
                where = format_path(path)
                self.issues.append(ConfigIssue(
                    self.pos(knode), where,
                    f"non-string key {'in ' + where if where else 'at top level'}: {key}",
                    f'quote the key: "{key}"'))
                continue
            if key in out:
                first = out.kpos[key]
                self.fail(knode, (*path, key),
                          f'mapping key "{key}" already defined at line {first.line}')
                continue
            kpos = self.pos(knode)
            # an empty value is located at its key (ruamel marks the next token instead)
            vpos = kpos if (vnode.id == "scalar" and vnode.value == "" and vnode.style is None) \
                else self.pos(vnode)
            out.put(key, self.build(vnode, (*path, key)), vpos, kpos, self.child_tag(vnode))
        for vnode in merges:
            self.merge_into(out, vnode, path)
        return out

    def merge_into(self, out: CMap, vnode: Any, path: tuple) -> None:
        """YAML ``<<`` merge key: keys already present (explicit or earlier) win."""
        sources = vnode.value if vnode.id == "sequence" else [vnode]
        for src in sources:
            if src.id != "mapping":
                self.fail(src, (*path, "<<"), "map merge requires map or sequence of maps "
                          "as the value")
                continue
            built = self.build(src, path)
            for key, value in built.items():
                if key not in out:
                    out.put(key, value, built.vpos.get(key), built.kpos.get(key),
                            built.tags.get(key))


def _expanded_size(node: Any, memo: dict[int, int], active: set[int]) -> int:
    """Number of nodes ``node`` expands to with aliases copied (cycles count once)."""
    key = id(node)
    done = memo.get(key)
    if done is not None:
        return done
    if node.id == "scalar":
        return 1
    if key in active:
        return 1
    active.add(key)
    total = 1
    if node.id == "mapping":
        for k, v in node.value:
            total += _expanded_size(k, memo, active) + _expanded_size(v, memo, active)
            if total > MAX_EXPANDED_NODES:
                break
    else:
        for v in node.value:
            total += _expanded_size(v, memo, active)
            if total > MAX_EXPANDED_NODES:
                break
    active.discard(key)
    memo[key] = total
    return total
