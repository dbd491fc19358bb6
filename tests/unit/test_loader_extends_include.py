"""extends (same file, other file, rebased paths, cycles) and include (paths, project
directory, env_file, conflicts, cycles)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ConfigError
from compose.loader import LoadOptions, load_config
from tests.conftest import CORPUS


def write(d: Path, name: str, text: str) -> Path:
    p = d / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def load(d: Path, environ: dict | None = None, **kw):
    return load_config(LoadOptions(working_dir=str(d), environ=environ or {}, **kw))


def test_extends_same_file_merges_with_rules(tmp_path):
    write(tmp_path, "compose.yaml", """
services:
  base:
    image: app
    command: [serve, --slow]
    environment: [A=1, B=2]
    ports: ["80:80"]
  web:
    extends: base
    command: [serve]
    environment: {B: 3}
    ports: ["443:443"]
  worker:
    extends: {service: web}
    user: nobody
""")
    s = load(tmp_path).data["services"]
    assert s["web"] == {"image": "app", "command": ["serve"], "environment": {"A": "1", "B": 3},
                        "ports": ["80:80", "443:443"]}
    assert s["worker"]["user"] == "nobody" and s["worker"]["command"] == ["serve"]
    assert "extends" not in s["worker"]


def test_extends_other_file_rebases_relative_paths(tmp_path):
    write(tmp_path, "common/base.yaml", """
services:
  svc:
    build: ./ctx
    env_file: [base.env]
    volumes: [./data:/data, named:/n, /abs:/abs]
    extends: {file: deeper/more.yaml, service: more}
secrets:
  s: {file: ./secret.txt}
""")
    write(tmp_path, "common/deeper/more.yaml", "services:\n  more:\n    label_file: ./l.txt\n")
    write(tmp_path, "compose.yaml", """
services:
  web:
    extends: {file: common/base.yaml, service: svc}
    volumes: [./mine:/mine]
