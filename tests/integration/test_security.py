"""Capabilities and seccomp applied to a real process (a fresh Python subprocess: the
calls are irreversible, and the test process must never fork itself)."""

from __future__ import annotations

import ctypes.util
import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, needs_root

pytestmark = [pytest.mark.integration, needs_root]

has_libseccomp = pytest.mark.skipif(ctypes.util.find_library("seccomp") is None,
                                    reason="libseccomp.so.2 not installed")

PRELUDE = f"""
import ctypes, errno, json, os, socket, subprocess, sys  # imported before any setuid
sys.path.insert(0, {str(REPO)!r})
from runtime.security import capabilities, seccomp
libc = ctypes.CDLL(None, use_errno=True)
def status():
    out = {{}}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out
def err(rc):
    return "ok" if rc >= 0 else errno.errorcode[ctypes.get_errno()]
"""


def run_probe(body: str) -> dict:
    res = subprocess.run([sys.executable, "-I", "-S", "-c", PRELUDE + body],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.splitlines()[-1])


def test_default_capabilities_match_docker():
    out = run_probe("""
capabilities.apply(capabilities.effective_caps())
st = status()
after_exec = os.popen("grep Cap /proc/self/status").read()
print(json.dumps({"eff": st["CapEff"], "bnd": st["CapBnd"], "inh": st["CapInh"],
                  "exec": after_exec}))
""")
    assert out["eff"] == out["bnd"] == "00000000a80425fb"
    assert out["inh"] == "0000000000000000"
    assert "CapEff:\t00000000a80425fb" in out["exec"]      # root after execve: same set
    assert "CapBnd:\t00000000a80425fb" in out["exec"]


def test_cap_add_drop_applied():
    out = run_probe("""
caps = capabilities.effective_caps(cap_add=["NET_ADMIN"], cap_drop=["CHOWN", "NET_RAW"])
capabilities.apply(caps)
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    raw = "ok"
except PermissionError:
    raw = "EPERM"
print(json.dumps({"eff": status()["CapEff"], "raw": raw}))
""")
    want = (0xA80425FB | 1 << 12) & ~(1 << 0) & ~(1 << 13)
    assert int(out["eff"], 16) == want
    assert out["raw"] == "EPERM"                            # NET_RAW really gone


def test_switch_user_keeps_caps_until_exec_and_ambient():
    out = run_probe("""
caps = capabilities.effective_caps()
def become_nobody():
    os.setgroups([])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
capabilities.apply(caps, switch_user=become_nobody)
st = status()
after_exec = os.popen("grep -E 'Cap(Eff|Bnd)' /proc/self/status").read()
print(json.dumps({"uid": os.getuid(), "eff": st["CapEff"], "exec": after_exec}))
""")
    assert out["uid"] == 65534
    assert out["eff"] == "00000000a80425fb"                 # kept across setuid (KEEPCAPS)
    assert "CapEff:\t0000000000000000" in out["exec"]       # like docker: none after exec
    assert "CapBnd:\t00000000a80425fb" in out["exec"]

    amb = run_probe("""
def become_nobody():
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)
capabilities.apply({"CAP_NET_BIND_SERVICE"}, switch_user=become_nobody, ambient=True)
print(json.dumps({"exec": os.popen("grep -E 'Cap(Eff|Amb)' /proc/self/status").read()}))
""")
    assert "CapEff:\t0000000000000400" in amb["exec"]       # kept through exec via ambient
    assert "CapAmb:\t0000000000000400" in amb["exec"]


@has_libseccomp
def test_default_seccomp_blocks_what_docker_blocks():
    out = run_probe("""
caps = capabilities.effective_caps()
seccomp.load("default", caps=caps)
capabilities.apply(caps)
r = {}
r["seccomp"] = status()["Seccomp"]
r["unshare"] = err(libc.unshare(0x04000000))                     # CLONE_NEWUTS
r["mount"] = err(libc.mount(b"none", b"/mnt", b"tmpfs", 0, None))
r["keyctl"] = err(libc.syscall(250, 0, 0, 0, 0, 0))               # x86_64 keyctl
r["clone_newns"] = err(libc.syscall(56, 0x00020000 | 17, 0, 0, 0, 0))
r["clone3"] = err(libc.syscall(435, 0, 0))
try:
    socket.socket(40, socket.SOCK_STREAM)                          # AF_VSOCK
    r["vsock"] = "ok"
except OSError as e:
    r["vsock"] = errno.errorcode[e.errno]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.close()
pid = os.fork()
if pid == 0:
    os._exit(3)
r["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
r["read"] = len(open("/etc/hostname").read()) > 0
r["exec"] = os.popen("echo hi").read().strip()
print(json.dumps(r))
""")
    assert out["seccomp"] == "2"                                   # filter mode
    for call in ("unshare", "mount", "keyctl", "clone_newns"):
        assert out[call] == "EPERM", call
    assert out["clone3"] == "ENOSYS"                               # libc falls back to clone
    assert out["vsock"] == "EPERM"
    assert (out["fork"], out["read"], out["exec"]) == (3, True, "hi")


@has_libseccomp
def test_sys_admin_unlocks_unshare_and_unconfined_loads_nothing():
    out = run_probe("""
seccomp.load("default", caps=capabilities.effective_caps(cap_add=["SYS_ADMIN"]))
print(json.dumps({"unshare": err(libc.unshare(0x04000000))}))
""")
    assert out["unshare"] == "ok"
    out = run_probe("""
loaded = seccomp.load("unconfined", caps=set())
print(json.dumps({"loaded": loaded, "mode": status()["Seccomp"]}))
""")
    assert out == {"loaded": False, "mode": "0"}


@has_libseccomp
def test_custom_docker_profile_and_no_new_privs(tmp_path):
    profile = tmp_path / "profile.json"
    # Everything allowed except mkdir/mkdirat, which fail with EACCES (13).
    profile.write_text(json.dumps({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 13}]}))
    out = run_probe(f"""
seccomp.set_no_new_privs()
seccomp.load({str(profile)!r})
try:
    os.mkdir({str(tmp_path / "d")!r})
    mk = "ok"
except OSError as e:
    mk = errno.errorcode[e.errno]
print(json.dumps({{"mkdir": mk, "nnp": status()["NoNewPrivs"],
                   "rmdir_ok": os.path.isdir("/")}}))
""")
    assert out == {"mkdir": "EACCES", "nnp": "1", "rmdir_ok": True}
    assert not (tmp_path / "d").exists()


@has_libseccomp
def test_prepare_before_chroot_load_after():
    """The init compiles the filter while the host is visible, and loads it after
    pivot_root, when neither libseccomp nor the profile file can be opened any more."""
    out = run_probe("""
import tempfile
caps = [capabilities.BIT[c] for c in capabilities.effective_caps()]   # numbers work too
flt = seccomp.prepare("default", caps)
fd = os.open("/proc/self/status", os.O_RDONLY)     # proc files render on each read
def status():
    text = os.pread(fd, 8192, 0).decode()
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
empty = tempfile.mkdtemp()
os.chroot(empty)
os.chdir("/")
flt.load()
capabilities.apply(caps)
r = {"mode": status()["Seccomp"].strip(), "eff": status()["CapEff"].strip(),
     "chroot": err(libc.chroot(b"/")), "unshare": err(libc.unshare(0x04000000))}
print(json.dumps(r))
""")
    assert out == {"mode": "2", "eff": "00000000a80425fb", "chroot": "ok",
                   "unshare": "EPERM"}       # SYS_CHROOT (default) unlocks chroot only
