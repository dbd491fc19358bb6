"""IPAM: pools, overlap checks, address allocation, MACs."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from runtime.errors import ConflictError, InvalidInputError, RuntimeFailure
from runtime.network import ipam


def test_first_free_pool_subnet_skips_host_routes_and_our_networks():
    assert str(ipam.allocate_subnet([], ipam.DEFAULT_POOLS)) == "172.17.0.0/16"
    used = ["172.17.5.0/24", "172.18.0.0/16", "10.0.0.0/8"]
    assert str(ipam.allocate_subnet(used, ipam.DEFAULT_POOLS)) == "172.19.0.0/16"


def test_default_route_and_loopback_do_not_block_pools():
    assert str(ipam.allocate_subnet(["0.0.0.0/0", "127.0.0.1/8", "::/0"],
                                    ipam.DEFAULT_POOLS)) == "172.17.0.0/16"


def test_pools_then_192_168_slices_of_20():
    used = [f"172.{i}.0.0/16" for i in range(16, 32)]
    assert str(ipam.allocate_subnet(used, ipam.DEFAULT_POOLS)) == "192.168.0.0/20"
    used.append("192.168.1.0/24")
    assert str(ipam.allocate_subnet(used, ipam.DEFAULT_POOLS)) == "192.168.16.0/20"


def test_exhausted_pools_say_how_to_fix():
    with pytest.raises(RuntimeFailure, match="no free subnet") as exc:
        ipam.allocate_subnet(["10.9.0.0/16"], (("10.9.0.0/16", 24),))
    assert exc.value.hint


def test_pools_from_env():
    assert ipam.pools_from_env("10.200.0.0/16:24, 10.201.0.0/16") == (
        ("10.200.0.0/16", 24), ("10.201.0.0/16", 16))
    assert ipam.pools_from_env("") == ipam.DEFAULT_POOLS
    with pytest.raises(InvalidInputError):
        ipam.pools_from_env("not-a-net:24")


def test_explicit_subnet_overlap_is_refused_with_the_culprit():
    net = ipam.parse_subnet("172.30.0.0/16")
    ipam.check_subnet(net, ["192.0.2.0/24"], ["172.17.0.0/16"])
    with pytest.raises(ConflictError, match=r"172\.30\.0\.0/24"):
        ipam.check_subnet(net, [], ["172.30.0.0/24"])
    with pytest.raises(ConflictError, match="host route"):
        ipam.check_subnet(net, ["172.30.9.0/24"], [])
    with pytest.raises(InvalidInputError, match="invalid subnet"):
        ipam.parse_subnet("172.30.0.1/16")


def test_allocate_ip_round_robin_skips_gateway_leases_and_range():
    net = ip_network("10.1.0.0/29")  # hosts .1-.6
    assert ipam.allocate_ip(net, None, "10.1.0.1", []) == "10.1.0.2"
    assert ipam.allocate_ip(net, None, "10.1.0.1", ["10.1.0.2"], "10.1.0.2") == "10.1.0.3"
    # released .2 is not reused right away: next after the last handed out
    assert ipam.allocate_ip(net, None, "10.1.0.1", ["10.1.0.3"], "10.1.0.3") == "10.1.0.4"
    leased = [f"10.1.0.{i}" for i in range(2, 7)]
    with pytest.raises(ConflictError, match="no free address"):
        ipam.allocate_ip(net, None, "10.1.0.1", leased)
    rng = ip_network("10.1.0.4/30")
    assert ipam.allocate_ip(net, rng, "10.1.0.1", []) == "10.1.0.4"
    # .7 is the subnet's broadcast address: only .4-.6 of the range are usable
    with pytest.raises(ConflictError):
        ipam.allocate_ip(net, rng, "10.1.0.1", ["10.1.0.4", "10.1.0.5", "10.1.0.6"])


def test_check_in_subnet():
    net = ip_network("10.1.0.0/24")
    assert ipam.check_in_subnet("10.1.0.7", net, "ipv4_address") == "10.1.0.7"
    for bad in ("10.2.0.7", "10.1.0.0", "10.1.0.255", "nope"):
        with pytest.raises(InvalidInputError):
            ipam.check_in_subnet(bad, net, "ipv4_address")


def test_ipv6_ula_subnet_is_deterministic_and_avoids_overlap():
    a = ipam.allocate_subnet6("abc", [])
    assert a.prefixlen == 64 and str(a).startswith("fd")
    assert ipam.allocate_subnet6("abc", []) == a
    b = ipam.allocate_subnet6("abc", [str(a)])
    assert b != a and not b.overlaps(a)
    net6 = ip_network("fd00:1::/64")
    assert ipam.allocate_ip(net6, None, "fd00:1::1", []) == "fd00:1::2"


def test_mac_from_ip_like_docker():
    assert ipam.mac_for_ip("172.17.0.2") == "02:42:ac:11:00:02"
    assert ipam.default_gateway(ip_network("172.17.0.0/16")) == "172.17.0.1"
