"""docs/cli.md is generated from the click definitions and must be current."""

from __future__ import annotations

import importlib.util

from tests.conftest import REPO


def test_committed_cli_reference_is_current():
    spec = importlib.util.spec_from_file_location("gen_cli_docs",
                                                  REPO / "scripts" / "gen_cli_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    text = mod.generate()
    assert "## `pycompose`" in text and "### `pycompose up`" in text
    assert (REPO / "docs" / "cli.md").read_text() == text, (
        "docs/cli.md is stale: run `.venv/bin/python scripts/gen_cli_docs.py` and commit it")
