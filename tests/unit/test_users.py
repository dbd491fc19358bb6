from __future__ import annotations

import os

import pytest

from runtime.errors import RuntimeFailure
from runtime.kernel.fake import RecordingKernel
from runtime.shim.users import ExecUser, resolve_user
from tests.rootfs import GROUP, PASSWD


@pytest.fixture
def rootfd(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text(PASSWD)
    (tmp_path / "etc" / "group").write_text(GROUP)
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    yield fd
    os.close(fd)


@pytest.mark.parametrize("user,expected", [
    ("", ExecUser(0, 0, (29,), "/root")),
    ("app", ExecUser(1000, 1000, (50, 29), "/home/app")),
    ("app:staff", ExecUser(1000, 50, (29,), "/home/app")),
    ("1000", ExecUser(1000, 1000, (50, 29), "/home/app")),
    ("4242", ExecUser(4242, 0, (), "/")),
    ("4242:4343", ExecUser(4242, 4343, (), "/")),
    ("nobody:tty", ExecUser(65534, 5, (), "/nonexistent")),
])
def test_resolve(rootfd, user, expected):
    assert resolve_user(RecordingKernel(), rootfd, user) == expected


def test_group_add(rootfd):
    u = resolve_user(RecordingKernel(), rootfd, "nobody", ("staff", "777"))
    assert u.groups == (50, 777)


def test_unknown_names(rootfd):
    with pytest.raises(RuntimeFailure, match="unable to find user bob"):
        resolve_user(RecordingKernel(), rootfd, "bob")
    with pytest.raises(RuntimeFailure, match="unable to find group wheel"):
        resolve_user(RecordingKernel(), rootfd, "app:wheel")


def test_symlinked_passwd_stays_in_root(tmp_path):
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").symlink_to(tmp_path / "host" / "passwd")
    fd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        with pytest.raises(RuntimeFailure):
            resolve_user(RecordingKernel(), fd, "evil")
    finally:
        os.close(fd)
