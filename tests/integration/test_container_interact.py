"""``cp``, ``top``, ``pause``/``unpause``, ``stats`` and ``attach`` on real containers."""

from __future__ import annotations

import io
import os
import re
import tarfile
import time
from pathlib import Path

import pytest

from runtime.errors import ConflictError, InvalidInputError, NotFoundError
from runtime.spec import Resources
from tests.conftest import needs_root
from tests.integration.helpers import spec, wait_for_output
from tests.integration.test_container_exec import _pty_cli

pytestmark = [pytest.mark.integration, needs_root]

COUNTER = "i=0; echo up; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.02; done"


@pytest.fixture
def box(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sh", "-c", COUNTER,
                                    resources=Resources(memory=96 << 20, pids_limit=50)))
    rt.containers.start(cid)
    wait_for_output(rt, cid, "up")
    return cid


def _read(rt, cid, path) -> bytes:
    buf = io.BytesIO()
    rt.containers.cp_out(cid, path, buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf) as t:
        return t.extractfile(os.path.basename(path)).read()


def _tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub" / "deep").mkdir(parents=True)
    (src / "run.sh").write_text("#!/bin/sh\necho run\n")
    os.chmod(src / "run.sh", 0o750)
    (src / "sub" / "secret").write_text("s3cret")
    os.chmod(src / "sub" / "secret", 0o600)
    os.chmod(src / "sub" / "deep", 0o711)
    os.symlink("run.sh", src / "link")
    return src


def test_cp_roundtrip_keeps_modes_links_and_content(rt, box, tmp_path):
    src = _tree(tmp_path)
    rt.containers.copy_to(box, str(src), "/tmp/")
    res = rt.containers.exec(box, ["sh", "-c", "cd /tmp/src && stat -c '%n %a %u' run.sh "
                                   "sub/secret sub/deep && readlink link && ./run.sh"])
    assert res.stdout.decode().split("\n")[:5] == [
        "run.sh 750 0", "sub/secret 600 0", "sub/deep 711 0", "run.sh", "run"], res
    back = tmp_path / "back"
    rt.containers.copy_from(box, "/tmp/src", str(back))
    assert (back / "sub" / "secret").read_text() == "s3cret"
    assert os.stat(back / "run.sh").st_mode & 0o7777 == 0o750
    assert os.stat(back / "sub" / "deep").st_mode & 0o7777 == 0o711
    assert os.readlink(back / "link") == "run.sh"
    # a file to a new name, and into an existing directory
    rt.containers.copy_to(box, str(src / "run.sh"), "/tmp/renamed.sh")
    assert _read(rt, box, "/tmp/renamed.sh") == b"#!/bin/sh\necho run\n"
    rt.containers.copy_from(box, "/etc/hostname", str(tmp_path))
    assert (tmp_path / "hostname").read_text().strip() == box[:12]


