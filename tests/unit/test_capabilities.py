"""Capability set computation (Docker's rules) and the name table."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidInputError
from runtime.security import capabilities as caps


def test_default_set_is_dockers():
    assert len(caps.DEFAULT) == 14
    assert caps.to_mask(caps.DEFAULT) == caps.DEFAULT_MASK == 0xA80425FB
    assert caps.from_mask(0xA80425FB) == caps.DEFAULT


def test_name_table_matches_capability_h():
    assert caps.BIT["CAP_CHOWN"] == 0
    assert caps.BIT["CAP_NET_RAW"] == 13
    assert caps.BIT["CAP_SYS_ADMIN"] == 21
    assert caps.BIT["CAP_MKNOD"] == 27
    assert caps.BIT["CAP_SETFCAP"] == 31
    assert caps.BIT["CAP_CHECKPOINT_RESTORE"] == 40
    assert len(set(caps.NAMES)) == len(caps.NAMES) == 41


def test_kernel_last_cap_is_covered():
    assert caps.last_cap() <= len(caps.NAMES) - 1
    assert len(caps.all_caps()) == caps.last_cap() + 1


@pytest.mark.parametrize("name,want", [("chown", "CAP_CHOWN"), ("CAP_NET_ADMIN", "CAP_NET_ADMIN"),
                                       (" sys_admin ", "CAP_SYS_ADMIN"), ("all", "ALL")])
def test_normalize(name, want):
    assert caps.normalize(name) == want


def test_unknown_capability_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="unknown capability"):
        caps.effective_caps(cap_add=["NET_FLY"])


def test_add_and_drop():
    got = caps.effective_caps(cap_add=["NET_ADMIN", "sys_ptrace"], cap_drop=["MKNOD", "cap_kill"])
    assert got == (caps.DEFAULT - {"CAP_MKNOD", "CAP_KILL"}) | {"CAP_NET_ADMIN",
                                                                "CAP_SYS_PTRACE"}


def test_drop_all_keeps_only_adds():
    assert caps.effective_caps(cap_add=["NET_BIND_SERVICE"], cap_drop=["ALL"]) == \
        {"CAP_NET_BIND_SERVICE"}
    assert caps.effective_caps(cap_drop=["all"]) == frozenset()


def test_add_all_minus_drops():
    got = caps.effective_caps(cap_add=["ALL"], cap_drop=["SYS_ADMIN"])
    assert got == caps.all_caps() - {"CAP_SYS_ADMIN"}


def test_privileged_gets_everything_whatever_the_drops():
    assert caps.effective_caps(cap_drop=["ALL"], privileged=True) == caps.all_caps()


def test_no_tweaks_is_default():
    assert caps.effective_caps() == caps.DEFAULT
