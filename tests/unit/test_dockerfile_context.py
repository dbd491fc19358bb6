""".dockerignore matching, the build context walker and COPY cache keys."""

import os

import pytest

from runtime.build import instructions as ins
from runtime.build.cachekey import sources_digest, step_key
from runtime.build.context import BuildContext, HashCache
from runtime.build.dockerfile import parse_dockerfile
from runtime.build.dockerignore import Matcher, clean, load_matcher, parse_patterns
from runtime.errors import InvalidInputError


@pytest.mark.parametrize("path,expected", [
    ("a/./b/", "a/b"), ("/a/../b", "/b"), ("", "."), ("../x", "../x"), ("a//b", "a/b"),
])
def test_clean_like_go(path, expected):
    assert clean(path) == expected


def test_parse_patterns_cleans_and_drops_leading_slash():
    text = "# comment\n\n  /foo/bar/  \n!  keep.txt\n*.log\n  # not a comment: pattern\n"
    assert parse_patterns(text) == ["foo/bar", "!keep.txt", "*.log", "# not a comment: pattern"]


@pytest.mark.parametrize("patterns,path,excluded", [
    (["*.log"], "a.log", True),
    (["*.log"], "dir/a.log", False),          # * does not cross /
    (["*/*.log"], "dir/a.log", True),
    (["**/*.log"], "dir/sub/a.log", True),
    (["**/*.log"], "a.log", True),
    (["dir"], "dir/sub/file", True),          # a dir pattern excludes everything below
    (["dir/**"], "dir/x", True),
    (["dir/**"], "dir", False),
    (["a?c"], "abc", True),
    (["a?c"], "a/c", False),
    (["[a-c]x"], "bx", True),
    (["[^a-c]x"], "bx", False),
    (["[^a-c]x"], "dx", True),
    (["\\*x"], "*x", True),
    (["\\*x"], "ax", False),
    (["a.b"], "axb", False),                  # regex metachars are literal
    (["*", "!keep"], "keep", False),
    (["*", "!keep", "keep"], "keep", True),   # last match wins
    (["node_modules", "!node_modules/x"], "node_modules/x", False),
    (["node_modules", "!node_modules/x"], "node_modules/y", True),
    (["docs", "!docs/*.md"], "docs/a.md", False),
    (["**"], "anything/at/all", True),
    (["/abs"], "abs", True),
])
def test_matcher(patterns, path, excluded):
    assert Matcher(patterns).excluded(path) is excluded


def test_bare_exclamation_is_an_error():
    with pytest.raises(InvalidInputError, match="illegal exclusion pattern"):
        Matcher(["!"])


def test_dockerfile_specific_ignore_file_wins(tmp_path):
    (tmp_path / ".dockerignore").write_text("a\n")
    df = tmp_path / "app.Dockerfile"
    df.write_text("FROM x\n")
    assert load_matcher(tmp_path, df).excluded("a")
    (tmp_path / "app.Dockerfile.dockerignore").write_text("b\n")
    m = load_matcher(tmp_path, df)
    assert m.excluded("b") and not m.excluded("a")
    assert not load_matcher(tmp_path, None).excluded("b")


@pytest.fixture
def ctx_dir(tmp_path):
    root = tmp_path / "ctx"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print(1)\n")
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "src" / "app.log").write_text("noise\n")
    (root / "node_modules" / "keep").mkdir(parents=True)
    (root / "node_modules" / "keep" / "k.js").write_text("k\n")
    (root / "node_modules" / "drop.js").write_text("d\n")
    (root / "README.md").write_text("readme\n")
    (root / "a1.txt").write_text("1")
    (root / "a2.txt").write_text("2")
    os.symlink("src/main.py", root / "link")
    return root


def test_walk_respects_ignore_and_exceptions(ctx_dir):
    ctx = BuildContext(ctx_dir, Matcher(["**/*.log", "node_modules", "!node_modules/keep"]))
    rels = [e.rel for e in ctx.tree(".")]
    assert "src/app.log" not in rels and "node_modules/drop.js" not in rels
    assert "node_modules/keep/k.js" in rels and "node_modules" in rels
    assert rels == sorted(rels, key=lambda r: r.split("/"))
    link = next(e for e in ctx.tree(".") if e.rel == "link")
    assert link.kind == "l" and link.link == "src/main.py"


