"""Loading a conformance-corpus file the way its origin (compose-go's tests) does."""

from __future__ import annotations

from collections.abc import Mapping

from compose.loader import LoadOptions
from tests.conftest import CORPUS


def load_options(row: dict, environ: Mapping[str, str]) -> LoadOptions:
    """Options for corpus file ``row["file"]`` (an INDEX.json row)."""
    path = CORPUS / row["file"]
    project_dir = None
    if row["file"].startswith("compose-go/inline/"):
        # texts cut out of compose-go's loader tests: their paths are relative to it
        project_dir = str(CORPUS / "compose-go" / "loader")
    return LoadOptions(files=(str(path),), environ=environ, working_dir=str(path.parent),
                       project_directory=project_dir, project_name="corpus")
