"""Published-port syntax: short and long forms, ranges, IPv6, expose."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidInputError
from runtime.network.ports import Binding, PortSpec, parse, parse_expose, parse_short, publish_all


@pytest.mark.parametrize("spec,expected", [
    ("80", [PortSpec(80)]),
    (80, [PortSpec(80)]),
    ("8080:80", [PortSpec(80, "tcp", "", 8080, 8080)]),
    ("8080:80/udp", [PortSpec(80, "udp", "", 8080, 8080)]),
    ("127.0.0.1:8080:80", [PortSpec(80, "tcp", "127.0.0.1", 8080, 8080)]),
    ("127.0.0.1::80", [PortSpec(80, "tcp", "127.0.0.1")]),
    ("[::1]:8080:80", [PortSpec(80, "tcp", "::1", 8080, 8080)]),
    ("8000-8010:80", [PortSpec(80, "tcp", "", 8000, 8010)]),
    ("80-82:8080-8082", [PortSpec(8080, "tcp", "", 80, 80), PortSpec(8081, "tcp", "", 81, 81),
                         PortSpec(8082, "tcp", "", 82, 82)]),
    ("3000-3001", [PortSpec(3000), PortSpec(3001)]),
    ("6000:6379/TCP", [PortSpec(6379, "tcp", "", 6000, 6000)]),
])
def test_short_syntax(spec, expected):
    assert parse_short(spec) == expected


@pytest.mark.parametrize("spec,msg", [
    ("", "empty"), ("abc", "invalid container port"), ("70000:80", "out of range"),
    ("80/icmp", "protocol"), ("1-3:4-5", "different sizes"), ("9-3:80", "range"),
    ("1:2:3:4", "too many"), ("nope:80:80", "host IP"), ("[::1:80:80", "IPv6"),
])
def test_short_syntax_errors_are_clear(spec, msg):
    with pytest.raises(InvalidInputError, match=msg):
        parse_short(spec)


def test_long_syntax_and_mixed_list():
    got = parse([{"target": 80, "published": "8080", "host_ip": "127.0.0.1",
                  "protocol": "udp"},
                 {"target": 443},
                 {"target": 90, "published": "9000-9001"},
                 "53:53/udp"])
    assert got == [PortSpec(80, "udp", "127.0.0.1", 8080, 8080), PortSpec(443),
                   PortSpec(90, "tcp", "", 9000, 9001), PortSpec(53, "udp", "", 53, 53)]
    with pytest.raises(InvalidInputError, match="target"):
        parse([{"published": 80}])


def test_expose_and_publish_all():
    exposed = parse_expose(["80", "53/udp", "8000-8001"])
    assert exposed == [(80, "tcp"), (53, "udp"), (8000, "tcp"), (8001, "tcp")]
    assert all(p.random for p in publish_all(exposed))


def test_binding_display_and_json_roundtrip():
    b = Binding("tcp", "", 32768, "172.17.0.2", 80)
    assert b.display() == "80/tcp -> 0.0.0.0:32768"
    assert Binding("udp", "::1", 5, "fd00::2", 6).display() == "6/udp -> [::1]:5"
    assert Binding.from_json(b.to_json()) == b
