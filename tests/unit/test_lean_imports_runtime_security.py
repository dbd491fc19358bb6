"""The cgroup and confinement modules stay cheap to import: the single-threaded shim and
container init load them, and every millisecond there is container start time."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

HEAVY = {"typing", "pathlib", "dataclasses", "re", "json", "inspect", "ast", "subprocess"}


def test_shim_side_modules_import_only_light_stdlib():
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); "
        "import runtime.cgroups, runtime.cgroups.v1, runtime.cgroups.v2, "
        "runtime.security.capabilities, runtime.security.seccomp, runtime.security.defaults; "
        "from runtime.security.seccomp import resolve_profile; resolve_profile('default'); "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                         text=True, check=True).stdout.split()
    assert HEAVY.isdisjoint(out), sorted(HEAVY.intersection(out))