""")
    web = load(tmp_path).data["services"]["web"]
    common = tmp_path / "common"
    assert web["build"] == str(common / "ctx")
    assert web["env_file"] == [str(common / "base.env")]
    assert web["volumes"] == [f"{common / 'data'}:/data", "named:/n", "/abs:/abs", "./mine:/mine"]
    assert web["label_file"] == str(common / "deeper" / "l.txt")


def test_extends_positions_come_from_the_base_file(tmp_path):
    write(tmp_path, "base.yaml", "services:\n  b:\n    image: from-base\n")
    write(tmp_path, "compose.yaml", "services:\n  w:\n    extends: {file: base.yaml, service: b}\n")
    pos = load(tmp_path).positions.get(("services", "w", "image"))
    assert (pos.file, pos.line, pos.col) == ("base.yaml", 3, 12)


def test_extends_cycle_is_reported(tmp_path):
    write(tmp_path, "compose.yaml", "services:\n  a: {extends: b}\n  b: {extends: c}\n"
                                    "  c: {extends: a}\n")
    with pytest.raises(ConfigError, match=r"circular reference in extends: a -> b -> c -> a"):
        load(tmp_path)


def test_extends_cycle_across_files(tmp_path):
    write(tmp_path, "other.yaml", "services:\n  o:\n    extends: {file: compose.yaml, "
                                  "service: a}\n")
    write(tmp_path, "compose.yaml", "services:\n  a:\n    extends: {file: other.yaml, "
                                    "service: o}\n")
    with pytest.raises(ConfigError, match="circular reference"):
        load(tmp_path)


def test_extends_unknown_service_with_did_you_mean(tmp_path):
    write(tmp_path, "compose.yaml", "services:\n  base: {image: x}\n  w:\n    extends: bsae\n")
    with pytest.raises(ConfigError) as exc:
        load(tmp_path)
    (issue,) = exc.value.issues
    assert (issue.pos.line, issue.path) == (4, "services.w.extends")
    assert "did you mean 'base'" in issue.hint


def test_extends_missing_file(tmp_path):
    write(tmp_path, "compose.yaml", "services:\n  w:\n    extends: {file: nope.yaml, "
                                    "service: x}\n")
    with pytest.raises(ConfigError, match=r"nope\.yaml not found"):
        load(tmp_path)


def test_extends_with_reset(tmp_path):
    write(tmp_path, "compose.yaml", "services:\n  b: {image: x, ports: ['80:80']}\n"
                                    "  w:\n    extends: b\n    ports: !reset []\n")
    assert load(tmp_path).data["services"]["w"] == {"image": "x"}


def test_include_basic_with_relative_paths_and_positions(tmp_path):
    write(tmp_path, "sub/compose.yaml", "services:\n  db:\n    image: pg\n    build: ./ctx\n"
                                        "    volumes: [./d:/d]\nvolumes:\n  data: {}\n")
    write(tmp_path, "compose.yaml", "include:\n  - sub/compose.yaml\n"
                                    "services:\n  web:\n    image: w\n")
    cfg = load(tmp_path)
    db = cfg.data["services"]["db"]
    assert db["build"] == str(tmp_path / "sub" / "ctx")
    assert db["volumes"] == [f"{tmp_path / 'sub' / 'd'}:/d"]
    assert cfg.data["volumes"] == {"data": {}}
    assert "include" not in cfg.data
    assert cfg.positions.get(("services", "db", "image")).file == "sub/compose.yaml"


def test_include_project_directory_and_env_file(tmp_path):
    write(tmp_path, "inc/compose.yaml", "services:\n  i:\n    image: 'img:${TAG}'\n"
                                        "    build: ctx\n    environment: [VAR_NAME]\n")
    write(tmp_path, "inc/.env", "TAG=from-inc-dotenv\n")
    write(tmp_path, "custom.env", "TAG=custom\nVAR_NAME=value\n")
    write(tmp_path, "compose.yaml", "include:\n  - path: inc/compose.yaml\n"
                                    "    project_directory: other\n    env_file: custom.env\n"
                                    "services:\n  a:\n    image: a\n    environment: [VAR_NAME]\n")
    s = load(tmp_path).data["services"]
    assert s["i"]["image"] == "img:custom"
    assert s["i"]["build"] == str(tmp_path / "other" / "ctx")
    assert s["i"]["environment"] == ["VAR_NAME=value"]  # only in the include's context
    assert s["a"]["environment"] == ["VAR_NAME"]


def test_include_uses_its_own_dotenv_and_parent_env_wins(tmp_path):
    write(tmp_path, "inc/compose.yaml", "services:\n  i:\n    image: 'img:${TAG}'\n")
    write(tmp_path, "inc/.env", "TAG=inc\n")
    write(tmp_path, "compose.yaml", "include: [inc/compose.yaml]\n")
    assert load(tmp_path).data["services"]["i"]["image"] == "img:inc"
    assert load(tmp_path, {"TAG": "shell"}).data["services"]["i"]["image"] == "img:shell"


def test_include_local_definition_overrides_the_imported_one(tmp_path):
    write(tmp_path, "inc.yaml", "services:\n  web: {image: other, user: u, ports: ['1:1']}\n")
    write(tmp_path, "compose.yaml", "include: [inc.yaml]\nservices:\n  web:\n"
                                    "    image: mine\n    ports: !reset []\n")
    cfg = load(tmp_path)
    assert cfg.data["services"]["web"] == {"image": "mine", "user": "u"}
    assert cfg.positions.get(("services", "web", "image")).file == "compose.yaml"
    assert cfg.positions.get(("services", "web", "user")).file == "inc.yaml"
    assert any("compose.yaml:3:3: services.web overrides the definition included from" in w
               for w in cfg.warnings)


def test_include_identical_definition_is_not_a_conflict(tmp_path):
    write(tmp_path, "inc.yaml", "services:\n  web: {image: same}\n")
    write(tmp_path, "compose.yaml", "include: [inc.yaml]\nservices:\n  web: {image: same}\n")
    cfg = load(tmp_path)
    assert cfg.data["services"]["web"] == {"image": "same"}
    assert not cfg.warnings


def test_include_cycle(tmp_path):
    write(tmp_path, "a.yaml", "include: [b.yaml]\nservices: {a: {image: a}}\n")
    write(tmp_path, "b.yaml", "include: [a.yaml]\nservices: {b: {image: b}}\n")
    with pytest.raises(ConfigError, match="include cycle detected"):
        load(tmp_path, files=("a.yaml",))


def test_include_missing_file(tmp_path):
    write(tmp_path, "compose.yaml", "include: [nope.yaml]\n")
    with pytest.raises(ConfigError, match=r"nope\.yaml not found"):
        load(tmp_path)


def test_include_with_override_paths(tmp_path):
    write(tmp_path, "inc/main.yaml", "services:\n  i: {image: a, user: u}\n")
    write(tmp_path, "inc/over.yaml", "services:\n  i: {image: b}\n")
    write(tmp_path, "compose.yaml", "include:\n  - path: [inc/main.yaml, inc/over.yaml]\n")
    assert load(tmp_path).data["services"]["i"] == {"image": "b", "user": "u"}


LOADER = CORPUS / "compose-go" / "loader"
needs_corpus = pytest.mark.skipif(not LOADER.is_dir(), reason="shared corpus not available")


@needs_corpus
def test_corpus_multiple_include_same_service(tmp_path):
    """compose-go TestLoadWithMultipleInclude: the same service included twice, with the
    process environment winning over the include's env_file, is not a conflict."""
    write(tmp_path, "compose.yaml", (CORPUS / "compose-go/inline/include/"
                                     "TestLoadWithMultipleInclude/01.yaml").read_text())
    cfg = load(tmp_path, {"SOURCE": "override"}, files=(str(tmp_path / "compose.yaml"),),
               project_directory=str(LOADER))
    assert cfg.data["services"]["imported"]["container_name"] == "override"


@needs_corpus
def test_corpus_multiple_include_conflict(tmp_path):
    """compose-go TestLoadWithMultipleIncludeConflict: the local `bar` (with
    `environment: !override`) overrides the imported one."""
    write(tmp_path, "compose.yaml", (CORPUS / "compose-go/inline/include/"
                                     "TestLoadWithMultipleIncludeConflict/01.yaml").read_text())
    cfg = load(tmp_path, {"SOURCE": "override"}, files=(str(tmp_path / "compose.yaml"),),
               project_directory=str(LOADER))
    assert cfg.data["services"]["bar"] == {"image": "busybox", "environment": ["ZOT=QIX"]}


@needs_corpus
def test_corpus_extends_from_testdata():
    """compose-go TestExtends: services from testdata/extends/base.yaml."""
    text = (CORPUS / "compose-go/inline/extends/TestExtends/01-yaml.yaml").read_text()
    import io

    cfg = load_config(LoadOptions(files=("-",), stdin=io.StringIO(text), environ={},
                                  project_directory=str(LOADER)))
    s = cfg.data["services"]
    assert s["test1"]["hostname"] == "test1"
    assert s["test3"]["hostname"] == "test3"
    base = (LOADER / "testdata/extends/base.yaml").read_text()
    assert "base" in base and "image" in s["test1"]


@needs_corpus
def test_corpus_include_cycle():
    with pytest.raises(ConfigError, match="include cycle detected"):
        load(LOADER / "testdata", files=("compose-include-cycle.yaml",))


@needs_corpus
def test_corpus_combined_include_and_extends():
    cfg = load(LOADER / "testdata/combined")
    assert cfg.data["services"]
