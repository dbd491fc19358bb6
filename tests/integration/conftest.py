"""Fixtures for real-container tests: a busybox image and a Runtime on a temp root."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rootfs import busybox_available, busybox_rootfs


@pytest.fixture(scope="session")
def busybox(tmp_path_factory) -> Path:
    if not busybox_available():
        pytest.skip("busybox-static is not installed (apt-get install busybox-static)")
    return busybox_rootfs(tmp_path_factory.mktemp("images") / "busybox")


@pytest.fixture
def rt(state_paths):
    """A Runtime on the test's temporary root; removes every container afterwards."""
    from runtime.api import Runtime

    runtime = Runtime(state_paths)
    yield runtime
    for rec in runtime.containers.store.records():
        try:
            runtime.containers.remove(rec.id, force=True)
        except Exception:
            pass

@pytest.fixture(scope="session")
def debian_tarball(tmp_path_factory) -> Path:
    """A debian:bookworm-slim root filesystem tarball, bootstrapped once per session
    (mmdebstrap with the host's apt sources; a few minutes).  Shared by the build tests
    and the compose.testing tests."""
    import shutil

    from runtime.build.bootstrap import bootstrap
    from runtime.paths import StatePaths

    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed")
    d = tmp_path_factory.mktemp("debian")
    paths = StatePaths.resolve(d / "root", d / "run")
    tarball = d / "rootfs.tar"
    bootstrap(paths, "debian:bookworm-slim", keep_tarball=tarball)
    shutil.rmtree(d / "root", ignore_errors=True)
    return tarball


from tests.integration.compose_fixtures import busybox_tar, project_dir  # noqa: E402, F401
