"""Helpers for compose-level integration tests: a busybox image in a fresh store and a
project directory with a compose file."""

from __future__ import annotations

import tarfile
import time
from pathlib import Path

import pytest

from tests.rootfs import busybox_available, busybox_rootfs

IMAGE = "pcbox:1"


def rootfs_tar(dest: Path) -> Path:
    root = busybox_rootfs(dest / "rootfs")
    tar_path = dest / "busybox.tar"
    with tarfile.open(tar_path, "w") as tar:
        for p in sorted(root.rglob("*")):
            tar.add(p, arcname=str(p.relative_to(root)), recursive=False)
    return tar_path


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory) -> Path:
    if not busybox_available():
        pytest.skip("busybox-static is not installed (apt-get install busybox-static)")
    return rootfs_tar(tmp_path_factory.mktemp("bbtar"))


@pytest.fixture
def project_dir(tmp_path, run_cli, busybox_tar):
    """A project dir; the busybox image imported as ``pcbox:1`` in the test's root.
    Everything the project created is torn down afterwards (``down -v``)."""
    res = run_cli("image", "import", str(busybox_tar), IMAGE)
    assert res.returncode == 0, res
    d = tmp_path / "proj"
    d.mkdir()
    yield d
    if (d / "compose.yaml").exists():
        run_cli("-f", str(d / "compose.yaml"), "down", "-v", "-t", "1")
    # A build's RUN network outlives builds (like docker0); it goes with the temp root.
    if "pycompose-build" in run_cli("network", "ls").stdout:
        res = run_cli("network", "rm", "pycompose-build")
        assert res.returncode == 0, res


def write(d: Path, text: str, name: str = "compose.yaml") -> Path:
    p = d / name
    p.write_text(text)
    return p


def wait_until(pred, timeout: float = 20.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


