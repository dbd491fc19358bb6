"""The v2 device eBPF program, checked instruction by instruction against the rules'
reference semantics with a small interpreter (the real kernel test is in
tests/integration/test_cgroups.py)."""

from __future__ import annotations

import itertools

import pytest

from runtime.cgroups import devfilter as df
from runtime.cgroups import devices

MAJORS = (0, 1, 4, 5, 7, 8, 10, 136, 254, 4095)
MINORS = (0, 1, 2, 3, 5, 7, 8, 9, 17, 200, 229, 1 << 19)


def exhaustive(rules: list[str]):
    prog = df.program(rules)
    parsed = [df.Rule.parse(r) for r in rules]
    for t, acc, ma, mi in itertools.product((1, 2), range(1, 8), MAJORS, MINORS):
        want = int(any(r.matches(t, acc, ma, mi) for r in parsed))
        yield (t, acc, ma, mi), df.run(prog, t, acc, ma, mi), want


def test_default_list_program_matches_rules():
    for args, got, want in exhaustive(list(devices.DEFAULT_ALLOW)):
        assert got == want, args


def test_default_list_decisions():
    prog = df.program(list(devices.DEFAULT_ALLOW))
    R, W, M = df.ACC_READ, df.ACC_WRITE, df.ACC_MKNOD
    assert df.run(prog, df.DEV_CHAR, R | W, 1, 3) == 1          # /dev/null
    assert df.run(prog, df.DEV_CHAR, R | W, 136, 7) == 1        # a pts
    assert df.run(prog, df.DEV_BLOCK, R, 254, 0) == 0           # a host disk
    assert df.run(prog, df.DEV_BLOCK, M, 254, 0) == 1           # mknod alone is fine
    assert df.run(prog, df.DEV_CHAR, R, 10, 229) == 0           # fuse
    assert df.run(prog, df.DEV_CHAR, R, 1, 1) == 0              # /dev/mem


@pytest.mark.parametrize("rules", [[], ["a"], ["c 1:3 r"], ["b 8:* rw", "c *:5 m"],
                                   ["c 4:1 w", "c 4:1 r"]])
def test_other_rule_sets(rules):
    for args, got, want in exhaustive(rules):
        assert got == want, (rules, args)


def test_parse():
    r = df.Rule.parse("c 136:* rwm")
    assert (r.type, r.major, r.minor, r.access) == (df.DEV_CHAR, 136, None, 7)
    r = df.Rule.parse("b *:* m")
    assert (r.type, r.major, r.minor, r.access) == (df.DEV_BLOCK, None, None, 1)


def test_program_is_raw_insns():
    prog = df.program(list(devices.DEFAULT_ALLOW))
    assert len(prog) % 8 == 0 and prog[-8] == 0x95             # ends with exit