def test_cp_tar_streams(rt, box, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"streamed"
        ti = tarfile.TarInfo("in/file.txt")
        ti.size, ti.mode, ti.uid = len(data), 0o640, 4321
        t.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    rt.containers.cp_in(box, "/tmp", buf, archive=True)
    res = rt.containers.exec(box, ["stat", "-c", "%a %u", "/tmp/in/file.txt"])
    assert res.stdout == b"640 4321\n"
    assert _read(rt, box, "/tmp/in/file.txt") == b"streamed"


def test_cp_refuses_escapes(rt, box, tmp_path):
    with pytest.raises(InvalidInputError, match="escapes"):
        rt.containers.copy_from(box, "/../../etc/passwd", str(tmp_path / "x"))
    with pytest.raises(InvalidInputError, match="escapes"):
        rt.containers.copy_to(box, str(_tree(tmp_path) / "run.sh"), "/tmp/../../../x")
    # a symlink planted in the container that points "outside" resolves inside it
    marker = tmp_path / "host-only"
    marker.mkdir()
    rt.containers.exec(box, ["mkdir", "-p", str(marker)])     # same path inside
    rt.containers.exec(box, ["ln", "-s", f"../../../../../../..{marker}", "/tmp/evil"])
    rt.containers.exec(box, ["ln", "-s", "/proc/1/root/etc", "/tmp/magic"])
    rt.containers.copy_to(box, str(tmp_path / "src" / "run.sh"), "/tmp/evil/planted")
    assert not (marker / "planted").exists()
    assert rt.containers.exec(box, ["cat", f"{marker}/planted"]).exit_code == 0
    (marker / "hostfile").write_text("host data")
    with pytest.raises(NotFoundError):
        rt.containers.copy_from(box, "/tmp/evil/hostfile", str(tmp_path / "stolen"))
    with pytest.raises((InvalidInputError, NotFoundError)):
        rt.containers.copy_from(box, "/tmp/magic/hostname", str(tmp_path / "stolen"))
    assert not (tmp_path / "stolen").exists()
    # archive members that climb out of the destination are refused
    for name in ("../outside", "/abs"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            t.addfile(tarfile.TarInfo(name), io.BytesIO(b""))
        buf.seek(0)
        with pytest.raises(InvalidInputError, match="refusing"):
            rt.containers.cp_in(box, "/tmp", buf)


def test_cp_out_of_the_container_never_writes_through_its_symlinks(rt, box, tmp_path):
    """A tar made in the container with a link then a file under it stays in DST."""
    rt.containers.exec(box, ["sh", "-c", f"mkdir /tmp/t && ln -s {tmp_path} /tmp/t/l"])
    rt.containers.copy_from(box, "/tmp/t", str(tmp_path / "out"))
    assert os.readlink(tmp_path / "out" / "l") == str(tmp_path)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ln = tarfile.TarInfo("d/l")
        ln.type, ln.linkname = tarfile.SYMTYPE, str(tmp_path)
        t.addfile(ln)
        t.addfile(tarfile.TarInfo("d/l/pwned"), io.BytesIO(b""))
    buf.seek(0)
    with pytest.raises(InvalidInputError, match="refusing"):
        rt.containers.cp_in(box, "/tmp", buf)
    assert not (tmp_path / "pwned").exists()


def test_cp_into_a_read_only_mount_is_a_clean_error(rt, busybox, tmp_path):
    from runtime.errors import RuntimeFailure
    from runtime.spec import Mount

    (tmp_path / "ro").mkdir()
    cid = rt.containers.create(spec(busybox, "sleep", "300", mounts=(
        Mount(type="bind", source=str(tmp_path / "ro"), target="/ro", read_only=True),)))
    rt.containers.start(cid)
    (tmp_path / "f").write_text("x")
    with pytest.raises(RuntimeFailure, match="Read-only file system"):
        rt.containers.copy_to(cid, str(tmp_path / "f"), "/ro/")
    assert not (tmp_path / "ro" / "f").exists()


def test_cp_on_a_stopped_container_leaves_no_mount(rt, busybox, tmp_path):
    cid = rt.containers.create(spec(busybox, "true"))
    src = _tree(tmp_path)
    rt.containers.copy_to(cid, str(src / "run.sh"), "/copied.sh")
    merged = rt.containers.get(cid).dir / "merged"
    assert not os.path.ismount(merged)
    rt.containers.copy_from(cid, "/copied.sh", str(tmp_path / "again.sh"))
    assert (tmp_path / "again.sh").read_text() == (src / "run.sh").read_text()
    assert not os.path.ismount(merged)
    assert str(merged) not in Path("/proc/self/mountinfo").read_text()


def test_top_lists_the_container_processes(rt, box):
    rt.containers.exec(box, ["sh", "-c", "sleep 123 &"])
    titles, rows = rt.containers.top(box)
    assert titles == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    cmds = [r[7] for r in rows]
    assert any(c.startswith("sh -c i=0") for c in cmds), cmds
    assert "sleep 123" in cmds
    pid1 = rt.containers.get(box).state["pid"]
    assert str(pid1) in [r[1] for r in rows]          # host pids
    assert all(r[0] == "root" for r in rows)
    assert not any("python" in c for c in cmds)
    titles, rows = rt.containers.top(box, "-o pid,comm")
    assert titles == ["PID", "COMMAND"] and str(pid1) in [r[0] for r in rows]


def _count(rt, cid) -> int:
    return int(_read(rt, cid, "/tmp/count").strip() or 0)


def test_pause_freezes_and_unpause_resumes(rt, box, run_cli):
    rt.containers.pause(box)
    assert rt.containers.get(box).status.value == "paused"
    assert rt.containers.inspect(box)["State"]["Paused"] is True
    frozen = _count(rt, box)
    time.sleep(0.3)
    assert _count(rt, box) == frozen
    with pytest.raises(ConflictError, match="paused"):
        rt.containers.exec(box, ["true"])
    with pytest.raises(ConflictError, match="already paused"):
        rt.containers.pause(box)
    assert "(Paused)" in run_cli("container", "ls").stdout
    rt.containers.unpause(box)
    deadline = time.monotonic() + 30
    while _count(rt, box) <= frozen:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with pytest.raises(ConflictError, match="not paused"):
        rt.containers.unpause(box)
    # a paused container can be stopped and force-removed
    rt.containers.pause(box)
    rt.containers.stop(box, timeout=1)
    assert rt.containers.get(box).status.value == "exited"


def test_rm_force_of_a_paused_container(rt, box):
    rt.containers.pause(box)
    rt.containers.remove(box, force=True)
    assert not rt.containers.store.ids()


def test_stats_are_sane(rt, box, busybox, run_cli):
    rt.containers.exec(box, ["sh", "-c", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=20"])
    [s], _ = rt.containers.stats(box, interval=0.3)
    assert s.memory_limit == 96 << 20
    assert 20 << 20 <= s.memory_usage < 96 << 20
    assert 20 < s.memory_percent < 100
    assert 1 <= s.pids <= 50
    assert s.cpu_percent >= 0
    assert s.net_rx == 0 and s.net_tx == 0          # network none: only lo, excluded
    busy = rt.containers.create(spec(busybox, "sh", "-c", "while :; do :; done"))
    rt.containers.start(busy)
    [b], _ = rt.containers.stats(busy, interval=0.5)
    assert b.cpu_percent > 1     # busy, whatever the machine's load
    import json

    res = run_cli("container", "stats", "--no-stream", "--format", "json", box)
    row = json.loads(res.stdout)
    assert row["Container"] == box and row["MemUsage"].endswith(" / 96MiB")
    assert set(row) == {"BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage",
                        "Name", "NetIO", "PIDs"}
    table = run_cli("container", "stats", "--no-stream").stdout.splitlines()
    assert re.split(r"\s{2,}", table[0])[:3] == ["CONTAINER ID", "NAME", "CPU %"]
    assert len(table) == 3


def test_cli_cp_top_pause(run_cli, rt, box, tmp_path):
    (tmp_path / "f.txt").write_text("cli")
    assert run_cli("container", "cp", str(tmp_path / "f.txt"), f"{box}:/tmp/").returncode == 0
    res = run_cli("container", "cp", f"{box}:/tmp/f.txt", str(tmp_path / "g.txt"))
    assert res.returncode == 0 and (tmp_path / "g.txt").read_text() == "cli"
    res = run_cli("container", "cp", f"{box}:/../x", str(tmp_path))
    assert res.returncode != 0 and "escapes" in res.stderr
    res = run_cli("container", "top", box)
    assert res.stdout.startswith("UID") and "sh -c i=0" in res.stdout
    assert run_cli("container", "pause", box).returncode == 0
    assert rt.containers.get(box).status.value == "paused"
    assert run_cli("container", "unpause", box).returncode == 0
    assert rt.containers.get(box).status.value == "running"


def test_attach_and_detach_with_ctrl_p_ctrl_q(rt, busybox, state_paths):
    cid = rt.containers.create(spec(busybox, "sh", "-c",
                                    "echo ready; while read l; do echo \"echo:$l\"; done",
                                    tty=True, stdin_open=True))
    rt.containers.start(cid)
    rc, out = _pty_cli(state_paths, ["container", "attach", cid],
                       send=[("", b"hello\r"), ("echo:hello", b"\x10\x11")])
    assert rc == 0, out
    assert "echo:hello" in out
    assert rt.containers.get(cid).status.value == "running"   # detaching did not stop it
    rc, out = _pty_cli(state_paths, ["container", "attach", "--detach-keys", "ctrl-a,x", cid],
                       send=[("", b"again\r"), ("echo:again", b"\x01x")])
    assert rc == 0 and "echo:again" in out, out
    assert rt.containers.get(cid).status.value == "running"


def test_nothing_leaks_after_rm(rt, box, tmp_path):
    from runtime import cgroups

    rt.containers.exec(box, ["sh", "-c", "sleep 200 &"])
    rt.containers.exec(box, ["sleep", "200"], detach=True)
    rt.containers.copy_to(box, str(_tree(tmp_path)), "/tmp/")
    pids = cgroups.driver().processes(box)
    rt.containers.remove(box, force=True)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or \
            Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert not cgroups.driver().exists(box)
    assert box not in Path("/proc/self/mountinfo").read_text()



def test_attach_without_tty_streams_and_returns_the_exit_code(rt, busybox, state_paths,
                                                              tmp_path):
    import subprocess
    import sys

    from runtime.spec import Mount
    from tests.conftest import cli_env

    ctl = tmp_path / "ctl"
    ctl.mkdir()
    cid = rt.containers.create(spec(
        busybox, "sh", "-c", "while [ ! -e /ctl/go ]; do echo tick; sleep 0.05; done; "
        "echo after; echo oops >&2; exit 4",
        mounts=(Mount(type="bind", source=str(ctl), target="/ctl"),)))
    rt.containers.start(cid)
    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    proc = subprocess.Popen([sys.executable, "-m", "compose", "container", "attach", cid],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        first = proc.stdout.readline()          # attached: live output arrives
        assert first == b"tick\n"
        (ctl / "go").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 4
    assert out.endswith(b"after\n") and err == b"oops\n"
