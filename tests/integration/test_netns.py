"""netns handles: create/delete on the real kernel."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from runtime.network import netns
from tests.conftest import needs_root

pytestmark = [pytest.mark.integration, needs_root]


def _links_in(path) -> str:
    return subprocess.run(["nsenter", f"--net={path}", "ip", "-o", "link"],
                          capture_output=True, text=True, check=True).stdout


def test_create_gives_isolated_netns_with_lo_up(state_paths):
    path = netns.handle_path(state_paths.run_dir, "c1")
    netns.create(path)
    try:
        assert netns.is_handle(path)
        out = _links_in(path)
        assert out.count("\n") == 1 and "lo:" in out and "UP" in out
        assert os.stat(path).st_ino != os.stat("/proc/self/ns/net").st_ino
        # idempotent: same namespace the second time
        ino = os.stat(path).st_ino
        netns.create(path)
        assert os.stat(path).st_ino == ino
    finally:
        netns.delete(path)
    assert not path.exists()
    assert str(path) not in Path("/proc/self/mountinfo").read_text()
    netns.delete(path)  # idempotent


def test_run_in_netns_leaves_caller_in_host_namespace(state_paths):
    path = netns.handle_path(state_paths.run_dir, "c2")
    netns.create(path)
    try:
        inner = netns.run_in_netns(path, lambda: os.readlink("/proc/thread-self/ns/net"))
        assert inner != os.readlink("/proc/thread-self/ns/net")
        assert inner.endswith(f"[{os.stat(path).st_ino}]")
    finally:
        netns.delete(path)
