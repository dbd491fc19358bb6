"""The only module that talks netlink (pyroute2's low-level ``IPRoute``, never NDB).

Every operation is idempotent (creating what exists or deleting what is gone is not
an error), so a half-done connect can simply be undone or redone.  Work inside a
container's namespace runs in a helper thread that joined it (``netns.run_in_netns``):
a netlink socket stays bound to the namespace it was opened in.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
from dataclasses import dataclass, field
from ipaddress import ip_interface
from pathlib import Path
from typing import Any

from runtime.errors import RuntimeFailure
from runtime.network import netns


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """One veth endpoint: host side ``host_ifname`` on ``bridge``, peer ``ifname`` in
    the container's namespace with the given addresses (CIDR strings)."""

    bridge: str
    host_ifname: str
    netns_path: str
    ifname: str
    mac: str
    mtu: int
    addresses: tuple[str, ...]
    gateway4: str | None = None        # default route via this gateway (None: no route)
    gateway6: str | None = None
    routes: tuple[str, ...] = field(default_factory=tuple)


def _code(exc: BaseException) -> int | None:
    return getattr(exc, "code", None)


class Netlink:
    """Host-namespace netlink operations used by the bridge driver."""

    def __init__(self) -> None:
        self._ipr_handle: Any = None
        self._ipr_lock = threading.Lock()

    @property
    def _ipr(self) -> Any:
        """pyroute2's ``IPRoute``, made on first use: importing pyroute2 costs ~100-300 ms
        here, and ``rm``/``down`` only delete links, which :func:`_del_link` does on a
        plain socket."""
        with self._ipr_lock:
            if self._ipr_handle is None:
                from pyroute2 import IPRoute

                self._ipr_handle = IPRoute()
            return self._ipr_handle

    def close(self) -> None:
        with self._ipr_lock:
            if self._ipr_handle is not None:
                self._ipr_handle.close()
                self._ipr_handle = None

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- links -------------------------------------------------------------------
    def index(self, ifname: str) -> int | None:
        return _index(ifname)

    def link_names(self) -> set[str]:
        return {link.get("ifname") for link in self._ipr.get_links()}

    def ensure_bridge(self, name: str, addresses: list[str], mtu: int, mac: str) -> None:
        """Create bridge ``name`` (if missing) with ``addresses`` and bring it up.

        The MAC is set explicitly: otherwise a bridge takes the lowest MAC of its ports
        and changes it when that port leaves, and every container's ARP entry for the
        gateway (and its DNS server) goes stale for seconds."""
        if self.index(name) is None:
            try:
                self._ipr.link("add", ifname=name, kind="bridge", mtu=mtu, address=mac)
            except Exception as exc:
                if _code(exc) != errno.EEXIST:
                    raise RuntimeFailure(f"cannot create bridge {name}: {exc}") from exc
        idx = self.index(name)
        assert idx is not None
        for cidr in addresses:
            iface = ip_interface(cidr)
            try:
                self._ipr.addr("add", index=idx, address=str(iface.ip),
                               prefixlen=iface.network.prefixlen)
            except Exception as exc:
                if _code(exc) != errno.EEXIST:
                    raise RuntimeFailure(f"cannot add {cidr} to {name}: {exc}") from exc
        self._ipr.link("set", index=idx, state="up")

    def delete_link(self, name: str) -> None:
        idx = self.index(name)
        if idx is None:
            return
        try:
            _del_link(idx)
        except OSError as exc:
            if exc.errno not in (errno.ENODEV, errno.ENOENT):
                raise RuntimeFailure(f"cannot delete interface {name}: {exc}") from exc

    # -- endpoints ---------------------------------------------------------------
    def add_endpoint(self, ep: EndpointConfig) -> None:
        """Create the veth pair, plug the host side into the bridge (hairpin on, so a
        container can reach its own published port via the host) and configure the
        peer inside the container namespace."""
        br = self.index(ep.bridge)
        if br is None:
            raise RuntimeFailure(f"bridge {ep.bridge} does not exist",
                                 hint="remove and re-create the network")
        if self.index(ep.host_ifname) is None:
            fd = os.open(ep.netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                # one request: host side created enslaved to the bridge and up
                self._ipr.link("add", ifname=ep.host_ifname, kind="veth", mtu=ep.mtu,
                               master=br, state="up",
                               peer={"ifname": ep.ifname, "net_ns_fd": fd,
                                     "address": ep.mac, "mtu": ep.mtu})
            except Exception as exc:
                if _code(exc) == errno.EEXIST:
                    raise RuntimeFailure(
                        f"interface {ep.ifname} already exists in the container") from exc
                raise RuntimeFailure(f"cannot create veth {ep.host_ifname}: {exc}") from exc
            finally:
                os.close(fd)
        else:
            idx = self.index(ep.host_ifname)
            self._ipr.link("set", index=idx, master=br, state="up")
        hairpin = Path(f"/sys/class/net/{ep.host_ifname}/brport/hairpin_mode")
        if hairpin.exists():
            hairpin.write_text("1")
        netns.run_in_netns(ep.netns_path, lambda: _configure_peer(ep))

    def set_default_route(self, netns_path: str, gateway: str | None, ipv6: bool = False
                          ) -> None:
        """Replace (or with ``gateway=None`` remove) the default route in a netns."""
        netns.run_in_netns(netns_path, lambda: _set_default(gateway, ipv6))


def _index(ifname: str) -> int | None:
    """Interface index in the calling thread's netns (an ioctl, not a netlink dump)."""
    try:
        return socket.if_nametoindex(ifname)
    except OSError:
        return None


_NLMSG_ERROR = 2
_RTM_DELLINK = 17
_NLM_F_REQUEST_ACK = 0x1 | 0x4


def _del_link(index: int) -> None:
    """``RTM_DELLINK`` for interface ``index`` (calling thread's netns) on a plain
    netlink socket, waiting for the kernel's acknowledgement; OSError on failure."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                       0) as sock:  # 0: NETLINK_ROUTE
        sock.bind((0, 0))
        ifinfo = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, 0, 0)
        sock.send(struct.pack("=IHHII", 16 + len(ifinfo), _RTM_DELLINK,
                              _NLM_F_REQUEST_ACK, 1, 0) + ifinfo)
        while True:
            data = sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, mtype, _flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if mtype == _NLMSG_ERROR and seq == 1:
                    err = struct.unpack_from("=i", data, off + 16)[0]
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return
                off += max((length + 3) & ~3, 16)


def _configure_peer(ep: EndpointConfig) -> None:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        idx = _index(ep.ifname)
        if idx is None:
            raise RuntimeFailure(f"{ep.ifname} missing in {ep.netns_path}")
        for cidr in ep.addresses:
            iface = ip_interface(cidr)
            kw: dict[str, Any] = {}
            if iface.version == 6:
                kw["flags"] = 0x02  # IFA_F_NODAD: usable at once, no 1-2 s DAD wait
            try:
                ipr.addr("add", index=idx, address=str(iface.ip),
                         prefixlen=iface.network.prefixlen, **kw)
            except Exception as exc:
                if _code(exc) != errno.EEXIST:
                    raise
        ipr.link("set", index=idx, state="up")
        for gw, family in ((ep.gateway4, 4), (ep.gateway6, 6)):
            if gw:
                dst = "0.0.0.0/0" if family == 4 else "::/0"
                ipr.route("replace", dst=dst, gateway=gw, oif=idx)


def _set_default(gateway: str | None, ipv6: bool) -> None:
    from pyroute2 import IPRoute

    dst = "::/0" if ipv6 else "0.0.0.0/0"
    with IPRoute() as ipr:
        if gateway is None:
            try:
                ipr.route("del", dst=dst)
            except Exception as exc:
                if _code(exc) not in (errno.ESRCH, errno.ENOENT):
                    raise
        else:
            ipr.route("replace", dst=dst, gateway=gateway)


def host_routes() -> list[str]:
    """Destinations (CIDR) of the host's IPv4/IPv6 routes and addresses: IPAM must not
    allocate a subnet overlapping any of them."""
    from pyroute2 import IPRoute

    out: list[str] = []
    with IPRoute() as ipr:
        for r in ipr.get_routes(table=254) + ipr.get_routes(family=10, table=254):
            dst = r.get("RTA_DST")
            if dst:
                out.append(f"{dst}/{r['dst_len']}")
        for a in ipr.get_addr():
            out.append(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}")
    return out


def write_sysctl(path: str, value: str) -> str | None:
    """Write a /proc/sys value and return the previous one (None if absent)."""
    p = Path("/proc/sys") / path
    try:
        old = p.read_text().strip()
    except FileNotFoundError:
        return None
    if old != value:
        p.write_text(value)
    return old
