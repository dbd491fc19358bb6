"""Upper dir -> OCI layer tar, COPY placement rules and RUN argv planning (no containers)."""

import io
import os
import stat
import tarfile

import pytest

from runtime.build import instructions as ins
from runtime.build.context import BuildContext
from runtime.build.copier import CopyOptions, copy_sources, parse_chmod
from runtime.build.dockerfile import parse_dockerfile
from runtime.build.layerdiff import write_layer_tar
from runtime.build.rootfs import clean_abs, lookup_user, resolve
from runtime.build.runstep import plan_run
from runtime.errors import InvalidInputError

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mknod/trusted xattrs need root")


def _tar_members(upper) -> dict[str, tarfile.TarInfo]:
    buf = io.BytesIO()
    write_layer_tar(upper, buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as tf:
        return {m.name: m for m in tf.getmembers()}


@root_only
def test_whiteouts_opaque_dirs_and_xattrs(tmp_path):
    up = tmp_path / "upper"
    (up / "bin").mkdir(parents=True)
    os.mknod(up / "bin" / "vi", stat.S_IFCHR | 0o000, os.makedev(0, 0))
    (up / "opt").mkdir()
    os.setxattr(up / "opt", "trusted.overlay.opaque", b"y")
    os.setxattr(up / "bin", "trusted.overlay.origin", b"junk")
    (up / "opt" / "new").write_text("n")
    (up / "tool").write_text("t")
    os.setxattr(up / "tool", "security.capability",
                bytes.fromhex("0100000200200000000000000000000000000000"))
    os.link(up / "tool", up / "tool-link")
    m = _tar_members(up)
    assert set(m) == {"bin", "bin/.wh.vi", "opt", "opt/.wh..wh..opq", "opt/new", "tool",
                      "tool-link"}
    assert m["bin/.wh.vi"].isfile() and m["bin/.wh.vi"].size == 0
    assert not any(k.startswith("SCHILY.xattr.trusted") for k in m["bin"].pax_headers)
    assert "SCHILY.xattr.security.capability" in m["tool"].pax_headers
    assert m["tool-link"].islnk() and m["tool-link"].linkname == "tool"


@root_only
def test_whiteouts_sharing_one_inode_are_not_hardlinks(tmp_path):
    up = tmp_path / "upper"
    up.mkdir()
    os.mknod(up / "a", stat.S_IFCHR, os.makedev(0, 0))
    os.link(up / "a", up / "b")  # kernel 6.x: whiteouts share one inode
    m = _tar_members(up)
    assert m[".wh.a"].isfile() and m[".wh.b"].isfile()


def test_runtime_mountpoints_are_left_out_but_real_changes_kept(tmp_path):
    up = tmp_path / "upper"
    (up / "etc").mkdir(parents=True)
    (up / "etc" / "hosts").write_text("")
    (up / "etc" / "resolv.conf").write_text("")
    (up / "proc").mkdir()
    assert _tar_members(up) == {}
    (up / "etc" / "app.conf").write_text("x")
    (up / "etc" / "hostname").write_text("changed")
    assert set(_tar_members(up)) == {"etc", "etc/app.conf", "etc/hostname"}


def test_same_tree_same_tar(tmp_path):
    up = tmp_path / "upper"
    (up / "d").mkdir(parents=True)
    (up / "d" / "f").write_text("x")
    a, b = io.BytesIO(), io.BytesIO()
    write_layer_tar(up, a)
    write_layer_tar(up, b)
    assert a.getvalue() == b.getvalue()


@pytest.fixture
def src(tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "dir" / "sub").mkdir(parents=True)
    (ctx / "dir" / "sub" / "x").write_text("x")
    (ctx / "dir" / "y").write_text("y")
    (ctx / "one.txt").write_text("1")
    (ctx / "two.txt").write_text("2")
    os.symlink("one.txt", ctx / "link")
    return BuildContext(ctx)


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@root_only
@pytest.mark.parametrize("sources,dest,expected", [
    (["dir"], "/out", ["out", "out/sub", "out/sub/x", "out/y"]),      # contents of a dir
    (["one.txt"], "/out", ["out"]),                                    # file named dest
    (["one.txt"], "/out/", ["out", "out/one.txt"]),                    # into a dir
    (["*.txt"], "/out/", ["out", "out/one.txt", "out/two.txt"]),
    (["link"], "/out/", ["out", "out/link"]),                          # top symlink followed
    (["one.txt"], "rel/", ["w", "w/rel", "w/rel/one.txt"]),            # relative to WORKDIR
])
def test_copy_placement(src, tmp_path, sources, dest, expected):
    dst = tmp_path / "dst"
    dst.mkdir()
    copy_sources(src, sources, dest, "/w", dst, CopyOptions())
    assert _tree(dst) == expected
    if sources == ["link"]:
        assert not (dst / "out" / "link").is_symlink()


@root_only
def test_copy_several_sources_need_a_directory(src, tmp_path):
    dst = tmp_path / "dst"
    dst.mkdir()
    with pytest.raises(InvalidInputError, match="must be a directory and end with a /"):
        copy_sources(src, ["one.txt", "two.txt"], "/out", "/", dst, CopyOptions())
    with pytest.raises(InvalidInputError, match="'missing' not found in the build context"):
        copy_sources(src, ["missing"], "/out", "/", dst, CopyOptions())


@root_only
def test_copy_chown_chmod(src, tmp_path):
    dst = tmp_path / "dst"
    dst.mkdir()
    copy_sources(src, ["dir"], "/out/", "/", dst, CopyOptions(uid=7, gid=8, chmod=0o640))
    st = os.stat(dst / "out" / "sub" / "x")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (7, 8, 0o640)


def test_parse_chmod():
    assert parse_chmod("755") == 0o755 and parse_chmod(None) is None
    with pytest.raises(InvalidInputError, match="only octal"):
        parse_chmod("u+x")


def test_resolve_stays_inside_the_root(tmp_path):
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin", root / "bin")
    os.symlink("../../../../etc", root / "usr" / "escape")
    assert resolve(root, "/bin/sh") == root / "usr" / "bin" / "sh"
    assert resolve(root, "/usr/escape/passwd") == root / "etc" / "passwd"
    assert resolve(root, "../../x") == root / "x"
    assert clean_abs("a/../b", "/w") == "/w/b" and clean_abs("/x/", "/w") == "/x"


def test_lookup_user(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/:/\n")
    (root / "etc" / "group").write_text("root:x:0:\nstaff:x:50:app\n")
    assert lookup_user(root, "app") == (1000, 1001)
    assert lookup_user(root, "app:staff") == (1000, 50)
    assert lookup_user(root, "42") == (42, 0) and lookup_user(root, "42:43") == (42, 43)
    with pytest.raises(InvalidInputError, match="unable to find user nobody"):
        lookup_user(root, "nobody")
    with pytest.raises(InvalidInputError, match="unable to find group wheel"):
        lookup_user(root, "app:wheel")


def _run(text: str) -> ins.Run:
    return parse_dockerfile("FROM x\n" + text).stages[0].instructions[0]


def test_plan_run_forms():
    sh = ["/bin/sh", "-c"]
    assert plan_run(_run("RUN echo hi\n"), sh).argv == ("/bin/sh", "-c", "echo hi")
    assert plan_run(_run('RUN ["echo", "hi"]\n'), sh).argv == ("echo", "hi")
    assert plan_run(_run("RUN <<EOF\necho a\nEOF\n"), sh).argv == ("/bin/sh", "-c",
                                                                    "echo a\n")
    script = plan_run(_run("RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n"), sh)
    assert len(script.argv) == 1 and script.script_files[0][0] == script.argv[0]
    assert script.script_files[0][1] == "#!/usr/bin/env python3\nprint(1)\n"
    withcmd = plan_run(_run("RUN cat <<A > /f\nbody\nA\n"), sh)
    assert withcmd.argv == ("/bin/sh", "-c", "cat <<A > /f\nbody\nA\n")
