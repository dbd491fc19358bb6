"""``exec`` into running containers: namespaces, cgroup, user/env/workdir rules,
security settings, exit codes, pty, detach, and the CLI."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.errors import ConflictError
from runtime.spec import Mount, NetworkMode, Security
from tests.conftest import cli_env, needs_root
from tests.integration.helpers import spec, wait_for_output

pytestmark = [pytest.mark.integration, needs_root]


@pytest.fixture
def box(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sh", "-c", "echo up; exec sleep 300",
                                    hostname="boxy", env=("FOO=bar", "PATH=/bin:/usr/bin"),
                                    cwd="/etc"))
    rt.containers.start(cid)
    wait_for_output(rt, cid, "up")
    return cid


def test_exec_sees_the_container(rt, box):
    res = rt.containers.exec(box, ["sh", "-c", "hostname; echo $FOO; echo $HOME; pwd; id -u;"
                                   " cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc |"
                                   " grep -c '^[0-9]'"])
    assert res.exit_code == 0, res
    lines = res.stdout.decode().splitlines()
    assert lines[:5] == ["boxy", "bar", "/root", "/etc", "0"]
    assert lines[5].strip() == "sleep 300"            # PID 1 of *its* pid namespace
    assert int(lines[6]) <= 4                         # sleep, sh, ls, grep: no host pids
    # same mount namespace: the container's rootfs, not the host's
    assert rt.containers.exec(box, ["cat", "/etc/hostname"]).stdout == b"boxy\n"
    ns = {n: os.readlink(f"/proc/{rt.containers.get(box).state['pid']}/ns/{n}")
          for n in ("mnt", "uts", "ipc", "net", "pid", "cgroup")}
    res = rt.containers.exec(box, ["sh", "-c", "for n in mnt uts ipc net pid cgroup; do "
                                   "readlink /proc/self/ns/$n; done"])
    assert res.stdout.decode().split() == list(ns.values())
    # the cgroup namespace is rooted at the container's cgroup
    assert all(line.endswith(":/") for line in
               rt.containers.exec(box, ["cat", "/proc/self/cgroup"]).stdout.decode().split())


def test_exec_process_is_in_the_container_cgroup_and_helper_is_not(rt, box):
    from runtime import cgroups

    res = rt.containers.exec(box, ["sh", "-c", "sleep 30 & echo started"], detach=False)
    assert res.exit_code == 0
    procs = cgroups.driver().processes(box)
    cmdlines = [Path(f"/proc/{p}/cmdline").read_bytes() for p in procs]
    assert any(c.startswith(b"sleep\x0030") for c in cmdlines), cmdlines
    assert not any(b"python" in c for c in cmdlines)


def test_exec_user_workdir_env(rt, box):
    res = rt.containers.exec(box, ["sh", "-c", "id; pwd; echo $FOO $NEW $HOME"],
                             user="nobody", workdir="/tmp", env=("NEW=1", "FOO=over"))
    out = res.stdout.decode().splitlines()
    assert out[0].startswith("uid=65534(nobody) gid=65534")
    assert out[1:] == ["/tmp", "over 1 /nonexistent"] or out[1] == "/tmp"
    assert rt.containers.exec(box, ["id", "-u"], user="1234:5678").stdout == b"1234\n"
    assert rt.containers.exec(box, ["id", "-g"], user="1234:5678").stdout == b"5678\n"
    res = rt.containers.exec(box, ["id"], user="nosuchuser")
    assert res.exit_code == 126 and b"unable to find user nosuchuser" in res.stderr
    res = rt.containers.exec(box, ["pwd"], workdir="/does/not/exist")
    assert res.exit_code == 126 and b"chdir" in res.stderr


def test_exec_exit_codes(rt, box):
    assert rt.containers.exec(box, ["sh", "-c", "exit 7"]).exit_code == 7
    res = rt.containers.exec(box, ["no-such-command"])
    assert res.exit_code == 127 and b"executable file not found" in res.stderr
    res = rt.containers.exec(box, ["/etc/hostname"])          # not executable
    assert res.exit_code == 126
    assert rt.containers.exec(box, ["sh", "-c", "kill -TERM $$"]).exit_code == 128 + 15


def test_exec_security_matches_the_container(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sleep", "300", security=Security(
        cap_drop=("NET_RAW",), no_new_privileges=True)))
    rt.containers.start(cid)
    pid1_status = rt.containers.exec(cid, ["cat", "/proc/1/status"]).stdout.decode()
    mine = rt.containers.exec(cid, ["cat", "/proc/self/status"]).stdout.decode()

    def field(text, name):
        return next(ln.split()[1] for ln in text.splitlines() if ln.startswith(name + ":"))

    for f in ("CapEff", "CapBnd", "CapPrm", "NoNewPrivs", "Seccomp"):
        assert field(mine, f) == field(pid1_status, f), f
    assert field(mine, "Seccomp") == "2"
    assert field(mine, "NoNewPrivs") == "1"
    # cannot mount, even as root in the container
    assert rt.containers.exec(cid, ["mount", "-t", "tmpfs", "x", "/mnt"]).exit_code != 0
    # --privileged exec keeps every capability
    priv = rt.containers.exec(cid, ["cat", "/proc/self/status"], privileged=True).stdout
    assert int(field(priv.decode(), "CapEff"), 16) > int(field(mine, "CapEff"), 16)


def test_exec_stdin_tty_timeout_detach(rt, box, tmp_path):
    assert rt.containers.exec(box, ["cat"], stdin=b"x" * 200000).stdout == b"x" * 200000
    res = rt.containers.exec(box, ["sh", "-c", "[ -t 0 ] && tty && echo $TERM"], tty=True)
    assert res.exit_code == 0
    out = res.stdout.decode().split()
    assert out[0].startswith("/dev/pts/") and out[1] == "xterm"
    t0 = time.monotonic()
    res = rt.containers.exec(box, ["sleep", "60"], timeout=0.5)
    assert res.timed_out and res.exit_code == 137 and time.monotonic() - t0 < 30
    res = rt.containers.exec(box, ["sh", "-c", "sleep 0.3; echo done > /tmp/detached"],
                             detach=True)
    assert res.exit_code == 0
    deadline = time.monotonic() + 20
    while rt.containers.exec(box, ["cat", "/tmp/detached"]).stdout != b"done\n":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_exec_refused_unless_running(rt, busybox):
    cid = rt.containers.create(spec(busybox, "true"))
    with pytest.raises(ConflictError, match="not running"):
        rt.containers.exec(cid, ["true"])


def test_exec_sees_the_container_mounts(rt, busybox, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_text("from-host")
    cid = rt.containers.create(spec(busybox, "sleep", "300", mounts=(
        Mount(type="bind", source=str(tmp_path / "data"), target="/data", read_only=True),)))
    rt.containers.start(cid)
    res = rt.containers.exec(cid, ["sh", "-c", "cat /data/f; grep ' /data ' /proc/mounts"])
    assert res.stdout.decode().startswith("from-host")
    assert " ro," in res.stdout.decode() or " ro " in res.stdout.decode()
    assert rt.containers.exec(cid, ["touch", "/data/x"]).exit_code != 0


def _pty_cli(state_paths, args, send=(), timeout=30.0):
    """Run the CLI on a real terminal of 30x100; ``send``: (trigger, bytes) pairs."""
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = cli_env({"PYCOMPOSE_ROOT": str(state_paths.root),
                   "PYCOMPOSE_RUN_DIR": str(state_paths.run_dir)})
    proc = subprocess.Popen([sys.executable, "-m", "compose", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    todo = list(send)
    resend = None
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
            if todo and todo[0][0].encode() in out:
                trigger, data = todo.pop(0)
                os.write(master, data)
                # Typed-ahead input can be flushed when the CLI switches the terminal
                # to raw mode: an untriggered send is repeated until the next trigger.
                resend = (data, time.monotonic()) if not trigger else None
            elif resend and todo and time.monotonic() - resend[1] > 0.5:
                os.write(master, resend[0])
                resend = (resend[0], time.monotonic())
        try:
            proc.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, out.decode(errors="replace")


def test_cli_exec_it_pty_window_size_and_ctrl_c(rt, box, state_paths):
    rc, out = _pty_cli(state_paths, [
        "container", "exec", "-it", box, "sh", "-c",
        "[ -t 0 ] && echo is-a-tty; stty size; trap 'echo got-int; exit 9' INT; "
        "echo ready; while true; do sleep 0.05; done"], send=[("ready", b"\x03")])
    assert rc == 9, out
    assert "is-a-tty" in out and "30 100" in out and "got-int" in out
    rc, out = _pty_cli(state_paths, ["container", "exec", "-it", box, "sh", "-c",
                                     "echo ready; read l; echo \"said [$l]\""],
                       send=[("ready", b"hello\r")])
    assert rc == 0 and "said [hello]" in out, out


def test_cli_exec_plain(run_cli, rt, box):
    res = run_cli("container", "exec", "-e", "X=1", "-w", "/tmp", "-u", "nobody", box, "sh",
                  "-c", "echo $X $(pwd) $(id -u); echo err >&2; exit 5")
    assert res.returncode == 5
    assert res.stdout == "1 /tmp 65534\n" and res.stderr == "err\n"
    res = run_cli("container", "exec", "-i", box, "cat", input="piped\n")
    assert res.returncode == 0 and res.stdout == "piped\n"
    res = run_cli("container", "exec", box, "nope")
    assert res.returncode == 127 and "executable file not found" in res.stderr
    res = run_cli("container", "exec", "-d", box, "sleep", "1")
    assert res.returncode == 0 and res.stdout == ""
    res = run_cli("container", "exec", "-t", box, "sh", "-c", "[ -t 1 ] && echo on-a-tty")
    assert res.returncode == 0 and res.stdout.strip() == "on-a-tty", res
    res = run_cli("container", "exec", "-it", box, "true")
    assert res.returncode != 0 and "not a TTY" in res.stderr


def test_exec_in_host_network_container(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sleep", "300", network=NetworkMode("host")))
    rt.containers.start(cid)
    res = rt.containers.exec(cid, ["readlink", "/proc/self/ns/net"])
    assert res.stdout.decode().strip() == os.readlink("/proc/self/ns/net")


def test_exec_gets_the_container_rlimits(rt, busybox):
    from runtime.spec import Ulimit

    cid = rt.containers.create(spec(busybox, "sleep", "300", security=Security(
        ulimits=(Ulimit("nofile", 100, 200),))))
    rt.containers.start(cid)
    res = rt.containers.exec(cid, ["sh", "-c", "ulimit -n; ulimit -Hn"])
    assert res.stdout.split() == [b"100", b"200"]
