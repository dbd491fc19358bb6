"""NAT/isolation rule generation (nft and iptables-restore text)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from runtime.network import nat

NETS = [nat.NatNetwork("pc-aaaaaaaaaa", ("172.17.0.0/16",)),
        nat.NatNetwork("pc-bbbbbbbbbb", ("172.18.0.0/16", "fd00:1::/64"), internal=True)]
BINDS = [nat.NatBinding("pc-aaaaaaaaaa", "tcp", "", 8080, "172.17.0.2", 80),
         nat.NatBinding("pc-aaaaaaaaaa", "udp", "127.0.0.1", 5353, "172.17.0.2", 53)]


def test_nft_script_is_one_atomic_replace_of_our_table():
    text = nft_text = nat.nft_script(nat.Ruleset(NETS, BINDS))
    lines = text.splitlines()
    assert lines[:2] == ["table inet pycompose {}", "delete table inet pycompose"]
    assert "tcp dport 8080 dnat ip to 172.17.0.2:80" in nft_text
    assert "ip daddr 127.0.0.1 meta nfproto ipv4 udp dport 5353 dnat ip to 172.17.0.2:53" \
        in text
    # outbound masquerade only for the non-internal network
    assert 'oifname != "pc-aaaaaaaaaa" ip saddr 172.17.0.0/16 masquerade' in text
    assert 'oifname != "pc-bbbbbbbbbb"' not in text
    # loopback-sourced DNAT traffic and hairpin are masqueraded
    assert 'oifname "pc-aaaaaaaaaa" ip saddr 127.0.0.0/8 masquerade' in text
    assert 'oifname "pc-aaaaaaaaaa" ip saddr 172.17.0.0/16 ct status dnat masquerade' in text
    # isolation: other bridges dropped, internal bridge forwards nothing
    assert 'iifname "pc-aaaaaaaaaa" oifname "pc-*" drop' in text
    assert 'iifname "pc-bbbbbbbbbb" drop' in text and 'oifname "pc-bbbbbbbbbb" drop' in text
    assert 'iifname "pc-aaaaaaaaaa" accept' in text


def test_nft_script_empty_removes_table_and_tag_separates_roots():
    assert nat.nft_script(nat.Ruleset([], [], tag="ab12")) == \
        "table inet pycompose_ab12 {}\ndelete table inet pycompose_ab12\n"


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft not installed")
def test_nft_script_parses():
    v6 = [nat.NatBinding("pc-bbbbbbbbbb", "tcp", "", 8080, "fd00:1::2", 80),
          nat.NatBinding("pc-bbbbbbbbbb", "udp", "fd00:9::1", 53, "fd00:1::2", 53)]
    res = subprocess.run(["nft", "-c", "-f", "-"], input=nat.nft_script(
        nat.Ruleset(NETS, BINDS + v6, tag="unittest")), capture_output=True, text=True)
    if "Operation not permitted" in res.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN")
    assert res.returncode == 0, res.stderr


def test_iptables_script_adds_missing_jumps_once():
    text = nat.iptables_script(nat.Ruleset(NETS, BINDS), set())
    assert ":PYCOMPOSE-PORTS - [0:0]" in text
    assert "-A PYCOMPOSE-PORTS -p tcp -m tcp --dport 8080 -j DNAT --to-destination " \
           "172.17.0.2:80" in text
    assert "-A PYCOMPOSE-POST -s 172.17.0.0/16 ! -o pc-aaaaaaaaaa -j MASQUERADE" in text
    assert "! -o pc-bbbbbbbbbb" not in text
    assert "-I FORWARD 1 -j PYCOMPOSE-FWD" in text
    present = nat.parse_jumps("*filter\n-A FORWARD -j PYCOMPOSE-FWD\n*nat\n"
                              "-A PREROUTING -j PYCOMPOSE-PRE\n", nat.Ruleset())
    assert present == {("filter", "FORWARD", "PYCOMPOSE-FWD"),
                       ("nat", "PREROUTING", "PYCOMPOSE-PRE")}
    text2 = nat.iptables_script(nat.Ruleset(NETS, BINDS), present)
    assert "-I FORWARD" not in text2 and "-I PREROUTING" not in text2
    assert "-I OUTPUT 1 -j PYCOMPOSE-OUT" in text2


def test_iptables_teardown_deletes_jumps_and_chains():
    present = {("filter", "FORWARD", "PYCOMPOSE-x-FWD")}
    text = nat.iptables_script(nat.Ruleset(tag="x"), present)
    assert "-D FORWARD -j PYCOMPOSE-x-FWD" in text
    assert "-X PYCOMPOSE-x-FWD" in text and "-X PYCOMPOSE-x-PORTS" in text
    assert "-A " not in text


def test_detect_honours_override(monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NAT", "proxy")
    assert nat.detect() == "proxy"
