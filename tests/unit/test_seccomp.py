"""Seccomp policy selection, Docker JSON parsing, and compilation through libseccomp."""

from __future__ import annotations

import ctypes.util
import json

import pytest

from runtime.errors import InvalidInputError
from runtime.security import capabilities as caps
from runtime.security import seccomp
from runtime.security.seccomp_default import CLONE_NS_MASK, DEFAULT_PROFILE

has_libseccomp = pytest.mark.skipif(ctypes.util.find_library("seccomp") is None,
                                    reason="libseccomp.so.2 not installed")


def allowed_names(rules) -> set[str]:
    return {n for r in rules if r.action == "allow" and not r.args for n in r.names}


def rules_named(rules, name):
    return [r for r in rules if name in r.names]


def test_default_caps_block_namespace_and_mount_syscalls():
    rules = DEFAULT_PROFILE.rules_for(caps.DEFAULT, arch="amd64", kernel=(6, 1))
    allowed = allowed_names(rules)
    for name in ("read", "write", "execve", "socketpair", "arch_prctl", "chroot", "ptrace"):
        assert name in allowed
    for name in ("mount", "umount2", "unshare", "setns", "bpf", "keyctl", "add_key",
                 "kexec_load", "init_module", "reboot", "pivot_root", "open_by_handle_at"):
        assert name not in allowed
    clone = rules_named(rules, "clone")
    assert len(clone) == 1
    assert clone[0].args == (seccomp.Arg(0, "MASKED_EQ", CLONE_NS_MASK, 0),)
    (clone3,) = rules_named(rules, "clone3")
    assert (clone3.action, clone3.errno) == ("errno", 38)
    (sock,) = rules_named(rules, "socket")
    assert sock.args == (seccomp.Arg(0, "NE", 40),)
    assert len(rules_named(rules, "personality")) == 5


def test_sys_admin_unlocks_mount_and_plain_clone():
    rules = DEFAULT_PROFILE.rules_for(caps.DEFAULT | {"CAP_SYS_ADMIN"}, arch="amd64",
                                      kernel=(6, 1))
    allowed = allowed_names(rules)
    assert {"mount", "unshare", "setns", "clone", "clone3", "sethostname"} <= allowed
    assert not [r for r in rules_named(rules, "clone3") if r.action == "errno"]


def test_arch_and_kernel_conditions():
    arm = allowed_names(DEFAULT_PROFILE.rules_for(caps.DEFAULT, arch="arm64", kernel=(6, 1)))
    assert "arch_prctl" not in arm and "set_tls" in arm
    old = allowed_names(DEFAULT_PROFILE.rules_for(caps.DEFAULT, arch="amd64", kernel=(4, 4)))
    assert "ptrace" not in old
    s390 = DEFAULT_PROFILE.rules_for(caps.DEFAULT, arch="s390x", kernel=(6, 1))
    assert [r.args[0].index for r in rules_named(s390, "clone")] == [1]


def test_capability_gated_groups():
    for cap, name in [("CAP_SYS_MODULE", "init_module"), ("CAP_SYS_TIME", "settimeofday"),
                      ("CAP_SYS_BOOT", "reboot"), ("CAP_SYSLOG", "syslog"),
                      ("CAP_BPF", "bpf"), ("CAP_SYS_PTRACE", "process_madvise")]:
        assert name in allowed_names(DEFAULT_PROFILE.rules_for({cap}, "amd64", (6, 1)))
        assert name not in allowed_names(DEFAULT_PROFILE.rules_for(set(), "amd64", (6, 1)))


DOCKER_JSON = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                 "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
    "syscalls": [
        {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
        {"name": "personality", "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
        {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_SYS_ADMIN"], "minKernel": "5.4"}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
         "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390x"]}},
    ],
}


def test_parse_docker_profile(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(DOCKER_JSON))
    prof = seccomp.load_profile_file(path)
    assert prof.default_action == "errno" and prof.default_errno == 1
    assert prof.arch_map == {"x86_64": ("x86", "x32")}
    assert prof.rules[1].names == ("personality",)
    assert prof.rules[1].args == (seccomp.Arg(0, "EQ", 8, 0),)
    assert prof.rules[2].caps == {"CAP_SYS_ADMIN"} and prof.rules[2].min_kernel == (5, 4)
    assert prof.rules[3].not_arches == {"s390x"} and prof.rules[3].errno == 38


@pytest.mark.parametrize("doc,match", [
    ({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]}, "unsupported action"),
    ({"syscalls": [{"names": ["read"]}]}, "malformed"),
    ({"syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_WAT"}]}]}, "unknown op"),
])
def test_bad_profiles_are_clear_errors(doc, match):
    with pytest.raises(InvalidInputError, match=match):
        seccomp.profile_from_docker(doc)


def test_missing_and_invalid_json(tmp_path):
    with pytest.raises(InvalidInputError, match="not found"):
        seccomp.resolve_profile(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidInputError):
        seccomp.resolve_profile(str(bad))


def test_unconfined_and_default():
    assert seccomp.resolve_profile("unconfined") is None
    assert seccomp.resolve_profile("default") is DEFAULT_PROFILE


def test_same_argument_twice_becomes_separate_rules():
    a, b = seccomp.Arg(0, "EQ", 1), seccomp.Arg(0, "EQ", 2)
    c = seccomp.Arg(1, "NE", 3)
    assert seccomp._arg_groups((a, b)) == [(a,), (b,)]
    assert seccomp._arg_groups((a, c)) == [(a, c)]
    assert seccomp._arg_groups(()) == [()]


def test_kernel_version_parsing():
    assert seccomp.kernel_version("6.18.44-fc-v657") == (6, 18)
    assert seccomp.kernel_version("4.8") == (4, 8)


@has_libseccomp
def test_default_profile_compiles_for_several_cap_sets():
    sizes = []
    for capset in (caps.DEFAULT, caps.DEFAULT | {"CAP_SYS_ADMIN"}, frozenset()):
        f = seccomp.Filter(DEFAULT_PROFILE, capset)
        try:
            bpf = f.export_bpf()
            # names this libseccomp does not know are skipped (only very new syscalls)
            assert "read" not in f.skipped and len(f.skipped) < 10
        finally:
            f.close()
        assert len(bpf) % 8 == 0 and len(bpf) > 8 * 100   # sock_filter = 8 bytes
        sizes.append(len(bpf))
    assert sizes[1] != sizes[0]             # SYS_ADMIN changes the program


@has_libseccomp
def test_docker_profile_compiles(tmp_path):
    f = seccomp.Filter(seccomp.profile_from_docker(DOCKER_JSON), caps.DEFAULT)
    try:
        assert len(f.export_bpf()) > 0
    finally:
        f.close()
