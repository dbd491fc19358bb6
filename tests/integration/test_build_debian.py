"""Offline Debian base image (mmdebstrap) and a real app image built from it.

The bootstrap takes 1-2 minutes, so it runs once per test session (the rootfs tarball
is kept and imported into each test's store).  It uses the host's configured apt
sources (the Debian mirror), as does the apt-get RUN step.
"""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import REPO, needs_root
from tests.integration.test_build import build, remove_build_network, run_image

pytestmark = [pytest.mark.integration, pytest.mark.slow, needs_root,
              pytest.mark.skipif(shutil.which("mmdebstrap") is None,
                                 reason="mmdebstrap is not installed")]

REFERENCE = "debian:bookworm-slim"


@pytest.fixture
def debian(state_paths, debian_tarball):
    from runtime.build.bootstrap import import_rootfs_tarball

    yield import_rootfs_tarball(state_paths, debian_tarball, REFERENCE)
    remove_build_network(state_paths)


def test_bootstrapped_image_has_a_docker_like_config(debian, rt):
    assert "docker.io/library/debian:bookworm-slim" in debian.references
    assert debian.config["Cmd"] == ["bash"]
    code, out = run_image(rt, debian, "bash", "-c",
                          ". /etc/os-release; echo $VERSION_CODENAME; ls /usr/share/man | wc -l")
    assert (code, out.split()) == (0, ["bookworm", "0"])


def test_example_webapp_built_offline_with_apt_get(state_paths, debian, rt, tmp_path):
    ctx = tmp_path / "webapp"
    shutil.copytree(REPO / "examples" / "webapp", ctx)
    res, rec = build(state_paths, ctx, tags=("webapp:test",))
    assert "Setting up lighttpd" in rec.output()
    img = res.image
    assert img.config["ExposedPorts"] == {"8080/tcp": {}}
    # serve and fetch inside one container (bash's /dev/tcp; no network needed)
    code, out = run_image(rt, img, "bash", "-c",
                          "lighttpd -f /etc/lighttpd/lighttpd.conf && sleep 0.5 && "
                          "exec 3<>/dev/tcp/127.0.0.1/8080 && "
                          "printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3")
    assert code == 0, out
    assert "200 OK" in out and "Hello from a pycompose-built image" in out
    again, _ = build(state_paths, ctx, tags=("webapp:test",))
    assert again.image.id == img.id and again.cached == again.steps
