"""In-root path resolution: the O_NOFOLLOW walk (forced via the recording kernel) and the
real openat2 path must both keep symlinks inside the root."""

from __future__ import annotations

import errno
import os

import pytest

from runtime.errors import KernelError
from runtime.kernel import kernel
from runtime.kernel.fake import RecordingKernel
from runtime.kernel.paths import mkdirs_in_root, mkfile_in_root, open_in_root


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "etc").mkdir(parents=True)
    (r / "etc" / "passwd").write_text("inside\n")
    (tmp_path / "secret").write_text("host secret\n")
    (r / "abs").symlink_to("/etc")                    # absolute: must stay in root
    (r / "up").symlink_to("../../../../../../etc")     # climbs: clamped at root
    (r / "loop").symlink_to("loop")
    return r


@pytest.fixture(params=["walk", "openat2"])
def k(request):
    if request.param == "walk":
        import runtime.kernel.paths as p

        saved = p._openat2_missing
        yield RecordingKernel()
        p._openat2_missing = saved
    else:
        yield kernel()


def _read(k, root, path):
    rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        fd = open_in_root(k, rootfd, path, os.O_RDONLY)
        try:
            return os.read(fd, 100).decode()
        finally:
            os.close(fd)
    finally:
        os.close(rootfd)


def test_absolute_symlink_resolves_inside_root(k, root):
    assert _read(k, root, "/abs/passwd") == "inside\n"


def test_dotdot_is_clamped_at_root(k, root):
    assert _read(k, root, "/up/passwd") == "inside\n"
    assert _read(k, root, "/../../etc/passwd") == "inside\n"


def test_symlink_loop_is_refused(k, root):
    with pytest.raises(KernelError) as e:
        _read(k, root, "/loop")
    assert e.value.errno == errno.ELOOP


def test_missing_is_enoent(k, root):
    with pytest.raises(KernelError) as e:
        _read(k, root, "/nope/file")
    assert e.value.errno == errno.ENOENT


def test_mkdirs_and_mkfile_create_inside_root(k, root):
    rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        os.close(mkdirs_in_root(k, rootfd, "/abs/new/deeper"))
        os.close(mkfile_in_root(k, rootfd, "/up/newfile"))
    finally:
        os.close(rootfd)
    assert (root / "etc" / "new" / "deeper").is_dir()
    assert (root / "etc" / "newfile").is_file()


def test_recording_kernel_records_and_fails_on_demand():
    k = RecordingKernel(fail={"mount": errno.EPERM})
    with pytest.raises(KernelError) as e:
        k.mount("proc", "/proc", "proc", 0, None)
    assert e.value.syscall == "mount" and e.value.errno == errno.EPERM
    k.mount("proc", "/proc", "proc", 0, None)
    k.sethostname("x")
    assert k.names() == ["mount", "mount", "sethostname"]


def test_mkfile_can_replace_a_symlink_instead_of_following_it(k, root):
    (root / "etc" / "hosts").symlink_to("../../../../outside")
    rootfd = os.open(root, os.O_PATH | os.O_DIRECTORY)
    try:
        os.close(mkfile_in_root(k, rootfd, "/etc/hosts", replace_symlink=True))
    finally:
        os.close(rootfd)
    assert (root / "etc" / "hosts").is_file() and not (root / "etc" / "hosts").is_symlink()
    assert not (root.parent / "outside").exists()
