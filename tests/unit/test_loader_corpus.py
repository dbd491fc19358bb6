"""The shared conformance corpus through load_config.

Every compose document marked ``valid`` must load (read, interpolate, include,
extends, merge); every document whose expected failure is a loading error must fail
with a located error.  Validation/semantic failures belong to the model layer and are
not asserted here.  Documents cut out of Go tests that need the test's own environment
or companion files the corpus does not hold are listed with the reason.
"""

from __future__ import annotations

import json

import pytest

from compose.errors import ConfigError
from compose.loader import LoadOptions, load_config
from tests.conftest import CORPUS
from tests.corpus_support import load_options

INDEX = CORPUS / "INDEX.json"
ROWS = json.loads(INDEX.read_text())["rows"] if INDEX.is_file() else []

# file -> environment the source test supplies
ENVIRONMENTS = {
    "compose-go/inline/loader/TestInterpolateInt/01.yaml": {"FOO_SCALE": "2"},
    "compose-go/inline/loader/TestLoadWithInterpolationCastFull/01-dict.yaml": {
        "theint": "555", "thefloat": "3.14", "thebool": "true", "thefalse": "false",
        "thestring": "s"},
    "compose-go/inline/include/TestLoadWithMultipleInclude/01.yaml": {"SOURCE": "override"},
    "compose-go/inline/include/TestLoadWithMultipleIncludeConflict/01.yaml": {
        "SOURCE": "override"},
}
# valid in their source, but not as a whole loaded project:
NOT_LOADABLE = {
    "compose-go/schema/using-variables.yaml":
        "a schema test run before interpolation: every field is ${VARIABLE}",
    "compose-spec/examples/build/006.yaml":
        "the spec example repeats the key `base`; Compose rejects duplicate keys",
}
# expected failures that are loading errors, with the text we report
LOAD_ERRORS = {
    "compose-go/loader/testdata/compose-include-cycle.yaml": "include cycle detected",
    "compose-go/loader/testdata/empty.yaml": "empty compose file",
    "compose-go/inline/extends/TestExtendsWihtMissingService/01-yaml.yaml":
        "extends.test.service is required",
    "compose-go/inline/merge_reset/Test_DuplicateReset/01-Content.yaml":
        'mapping key "command" already defined at line 4',
    "compose-go/inline/reset/TestResetCycle/06-config.yaml": "cycle detected",
    "compose-go/inline/reset/TestAliasBombPrevented/02-config.yaml": "excessive aliasing",
    "compose-go/inline/reset/TestAliasNodePreservation/01.yaml": "excessive aliasing",
    "compose-go/inline/reset/TestMergeKeyAliasToScalarRejected/01.yaml": "map merge requires map",
    "compose-go/inline/loader/TestNonStringKeys/01.yaml": "non-string key at top level: 123",
    "compose-go/inline/loader/TestNonStringKeys/02.yaml": "non-string key in services: 123",
    "compose-go/inline/loader/TestNonStringKeys/03.yaml":
        "non-string key in networks.default.ipam.config[0]: 123",
    "compose-go/inline/loader/TestNonStringKeys/04.yaml":
        "non-string key in services.dict-env.environment: 1",
}


def _options(row: dict) -> LoadOptions:
    return load_options(row, ENVIRONMENTS.get(row["file"], {}))


def _companion_missing(err: ConfigError) -> bool:
    """The Go test writes companion files (or uses a remote loader) we do not have."""
    return all(("not found" in i.message and ("extended file" in i.message
                                              or "included file" in i.message))
               for i in err.issues)


VALID = [r for r in ROWS if r["kind"] == "compose" and r["class"] == "valid"]


@pytest.mark.skipif(not ROWS, reason="shared corpus not available")
@pytest.mark.parametrize("row", VALID, ids=[r["file"] for r in VALID])
def test_valid_document_loads(row):
    if row["file"] in NOT_LOADABLE:
        pytest.skip(NOT_LOADABLE[row["file"]])
    try:
        cfg = load_config(_options(row))
    except ConfigError as err:
        if _companion_missing(err):
            pytest.skip("the source test supplies companion files the corpus does not hold")
        raise
    assert isinstance(cfg.data, dict)
    for path in cfg.positions:
        assert cfg.positions[path].line > 0


@pytest.mark.skipif(not ROWS, reason="shared corpus not available")
@pytest.mark.parametrize("file", sorted(LOAD_ERRORS))
def test_load_errors_are_located(file):
    row = next(r for r in ROWS if r["file"] == file)
    with pytest.raises(ConfigError) as exc:
        load_config(_options(row))
    assert LOAD_ERRORS[file] in str(exc.value)
    for issue in exc.value.issues:
        assert issue.pos is not None and issue.pos.file


@pytest.mark.skipif(not ROWS, reason="shared corpus not available")
def test_unnormalized_directory_name():
    d = CORPUS / "compose-go" / "cli" / "testdata" / "UNNORMALIZED PATH"
    cfg = load_config(LoadOptions(working_dir=str(d), environ={}))
    assert cfg.project_name == "unnormalizedpath"


@pytest.mark.skipif(not ROWS, reason="shared corpus not available")
def test_cli_simple_override_and_name():
    d = CORPUS / "compose-go" / "cli" / "testdata" / "simple"
    cfg = load_config(LoadOptions(files=("compose.yaml", "compose-with-overrides.yaml"),
                                  working_dir=str(d), environ={}))
    assert cfg.data["services"]["simple"]["image"] == "haproxy"
    cfg = load_config(LoadOptions(files=("compose-name.yaml",), working_dir=str(d),
                                  environ={"TEST": "expected"}))
    assert cfg.project_name == "test-expected-test"
