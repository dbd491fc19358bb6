"""Real containers: isolation, identity files, users, exit codes."""

from __future__ import annotations

import pytest

from runtime.container.start import ContainerStartError
from tests.conftest import needs_root
from tests.integration.helpers import run, spec, wait_for_output

pytestmark = [pytest.mark.integration, needs_root]


def test_true_exits_zero(rt, busybox):
    assert run(rt, busybox, "true")[0] == 0


def test_pid_1_and_no_host_process_visible(rt, busybox):
    code, out, _ = run(rt, busybox, "sh", "-c", "echo $$; ls /proc | grep -c '^[0-9]'")
    assert code == 0
    pid, nprocs = out.split()
    assert pid == "1"
    assert int(nprocs) <= 3  # sh, ls, grep (all ours)


def test_exit_code_passthrough(rt, busybox):
    assert run(rt, busybox, "sh", "-c", "exit 42")[0] == 42


def test_killed_by_signal_is_128_plus_signal(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sleep", "100"))
    rt.containers.start(cid)
    rt.containers.kill(cid, "SIGKILL")
    assert rt.containers.wait(cid, timeout=30) == 137


def test_pid1_ignores_signals_it_has_no_handler_for(rt, busybox):
    # The kernel protects a namespace's init: even `kill -9 $$` from inside is ignored.
    assert run(rt, busybox, "sh", "-c", "kill -9 $$; echo alive")[1] == "alive\n"


def test_init_forwards_signals_and_reaps(rt, busybox):
    cid = rt.containers.create(spec(busybox, "sh", "-c", "echo ready; sleep 1000 & wait",
                                    init=True))
    rt.containers.start(cid)
    wait_for_output(rt, cid, "ready")
    rt.containers.kill(cid, "SIGTERM")      # tini forwards; sh dies of SIGTERM
    assert rt.containers.wait(cid, timeout=30) == 143


def test_missing_command_is_127(rt, busybox):
    cid = rt.containers.create(spec(busybox, "no-such-command"))
    with pytest.raises(ContainerStartError) as err:
        rt.containers.start(cid)
    assert err.value.exit_code == 127
    assert "executable file not found" in str(err.value)
    assert rt.containers.inspect(cid)["State"]["ExitCode"] == 127


def test_not_executable_is_126(rt, busybox):
    cid = rt.containers.create(spec(busybox, "/etc/passwd"))
    with pytest.raises(ContainerStartError) as err:
        rt.containers.start(cid)
    assert err.value.exit_code == 126


def test_hostname_hosts_resolv(rt, busybox):
    code, out, _ = run(rt, busybox, "sh", "-c",
                       "hostname; cat /etc/hostname; grep -c localhost /etc/hosts; "
                       "grep -c nameserver /etc/resolv.conf; grep db /etc/hosts",
                       hostname="web1", extra_hosts=(("db", "10.0.0.5"),),
                       dns=("10.0.0.53",))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "web1" and lines[1] == "web1"
    assert int(lines[2]) >= 1 and lines[3] == "1"
    assert lines[4].split() == ["10.0.0.5", "db"]


def test_user_and_groups_from_image(rt, busybox):
    code, out, _ = run(rt, busybox, "id", user="app")
    assert code == 0
    assert out.strip() == "uid=1000(app) gid=1000(app) groups=29(audio),50(staff)"
    code, out, _ = run(rt, busybox, "sh", "-c", "id -u; id -g; echo $HOME", user="1234:50")
    assert out.split() == ["1234", "50", "/"]


def test_unknown_user_fails_clearly(rt, busybox):
    cid = rt.containers.create(spec(busybox, "true", user="nosuchuser"))
    with pytest.raises(ContainerStartError, match="unable to find user nosuchuser"):
        rt.containers.start(cid)


def test_env_and_workdir(rt, busybox):
    _, out, _ = run(rt, busybox, "sh", "-c", "echo $FOO; pwd; echo $PATH",
                       env=("FOO=bar",), cwd="/srv/app")
    assert out.split() == ["bar", "/srv/app",
                           "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
