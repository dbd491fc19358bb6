"""Real containers are as isolated as Docker's defaults (checked from inside)."""

from __future__ import annotations

import pytest

from tests.conftest import needs_root
from tests.integration.helpers import run

pytestmark = [pytest.mark.integration, needs_root]

DOCKER_DEFAULT_CAPS = "00000000a80425fb"


def _status(rt, busybox, **kw) -> dict[str, str]:
    code, out, _ = run(rt, busybox, "cat", "/proc/self/status", **kw)
    assert code == 0
    return {k: v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def test_default_capabilities_and_seccomp(rt, busybox):
    st = _status(rt, busybox)
    assert st["CapEff"] == DOCKER_DEFAULT_CAPS
    assert st["CapBnd"] == DOCKER_DEFAULT_CAPS
    assert st["CapInh"] == "0000000000000000"
    assert st["Seccomp"] == "2"
    assert st["NoNewPrivs"] == "0"


def test_cap_add_drop_privileged_unconfined_nnp(rt, busybox):
    from runtime.spec import Security

    st = _status(rt, busybox, security=Security(cap_add=("NET_ADMIN",), cap_drop=("CHOWN",)))
    mask = int(st["CapEff"], 16)
    assert mask & (1 << 12) and not mask & 1
    st = _status(rt, busybox, security=Security(seccomp="unconfined", no_new_privileges=True))
    assert st["Seccomp"] == "0" and st["NoNewPrivs"] == "1"
    st = _status(rt, busybox, security=Security(privileged=True))
    with open("/proc/self/status") as f:
        host_bounding = int(f.read().split("CapBnd:")[1].split()[0], 16)
    assert int(st["CapEff"], 16) == host_bounding


def test_cannot_mount_load_modules_or_sysrq(rt, busybox):
    _, out, _ = run(rt, busybox, "sh", "-c",
                         "mount -t tmpfs none /mnt 2>&1; echo mount=$?; "
                         "echo x > /tmp/m.ko; insmod /tmp/m.ko 2>&1; echo insmod=$?; "
                         "echo b > /proc/sysrq-trigger 2>&1; echo sysrq=$?; "
                         "cat /proc/kcore | wc -c; touch /proc/sys/kernel/x 2>&1; echo ro=$?")
    assert "mount=0" not in out and "insmod=0" not in out and "sysrq=0" not in out
    assert "permission denied" in out.lower() or "not permitted" in out.lower()
    lines = out.splitlines()
    assert "0" in [x.strip() for x in lines]  # /proc/kcore is masked: empty
    assert "ro=0" not in out


def test_no_host_devices(rt, busybox):
    _, out, _ = run(rt, busybox, "sh", "-c",
                       "ls /dev; mknod /tmp/disk b 254 0 && head -c1 /tmp/disk; echo rd=$?")
    devs = set(out.split()) - {"rd=1"}
    assert {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm",
            "mqueue", "fd", "stdin", "stdout", "stderr", "core"} <= devs
    assert not any(d.startswith(("sd", "vd", "nvme", "loop", "mem", "kmsg")) for d in devs)
    assert "rd=0" not in out


def test_read_only_rootfs_and_tmpfs(rt, busybox):
    from runtime.spec import Mount, Security

    _, out, _ = run(rt, busybox, "sh", "-c",
                       "touch /x 2>/dev/null; echo root=$?; touch /scratch/y; echo tmp=$?; "
                       "grep ' /scratch ' /proc/mounts",
                       security=Security(read_only_rootfs=True),
                       mounts=(Mount(type="tmpfs", target="/scratch", tmpfs_size=1 << 20),))
    assert "root=1" in out and "tmp=0" in out and "size=1024k" in out


def test_bind_mount_read_only(rt, busybox, tmp_path):
    from runtime.spec import Mount

    (tmp_path / "data.txt").write_text("from host\n")
    _, out, _ = run(rt, busybox, "sh", "-c",
                       "cat /data/data.txt; touch /data/new 2>/dev/null; echo w=$?",
                       mounts=(Mount(type="bind", source=str(tmp_path), target="/data",
                                     read_only=True),))
    assert out.splitlines() == ["from host", "w=1"]
    assert not (tmp_path / "new").exists()


def test_sysctl_ulimit_shm(rt, busybox):
    from runtime.spec import Security, Ulimit

    code, out, _ = run(rt, busybox, "sh", "-c",
                       "cat /proc/sys/net/ipv4/ip_forward; ulimit -n; df -k /dev/shm | tail -1",
                       security=Security(sysctls=(("net.ipv4.ip_forward", "1"),),
                                         ulimits=(Ulimit("nofile", 512, 512),)),
                       shm_size=8 << 20)
    lines = out.splitlines()
    assert code == 0, out
    assert lines[0] == "1" and lines[1] == "512"
    assert lines[2].split()[1] == "8192"


def test_network_none_has_only_loopback(rt, busybox):
    _, out, _ = run(rt, busybox, "sh", "-c", "ls /sys/class/net; ping -c1 -W1 127.0.0.1 "
                       ">/dev/null && echo lo-ok")
    assert out.split() == ["lo", "lo-ok"]


def test_memory_limit_oom_kill_is_reported(rt, busybox):
    from runtime.spec import Resources

    code, _, _ = run(rt, busybox, "sh", "-c",
                     "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived",
                     resources=Resources(memory=32 << 20, memory_swap=32 << 20))
    assert code == 137
    cid = rt.containers.list(all=True)[0].record.id
    assert rt.containers.inspect(cid)["State"]["OOMKilled"] is True


def test_pids_limit_stops_a_fork_bomb(rt, busybox):
    from runtime.spec import Resources

    _, out, _ = run(rt, busybox, "sh", "-c",
                      "i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done 2>/dev/null; "
                      "echo started $(jobs -p | wc -l)",
                      resources=Resources(pids_limit=20))
    started = int(out.split()[-1]) if out.strip() else 0
    assert started < 20


def test_hostile_symlinks_in_the_image_stay_inside(rt, busybox, tmp_path):
    """/etc/hosts and the workdir as symlinks pointing out of the root: resolved inside."""
    import shutil

    from runtime.spec import ContainerSpec, Process, RootFS

    img = tmp_path / "img"
    shutil.copytree(busybox, img, symlinks=True)
    (img / "etc" / "hosts").symlink_to("../../../../../../../../etc/shadow")
    (img / "etc" / "resolv.conf").symlink_to("/proc/self/root/etc/passwd")
    (img / "work").symlink_to("/../../../../../root")
    from pathlib import Path

    before = Path("/etc/shadow").read_bytes()
    s = ContainerSpec(image=str(img), image_id="", rootfs=RootFS((img,)),
                      process=Process(args=("sh", "-c", "cat /etc/hosts | head -1; pwd; ls"),
                                      cwd="/work"), extra_hosts=(("x", "1.2.3.4"),))
    cid = rt.containers.create(s)
    rt.containers.start(cid)
    assert rt.containers.wait(cid, timeout=30) == 0
    out = "".join(e.data.decode() for e in rt.containers.logs(cid))
    assert out.startswith("127.0.0.1\tlocalhost")
    assert out.splitlines()[1] == "/root"       # the workdir symlink resolved in the root
    assert Path("/etc/shadow").read_bytes() == before
    assert not (img / "etc" / "shadow").exists() or (img / "etc" / "shadow").stat().st_size


def test_own_cgroup_visible_read_only(rt, busybox):
    from runtime.spec import Resources

    code, out, _ = run(rt, busybox, "sh", "-c",
                       "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                       "cat /sys/fs/cgroup/memory.max; mkdir /sys/fs/cgroup/x 2>/dev/null; "
                       "echo mk=$?; grep -c ':/$' /proc/self/cgroup",
                       resources=Resources(memory=64 << 20))
    lines = out.split()
    assert code == 0 and lines[0] == str(64 << 20)   # its own limit, not the host's
    assert lines[1] == "mk=1"                        # read-only
    assert int(lines[2]) >= 1                        # cgroup namespace: it is at the root
