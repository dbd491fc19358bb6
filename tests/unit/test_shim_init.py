"""The init stage's kernel call sequences, checked against the recording kernel."""

from __future__ import annotations

import errno
import os

import pytest

from runtime.kernel import consts as C
from runtime.kernel.fake import RecordingKernel
from runtime.shim import init


def test_namespaces_new_net_vs_host(monkeypatch):
    monkeypatch.setattr(init, "_loopback_up", lambda: None)
    k = RecordingKernel()
    init._namespaces(k, {"namespaces": {"net": "new"}})
    assert k.calls == [("unshare", (C.CLONE_NEWNS | C.CLONE_NEWIPC | C.CLONE_NEWCGROUP
                                    | C.CLONE_NEWUTS | C.CLONE_NEWNET,))]
    k = RecordingKernel()
    init._namespaces(k, {"namespaces": {"net": "host"}})
    assert not k.calls[0][1][0] & C.CLONE_NEWNET


def test_netns_handle_is_joined_before_unshare(tmp_path):
    handle = tmp_path / "ns"
    handle.write_text("")
    k = RecordingKernel()
    init._namespaces(k, {"namespaces": {"net": str(handle)}})
    assert k.names() == ["setns", "unshare"]
    assert k.calls[0][1][1] == C.CLONE_NEWNET


def test_pivot_root_sequence(tmp_path, monkeypatch):
    chdirs = []
    monkeypatch.setattr(os, "fchdir", lambda fd: chdirs.append(fd))
    monkeypatch.setattr(os, "chdir", lambda p: chdirs.append(p))
    k = RecordingKernel()
    init._pivot(k, 42)
    assert k.calls == [("pivot_root", (".", ".")),
                       ("mount", (None, ".", None, C.MS_SLAVE | C.MS_REC, None)),
                       ("umount2", (".", C.MNT_DETACH))]
    assert chdirs == [42, "/"]


def test_bind_remounts_read_only_through_a_fresh_fd(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        k = RecordingKernel()
        init._bind(k, "/host/src", rootfd, "/data/x", create="dir", read_only=True)
    finally:
        os.close(rootfd)
    assert (root / "data" / "x").is_dir()
    (first, a), (second, b) = k.calls[-2:]
    assert first == second == "mount"
    assert a[0] == "/host/src" and a[3] == C.MS_BIND | C.MS_REC
    assert b[3] == C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY
    assert a[1] != b[1]   # the remount addresses the new mount, not the old directory


def test_bind_keeps_locked_flags_on_eperm(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY)

    class St:
        f_flag = C.MS_NOSUID | C.MS_NODEV

    monkeypatch.setattr(os, "statvfs", lambda p: St())
    k = RecordingKernel()
    calls = {"n": 0}
    real = k.mount

    def mount(*a):
        calls["n"] += 1
        if calls["n"] == 2:
            from runtime.errors import KernelError

            k.calls.append(("mount", a))
            raise KernelError("mount", errno.EPERM)
        real(*a)

    k.mount = mount  # type: ignore[method-assign]
    try:
        init._bind(k, "/src", rootfd, "/d", create="dir", read_only=True)
    finally:
        os.close(rootfd)
    assert k.calls[-1][1][3] == (C.MS_BIND | C.MS_REMOUNT | C.MS_RDONLY | C.MS_NOSUID
                                 | C.MS_NODEV)


def test_masks_skip_missing_paths_and_mask_files_and_dirs(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "proc" / "acpi").mkdir(parents=True)
    (root / "proc" / "kcore").write_text("secret")
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **kw: real_open(
        str(root) if p == "/" else p, *a, **kw))
    k = RecordingKernel()
    init._masks(k, {"masked_paths": ["/proc/acpi", "/proc/kcore", "/proc/none"],
                    "readonly_paths": []})
    mounts = [c[1] for c in k.calls if c[0] == "mount"]
    assert [(m[0], m[2]) for m in mounts] == [("tmpfs", "tmpfs"), ("/dev/null", None)]


def test_lookup_in_path_and_missing_is_127(tmp_path):
    (tmp_path / "bin").mkdir()
    exe = tmp_path / "bin" / "tool"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert init._lookup("tool", [f"PATH={tmp_path}/bin"]) == str(exe)
    assert init._lookup("/abs/thing", []) == "/abs/thing"
    with pytest.raises(init.StageError) as e:
        init._lookup("nope", [f"PATH={tmp_path}/bin"])
    assert e.value.code == 127


def test_environment_defaults_and_overrides():
    b = {"hostname": "h1", "process": {"env": ["PATH=/x", "A=1", "HOME=/custom"]}}
    env = init._environment(b, "/root", tty=True)
    assert env == ["PATH=/x", "HOSTNAME=h1", "TERM=xterm", "A=1", "HOME=/custom"]
    env = init._environment({"process": {"env": []}}, "/home/app", tty=False)
    assert "HOME=/home/app" in env and not any(e.startswith("TERM=") for e in env)