def test_match_globs_and_clamps_parent_refs(ctx_dir):
    ctx = BuildContext(ctx_dir, Matcher(["README.md"]))
    assert ctx.match("a*.txt") == ["a1.txt", "a2.txt"]
    assert ctx.match("src/*/mod.py") == ["src/pkg/mod.py"]
    assert ctx.match("../../a1.txt") == ["a1.txt"]
    assert ctx.match("README.md") == []          # ignored files are invisible
    assert ctx.match("missing") == []
    assert ctx.match(".") == ["."]


def test_sources_digest_precise(ctx_dir):
    ctx = BuildContext(ctx_dir)
    base = sources_digest(ctx, ["src"])
    assert sources_digest(BuildContext(ctx_dir), ["src"]) == base
    # mtime is not part of it
    os.utime(ctx_dir / "src" / "main.py", (1, 1))
    assert sources_digest(BuildContext(ctx_dir), ["src"]) == base
    # content, mode, names, chmod/chown flags are
    (ctx_dir / "src" / "main.py").write_text("print(2)\n")
    changed = sources_digest(BuildContext(ctx_dir), ["src"])
    assert changed != base
    os.chmod(ctx_dir / "src" / "main.py", 0o755)
    assert sources_digest(BuildContext(ctx_dir), ["src"]) != changed
    assert sources_digest(BuildContext(ctx_dir), ["src"], chown="1:1") != \
        sources_digest(BuildContext(ctx_dir), ["src"])
    # files outside the sources do not matter; ignored files do not matter
    before = sources_digest(BuildContext(ctx_dir, Matcher(["src/app.log"])), ["src"])
    (ctx_dir / "a1.txt").write_text("changed")
    (ctx_dir / "src" / "app.log").write_text("more noise")
    assert sources_digest(BuildContext(ctx_dir, Matcher(["src/app.log"])), ["src"]) == before


def test_hash_cache_persists_and_detects_changes(ctx_dir, tmp_path):
    old = 1_600_000_000
    os.utime(ctx_dir / "a1.txt", (old, old))  # settled: memoised
    store = tmp_path / "hashes.json"
    hc = HashCache(store)
    d1 = BuildContext(ctx_dir, hash_cache=hc).file_digest("a1.txt")
    hc.save()
    hc2 = HashCache(store)
    assert len(hc2.data) == 1
    assert BuildContext(ctx_dir, hash_cache=hc2).file_digest("a1.txt") == d1
    (ctx_dir / "a1.txt").write_text("new content")
    assert BuildContext(ctx_dir, hash_cache=hc2).file_digest("a1.txt") != d1


def test_context_must_be_a_directory(tmp_path):
    with pytest.raises(InvalidInputError, match="is not a directory"):
        BuildContext(tmp_path / "missing")


def _inst(text: str) -> ins.Instruction:
    return parse_dockerfile("FROM x\n" + text).stages[0].instructions[0]


def test_step_key_ignores_position_but_not_content():
    a = _inst("RUN echo hi\n")
    b = parse_dockerfile("FROM x\n\n\nRUN echo hi\n").stages[0].instructions[0]
    assert step_key("p", a) == step_key("p", b)
    assert step_key("p", a) != step_key("q", a)
    assert step_key("p", a) != step_key("p", _inst("RUN echo ho\n"))
    assert step_key("p", a, env=["A=1"]) != step_key("p", a, env=["A=2"])
    assert step_key("p", a, user="1") != step_key("p", a)
    assert step_key("p", a, workdir="/x") != step_key("p", a)
    assert step_key("p", a, shell=["/bin/bash", "-c"]) != step_key("p", a)
    c = _inst("COPY a /b\n")
    assert step_key("p", c, extra="h1") != step_key("p", c, extra="h2")
    assert step_key("p", c).startswith("sha256:")


def test_recently_modified_files_are_not_memoised(ctx_dir):
    hc = HashCache(None)
    BuildContext(ctx_dir, hash_cache=hc).file_digest("a1.txt")  # just written
    assert hc.data == {}
