"""Host port choice: busy ports, our own reservations, ranges, random ports."""

from __future__ import annotations

import socket

import pytest

from runtime.errors import ConflictError
from runtime.network import hostports
from runtime.network.ports import parse_short


def _listener() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def test_busy_port_is_named_and_nothing_is_held():
    holder = _listener()
    busy = holder.getsockname()[1]
    try:
        with pytest.raises(ConflictError, match=rf"127\.0\.0\.1:{busy}/tcp"):
            hostports.reserve(parse_short(f"127.0.0.1:{busy}:80"), "10.0.0.2", None, {},
                              keep=True)
    finally:
        holder.close()


def test_our_own_reservation_counts_as_busy():
    free = _listener()
    port = free.getsockname()[1]
    free.close()
    with pytest.raises(ConflictError, match="another pycompose container"):
        hostports.reserve(parse_short(f"{port}:80"), "10.0.0.2", None,
                          {("tcp", port): ""}, keep=False)
    # another protocol on the same number is fine
    got, held = hostports.reserve(parse_short(f"{port}:53/udp"), "10.0.0.2", None,
                                  {("tcp", port): ""}, keep=False)
    assert got[0].host_port == port and held == []


def test_range_takes_first_free_and_random_avoids_ours():
    holder = _listener()
    busy = holder.getsockname()[1]
    try:
        specs = parse_short(f"127.0.0.1:{busy}-{busy + 1}:80")
        try:
            got, _ = hostports.reserve(specs, "10.0.0.2", None, {}, keep=False)
        except ConflictError:
            pytest.skip("the next port is busy on this host too")
        assert got[0].host_port == busy + 1
    finally:
        holder.close()
    got, held = hostports.reserve(parse_short("80") + parse_short("80/udp"), "10.0.0.2",
                                  "fd00::2", {}, keep=True)
    try:
        assert len(held) == 2 and all(b.host_port > 0 for b in got)
        # all-address publications get an IPv6 twin when the container has IPv6
        assert [b.container_ip for b in got] == ["10.0.0.2", "fd00::2"] * 2
    finally:
        for s in held:
            s.close()
