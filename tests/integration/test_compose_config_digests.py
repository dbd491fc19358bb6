"""``config --resolve-image-digests`` pins tags to the digests the store knows."""

from __future__ import annotations

import pytest

from tests.conftest import needs_root

pytestmark = [pytest.mark.integration, needs_root]


def test_resolve_image_digests(run_cli, state_paths, tmp_path):
    from runtime.images import ImageStore
    from tests.imagetools import build_image, busybox_layers

    store = ImageStore(state_paths)
    img = build_image(store, "registry.local:5000/team/app:1", busybox_layers())
    digest = "registry.local:5000/team/app@sha256:" + "ab" * 32
    store.add_repo_digest(img.id, digest)
    f = tmp_path / "compose.yaml"
    f.write_text("services:\n  app:\n    image: registry.local:5000/team/app:1\n"
                 "  other:\n    image: not-pulled:2\n")
    res = run_cli("-f", str(f), "config", "--resolve-image-digests")
    assert res.returncode == 4, res
    assert "no registry digest known for not-pulled:2" in res.stderr
    f.write_text("services:\n  app:\n    image: registry.local:5000/team/app:1\n")
    res = run_cli("-f", str(f), "config", "--resolve-image-digests")
    assert res.returncode == 0, res
    assert f"image: {digest}" in res.stdout
