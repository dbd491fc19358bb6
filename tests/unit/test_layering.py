"""Architecture rules that must not erode."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, cli_env


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_runtime_never_imports_compose():
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "runtime").rglob("*.py")
                 if "compose" in _imports(p)]
    assert offenders == []


def test_cli_startup_does_not_import_heavy_modules():
    heavy = ["jsonschema", "networkx", "anyio", "rich", "pyroute2", "ruamel"]
    code = (
        "import sys, atexit\n"
        f"heavy = {heavy!r}\n"
        "atexit.register(lambda: print('LOADED=' + ','.join("
        "m for m in heavy if m in sys.modules), file=sys.stderr))\n"
        "sys.argv = ['pycompose', 'version']\n"
        "from compose.cli.main import main\n"
        "main()\n"
    )
    res = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    loaded = res.stderr.strip().rsplit("LOADED=", 1)[1]
    assert loaded == "", f"`pycompose version` imported: {loaded}"


def test_no_change_up_path_stays_light():
    """``up -d`` on an up-to-date project decides from state files (compose.project.
    upcheck) without the scheduler, asyncio/anyio, the network stack or the puller."""
    code = (
        "import sys\n"
        "import compose.project.upcheck, compose.cli.cmd_up\n"
        "heavy = ['anyio', 'asyncio', 'compose.scheduler', 'pyroute2', "
        "'runtime.images.pull', 'runtime.network.api', 'runtime.images.extract']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], env=cli_env(), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""
