"""The runtime-facing network API: :class:`Networks`.

Data flow of a ``connect``: lock -> allocate a lease and write it to the network's state
file (so a crash leaves something findable) -> netlink: veth pair, peer moved into the
container's netns as ``ethN`` with MAC/MTU/addresses/default route -> DNS server started
(first endpoint) or told to reload.  Every step is undone if a later one fails.  Host
objects are always derived from state (bridge and veth names are functions of the ids),
so ``cleanup_container`` and ``remove`` work from state alone, after any crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import asdict, dataclass
from ipaddress import ip_address, ip_network
from typing import Any

from runtime.errors import ConflictError, InvalidInputError, NotFoundError, RuntimeFailure
from runtime.network import hostports, ipam, nat, supervise
from runtime.network import resolvconf as dns
from runtime.network.ports import Binding, PortSpec
from runtime.network.store import Store, host_lock
from runtime.paths import DEFAULT_ROOT, StatePaths

DEFAULT_MTU = 1500
RESERVED_NAMES = ("host", "none")


def bridge_name(net_id: str) -> str:
    return f"{nat.BRIDGE_PREFIX}{net_id[:10]}"


def veth_name(net_id: str, container_id: str) -> str:
    return "pv" + hashlib.sha256(f"{net_id}/{container_id}".encode()).hexdigest()[:13]


def nat_backend() -> str:
    """The NAT backend this host uses: ``nft``, ``iptables`` or ``proxy`` (userland)."""
    return nat.detect()


@dataclass(frozen=True, slots=True)
class Endpoint:
    network_id: str
    network: str
    container_id: str
    ifname: str                 # inside the container: eth0, eth1, ...
    host_ifname: str            # host side of the veth
    ip: str
    prefixlen: int
    gateway: str | None         # None on an internal network (no route out)
    mac: str
    ip6: str | None = None
    prefixlen6: int | None = None
    gateway6: str | None = None
    aliases: tuple[str, ...] = ()
    priority: int = 0

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["aliases"] = list(self.aliases)
        return d


def _ep_from_state(net: dict[str, Any], cid: str, ep: dict[str, Any]) -> Endpoint:
    sub4 = next((s for s in net["subnets"] if ip_network(s["subnet"]).version == 4), None)
    sub6 = next((s for s in net["subnets"] if ip_network(s["subnet"]).version == 6), None)
    return Endpoint(
        network_id=net["id"], network=net["name"], container_id=cid, ifname=ep["ifname"],
        host_ifname=ep["host_ifname"], ip=ep["ip"],
        prefixlen=ip_network(sub4["subnet"]).prefixlen if sub4 else 0,
        gateway=None if net["internal"] or not sub4 else sub4["gateway"], mac=ep["mac"],
        ip6=ep.get("ip6"),
        prefixlen6=ip_network(sub6["subnet"]).prefixlen if sub6 else None,
        gateway6=None if net["internal"] or not sub6 else sub6["gateway"],
        aliases=tuple(ep.get("aliases", ())), priority=ep.get("priority", 0))


class Networks:
    """Bridge networks, endpoints, published ports and DNS, persisted under
    ``<root>/networks``.  Every method takes the networks lock for its duration."""

    def __init__(self, paths: StatePaths, *, pools: tuple[tuple[str, int], ...] | None = None
                 ) -> None:
        self.paths = paths
        self.store = Store(paths)
        self.pools = pools or ipam.pools_from_env()
        self._nl: Any = None
        self._nl_lock = threading.Lock()

    # -- helpers -----------------------------------------------------------------
    @property
    def netlink(self) -> Any:
        """One pyroute2 handle per instance (it keeps a socket per calling thread, so an
        instance may be shared by worker threads; the state lock serialises changes)."""
        with self._nl_lock:
            if self._nl is None:
                from runtime.network.netlink import Netlink

                self._nl = Netlink()
            return self._nl

    def close(self) -> None:
        if self._nl is not None:
            self._nl.close()
            self._nl = None

    def _find(self, ref: str) -> dict[str, Any]:
        nets = self.store.networks()
        for n in nets:
            if n["name"] == ref or n["id"] == ref:
                return n
        matches = [n for n in nets if len(ref) >= 3 and n["id"].startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        raise NotFoundError(f"network {ref} not found",
                            hint="list networks with: pycompose network ls")

    def _backend(self) -> str:
        host = self.store.host()
        return host.get("backend") or nat.detect()

    @property
    def tag(self) -> str:
        """Distinguishes this state root's NAT rules from other roots' on the host."""
        if self.paths.root == StatePaths.resolve(DEFAULT_ROOT).root:
            return ""
        return hashlib.sha256(str(self.paths.root).encode()).hexdigest()[:8]

    def _ruleset(self) -> nat.Ruleset:
        rs = nat.Ruleset(tag=self.tag)
        by_id = {}
        for n in self.store.networks():
            by_id[n["id"]] = n
            rs.networks.append(nat.NatNetwork(n["bridge"], tuple(s["subnet"] for s in
                                                                   n["subnets"]), n["internal"]))
        for _cid, pdata in sorted(self.store.all_ports().items()):
            net = by_id.get(pdata["network_id"])
            if net is None:
                continue
            for b in pdata["bindings"]:
                rs.bindings.append(nat.NatBinding(net["bridge"], b["protocol"], b["host_ip"],
                                                  b["host_port"], b["container_ip"],
                                                  b["container_port"]))
        return rs

    def _sync_host(self) -> None:
        """Host-wide state follows our networks: rules re-applied in one batch; the
        first network turns forwarding on, the last one restores what was there."""
        nets = self.store.networks()
        host = self.store.host()
        backend = host.get("backend") or nat.detect()
        if nets:
            saved = dict(host.get("sysctl", {}))
            if backend != "proxy":
                from runtime.network.netlink import write_sysctl

                wanted = {"net/ipv4/ip_forward": "1"}
                if any(n.get("enable_ipv6") for n in nets):
                    wanted["net/ipv6/conf/all/forwarding"] = "1"
                for key, val in wanted.items():
                    old = write_sysctl(key, val)
                    if old is not None and key not in saved:
                        saved[key] = old
            new_host = {"backend": backend, "sysctl": saved,
                        "ip_tables_before": host.get("ip_tables_before")}
            if backend == "iptables" and not host:
                new_host["ip_tables_before"] = nat.ip_tables_present()
            self.store.save_host(new_host)
            nat.apply(backend, self._ruleset())
        else:
            nat.apply(backend, nat.Ruleset(tag=self.tag))
            if backend == "iptables":
                nat.drop_tables_we_created(host.get("ip_tables_before"))
            from runtime.network.netlink import write_sysctl

            # Forwarding goes back to what it was only when no pycompose bridge of any
            # state root remains (they share the host's sysctls).
            others = [n for n in self.netlink.link_names()
                      if n and n.startswith(nat.BRIDGE_PREFIX)]
            for key, val in ({} if others else host.get("sysctl", {})).items():
                with contextlib.suppress(OSError):
                    write_sysctl(key, val)
            self.store.save_host(None)

    # -- networks ----------------------------------------------------------------
    def create(self, name: str, driver: str = "bridge", subnet: str | None = None,
               gateway: str | None = None, ip_range: str | None = None,
               internal: bool = False, enable_ipv6: bool = False,
               subnet6: str | None = None, gateway6: str | None = None,
               labels: dict[str, str] | None = None,
               options: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a bridge network; returns its ``inspect`` document."""
        if driver != "bridge":
            raise InvalidInputError(f"network driver {driver!r} is not supported",
                                    hint="pycompose supports the 'bridge' driver")
        if not name or name in RESERVED_NAMES or "/" in name:
            raise InvalidInputError(f"invalid network name {name!r}")
        options = dict(options or {})
        mtu = int(options.get("mtu") or options.get("com.docker.network.driver.mtu")
                  or DEFAULT_MTU)
        with self.store.locked(), host_lock():
            nets = self.store.networks()
            if any(n["name"] == name for n in nets):
                raise ConflictError(f"network with name {name} already exists",
                                    hint=f"remove it first: pycompose network rm {name}")
            ours = [s["subnet"] for n in nets for s in n["subnets"]]
            from runtime.network.netlink import host_routes

            host = [r for r in host_routes() if not self._is_our_route(r, nets)]
            net_id = secrets.token_hex(32)
            subnets = []
            v4_text, v6_text = subnet, subnet6
            if subnet and ip_network(subnet, strict=False).version == 6:
                v4_text, v6_text = None, subnet
                enable_ipv6 = True
                gateway6, gateway = gateway6 or gateway, None
            if v4_text:
                net4 = ipam.parse_subnet(v4_text)
                ipam.check_subnet(net4, host, ours)
            else:
                net4 = ipam.allocate_subnet(host + ours, self.pools)
            gw4 = ipam.check_in_subnet(gateway, net4, "gateway") if gateway else \
                ipam.default_gateway(net4)
            entry: dict[str, Any] = {"subnet": str(net4), "gateway": gw4}
            if ip_range:
                rng = ipam.parse_subnet(ip_range)
                if not rng.subnet_of(net4):  # type: ignore[arg-type]
                    raise ipam.BadAddress(f"ip range {rng} is not inside subnet {net4}")
                entry["ip_range"] = str(rng)
            subnets.append(entry)
            if enable_ipv6:
                net6 = ipam.parse_subnet(v6_text) if v6_text else \
                    ipam.allocate_subnet6(net_id, host + ours)
                if v6_text:
                    ipam.check_subnet(net6, host, ours)
                gw6 = ipam.check_in_subnet(gateway6, net6, "gateway") if gateway6 else \
                    ipam.default_gateway(net6)
                subnets.append({"subnet": str(net6), "gateway": gw6})
            net = {
                "id": net_id, "name": name, "driver": "bridge",
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "bridge": bridge_name(net_id), "subnets": subnets, "internal": internal,
                "enable_ipv6": enable_ipv6, "labels": dict(labels or {}), "options": options,
                "mtu": mtu, "endpoints": {}, "last_ip": {}, "dns": None,
            }
            self.store.save_network(net)
            try:
                self._make_bridge(net)
                self._sync_host()
            except BaseException:
                self._destroy(net)
                raise
            return self._inspect(net)

    @staticmethod
    def _is_our_route(route: str, nets: list[dict[str, Any]]) -> bool:
        try:
            r = ip_network(route, strict=False)
        except ValueError:
            return False
        return any(ip_network(s["subnet"]) == r or
                   (r.prefixlen == r.max_prefixlen and r.network_address in
                    ip_network(s["subnet"]))
                   for n in nets for s in n["subnets"])

    def _make_bridge(self, net: dict[str, Any]) -> None:
        addrs = [f"{s['gateway']}/{ip_network(s['subnet']).prefixlen}" for s in net["subnets"]]
        mac = "02:" + ":".join(net["id"][i:i + 2] for i in range(0, 10, 2))
        self.netlink.ensure_bridge(net["bridge"], addrs, net["mtu"], mac)
        if self._backend() != "proxy":
            from runtime.network.netlink import write_sysctl

            # 127.0.0.1:PORT -> container needs loopback-sourced packets routed out here.
            write_sysctl(f"net/ipv4/conf/{net['bridge']}/route_localnet", "1")

    def _destroy(self, net: dict[str, Any]) -> None:
        """Remove a network's host objects and state (endpoints must be gone)."""
        supervise.stop(net.get("dns"))
        self._stop_stray_dns(net)
        self.netlink.delete_link(net["bridge"])
        self.store.delete_network(net["id"])
        self._sync_host()

    def remove(self, ref: str, force: bool = False) -> None:
        with self.store.locked():
            net = self._find(ref)
            if net["endpoints"] and not force:
                names = ", ".join(ep.get("names", [c])[0] if ep.get("names") else c[:12]
                                  for c, ep in net["endpoints"].items())
                raise ConflictError(f"network {net['name']} has active endpoints ({names})",
                                    hint="stop or disconnect those containers first")
            for cid in list(net["endpoints"]):
                self._disconnect_locked(net, cid)
            self._destroy(net)

    def inspect(self, ref: str) -> dict[str, Any]:
        return self._inspect(self._find(ref))

    def list(self) -> list[dict[str, Any]]:
        return [self._inspect(n) for n in self.store.networks()]

    def exists(self, ref: str) -> bool:
        try:
            self._find(ref)
        except NotFoundError:
            return False
        return True

    def prune(self, labels: dict[str, str | None] | None = None) -> list[str]:
        """Remove networks without endpoints (matching all ``labels``; value None: the
        label only has to exist).  Returns the names removed."""
        removed = []
        with self.store.locked():
            for net in self.store.networks():
                if net["endpoints"]:
                    continue
                if labels and not all(k in net["labels"] and (v is None or
                                                              net["labels"][k] == v)
                                      for k, v in labels.items()):
                    continue
                self._destroy(net)
                removed.append(net["name"])
        return removed

    def _inspect(self, net: dict[str, Any]) -> dict[str, Any]:
        containers = {}
        for cid, ep in net["endpoints"].items():
            e = _ep_from_state(net, cid, ep)
            containers[cid] = {
                "Name": (ep.get("names") or [cid[:12]])[0], "EndpointID": e.host_ifname,
                "MacAddress": e.mac, "IPv4Address": f"{e.ip}/{e.prefixlen}",
                "IPv6Address": f"{e.ip6}/{e.prefixlen6}" if e.ip6 else "",
                "Aliases": list(e.aliases), "Interface": e.ifname,
            }
        return {
            "Name": net["name"], "Id": net["id"], "Created": net["created"],
            "Scope": "local", "Driver": net["driver"], "EnableIPv6": net["enable_ipv6"],
            "IPAM": {"Driver": "default", "Options": {}, "Config": [
                {"Subnet": s["subnet"], "Gateway": s["gateway"],
                 **({"IPRange": s["ip_range"]} if s.get("ip_range") else {})}
                for s in net["subnets"]]},
            "Internal": net["internal"], "Attachable": True, "Ingress": False,
            "Containers": containers, "Options": net["options"], "Labels": net["labels"],
            "Bridge": net["bridge"], "MTU": net["mtu"],
            "DNS": {"Running": supervise.alive(net.get("dns")),
                    "Address": net["subnets"][0]["gateway"]},
        }

    # -- endpoints ---------------------------------------------------------------
    def connect(self, network: str, container_id: str, netns_path: str, *,
                name: str | None = None, hostname: str | None = None,
                aliases: tuple[str, ...] | list[str] = (), ipv4_address: str | None = None,
                ipv6_address: str | None = None, mac: str | None = None, priority: int = 0,
                ports: list[PortSpec] | None = None) -> Endpoint:
        """Attach the netns at ``netns_path`` to ``network``.  ``name``/``hostname``/
        ``aliases`` become DNS names (compose passes the service name as an alias).
        ``ports`` (optional) are published on this endpoint."""
        with self.store.locked():
            net = self._find(network)
            ep, plumb = self._connect_locked(net, container_id, netns_path, name, hostname,
                                             tuple(aliases), ipv4_address, ipv6_address,
                                             mac, priority)
        if plumb is not None:
            # The veth is made outside the state lock: creating it waits on the kernel
            # (~20-40 ms here) and concurrent starts (``up``) queued behind each other.
            # The lease is on disk first; on failure it is released as before.
            try:
                plumb()
            except BaseException:
                with contextlib.suppress(Exception), self.store.locked():
                    self._disconnect_locked(self._find(network), container_id)
                raise
        if ports:
            self.publish(container_id, ports, network=net["id"])
        return ep

    def _container_endpoints(self, container_id: str) -> list[tuple[dict[str, Any],
                                                                    dict[str, Any]]]:
        return [(n, n["endpoints"][container_id]) for n in self.store.networks()
                if container_id in n["endpoints"]]

    def _reconcile(self, net: dict[str, Any]) -> None:
        """Make the host match the state again after a reboot or a crash: endpoints
        whose netns handle is gone are dropped (lease, ports, DNS names), and a missing
        bridge is re-created with its rules."""
        from runtime.network import netns

        stale = [c for c, ep in net["endpoints"].items() if not netns.is_handle(ep["netns"])]
        for cid in stale:
            self._disconnect_locked(net, cid)
        if self.netlink.index(net["bridge"]) is None:
            self._make_bridge(net)
            self._sync_host()

    def _connect_locked(self, net: dict[str, Any], cid: str, netns_path: str,
                        name: str | None, hostname: str | None, aliases: tuple[str, ...],
                        ipv4: str | None, ipv6: str | None, mac: str | None,
                        priority: int) -> tuple[Endpoint, Any]:
        """Lease and record the endpoint (and its DNS names); returns it with the
        function that makes its veth (None when it already exists), which the caller
        runs after releasing the state lock."""
        self._reconcile(net)
        existing = net["endpoints"].get(cid)
        if existing is not None:
            if existing["netns"] == str(netns_path):
                return _ep_from_state(net, cid, existing), None
            raise ConflictError(f"container {cid[:12]} is already connected to network "
                                f"{net['name']}")
        others = self._container_endpoints(cid)
        used_if = {ep["ifname"] for _, ep in others}
        ifname = next(f"eth{i}" for i in range(64) if f"eth{i}" not in used_if)
        sub4 = next(s for s in net["subnets"] if ip_network(s["subnet"]).version == 4)
        sub6 = next((s for s in net["subnets"] if ip_network(s["subnet"]).version == 6), None)
        leased4 = [ep["ip"] for ep in net["endpoints"].values()]
        n4 = ip_network(sub4["subnet"])
        if ipv4:
            ip4 = ipam.check_in_subnet(ipv4, n4, "ipv4_address")
            if ip4 in leased4 or ip4 == sub4["gateway"]:
                raise ConflictError(f"address {ip4} is already in use on {net['name']}",
                                    hint="choose another ipv4_address")
        else:
            rng = ip_network(sub4["ip_range"]) if sub4.get("ip_range") else None
            ip4 = ipam.allocate_ip(n4, rng, sub4["gateway"], leased4, net["last_ip"].get("4"))
            net["last_ip"]["4"] = ip4
        ip6 = None
        if sub6 is not None:
            n6 = ip_network(sub6["subnet"])
            leased6 = [ep["ip6"] for ep in net["endpoints"].values() if ep.get("ip6")]
            if ipv6:
                ip6 = ipam.check_in_subnet(ipv6, n6, "ipv6_address")
                if ip6 in leased6:
                    raise ConflictError(f"address {ip6} is already in use on {net['name']}")
            else:
                ip6 = ipam.allocate_ip(n6, None, sub6["gateway"], leased6,
                                       net["last_ip"].get("6"))
                net["last_ip"]["6"] = ip6
        if mac:
            try:
                mac = ":".join(f"{int(x, 16):02x}" for x in mac.split(":"))
                assert len(mac) == 17
            except (ValueError, AssertionError):
                raise InvalidInputError(f"invalid MAC address {mac!r}") from None
        names = list(dict.fromkeys(x for x in (name, hostname, *aliases) if x))
        ep = {"ifname": ifname, "host_ifname": veth_name(net["id"], cid), "netns":
              str(netns_path), "ip": ip4, "ip6": ip6, "mac": mac or ipam.mac_for_ip(ip4),
              "aliases": list(aliases), "names": names, "priority": priority,
              "default4": False, "default6": False}
        net["endpoints"][cid] = ep
        gw4, gw6 = self._claim_default_routes(net, ep, others)
        self.store.save_network(net)  # the lease is on disk before the veth exists
        try:
            self._dns_update(net)
        except BaseException:
            with contextlib.suppress(Exception):
                self._disconnect_locked(net, cid)
            raise
        plumb_net = {"subnets": net["subnets"], "bridge": net["bridge"], "mtu": net["mtu"]}
        return (_ep_from_state(net, cid, ep),
                lambda: self._plumb(plumb_net, dict(ep), gw4, gw6))

    def _claim_default_routes(self, net: dict[str, Any], ep: dict[str, Any],
                              others: list[tuple[dict[str, Any], dict[str, Any]]]
                              ) -> tuple[str | None, str | None]:
        """Which default routes (v4, v6) the new endpoint takes: those the container has
        not got yet, or holds on a network of lower priority (``gw_priority``)."""
        gws: list[str | None] = [None, None]
        if net["internal"]:
            return None, None
        for i, fam in enumerate(("4", "6")):
            if fam == "6" and not ep["ip6"]:
                continue
            holder = [(n, e) for n, e in others if e.get(f"default{fam}")]
            if not holder or holder[0][1]["priority"] < ep["priority"]:
                gws[i] = net["subnets"][0 if fam == "4" else -1]["gateway"]
                ep[f"default{fam}"] = True
                for n, e in holder:
                    e[f"default{fam}"] = False
                    self.store.save_network(n)
        return gws[0], gws[1]

    def _plumb(self, net: dict[str, Any], ep: dict[str, Any], gw4: str | None,
               gw6: str | None) -> None:
        from runtime.network.netlink import EndpointConfig

        addrs = [f"{ep['ip']}/{ip_network(net['subnets'][0]['subnet']).prefixlen}"]
        if ep["ip6"]:
            addrs.append(f"{ep['ip6']}/{ip_network(net['subnets'][-1]['subnet']).prefixlen}")
        self.netlink.add_endpoint(EndpointConfig(
            bridge=net["bridge"], host_ifname=ep["host_ifname"], netns_path=ep["netns"],
            ifname=ep["ifname"], mac=ep["mac"], mtu=net["mtu"], addresses=tuple(addrs),
            gateway4=gw4, gateway6=gw6))

    def disconnect(self, network: str, container_id: str, force: bool = False) -> None:
        with self.store.locked():
            net = self._find(network)
            if container_id not in net["endpoints"]:
                if force:
                    return
                raise NotFoundError(f"container {container_id[:12]} is not connected to "
                                    f"network {net['name']}")
            self._disconnect_locked(net, container_id)

    def _disconnect_locked(self, net: dict[str, Any], cid: str) -> None:
        ep = net["endpoints"].get(cid)
        if ep is None:
            return
        self.netlink.delete_link(ep["host_ifname"])
        del net["endpoints"][cid]
        self.store.save_network(net)
        pdata = self.store.ports(cid)
        if pdata and pdata["network_id"] == net["id"]:
            self._unpublish_locked(cid)
        # hand the default route to the best remaining network of this container
        for fam in ("4", "6"):
            if not ep.get(f"default{fam}"):
                continue
            cands = [(n, e) for n, e in self._container_endpoints(cid)
                     if not n["internal"] and (fam == "4" or e.get("ip6"))]
            if cands and os.path.exists(ep["netns"]):
                n, e = max(cands, key=lambda c: c[1]["priority"])
                gw = n["subnets"][0 if fam == "4" else -1]["gateway"]
                with contextlib.suppress(Exception):
                    self.netlink.set_default_route(ep["netns"], gw, ipv6=fam == "6")
                e[f"default{fam}"] = True
                self.store.save_network(n)
        self._dns_update(net)

    def set_active(self, container_id: str, active: bool) -> None:
        """A stopped container keeps its endpoints (lease, veth, ports: a restart
        reuses them) but its names leave DNS, as Docker's do; ``True`` brings them back.

        Nothing to change (every fresh start) is answered without the state lock: only
        this container's own start/stop writes its flag, and files are replaced
        atomically, so the unlocked read cannot miss a change that matters."""
        if not any(n["endpoints"][container_id].get("active", True) != active
                   for n, _ in self._container_endpoints(container_id)):
            return
        with self.store.locked():
            for net in self.store.networks():
                ep = net["endpoints"].get(container_id)
                if ep is not None and ep.get("active", True) != active:
                    ep["active"] = active
                    self.store.save_network(net)
                    self._dns_update(net)

    def endpoints(self, container_id: str) -> list[Endpoint]:
        """The container's endpoints, highest priority first (then connect order)."""
        eps = [_ep_from_state(n, container_id, e)
               for n, e in self._container_endpoints(container_id)]
        return sorted(eps, key=lambda e: (-e.priority, e.ifname))

    def cleanup_container(self, container_id: str) -> None:
        """Remove everything the container had (veths, leases, ports and their NAT
        rules or proxies, DNS names), from state alone; safe to call twice.

        The veths go first, before the state lock: deleting one waits for the kernel
        (an RCU grace period, ~20-40 ms here), and under the lock the removals of a
        ``down`` queued behind each other (20 veths: ~450 ms serial, ~100 ms when the
        waits overlap).  The order is as before (link, then state); nothing else
        touches a container's endpoints while it is being removed."""
        for _net, ep in self._container_endpoints(container_id):
            self.netlink.delete_link(ep["host_ifname"])
        with self.store.locked():
            for net in self.store.networks():
                if container_id in net["endpoints"]:
                    self._disconnect_locked(net, container_id)
            self._unpublish_locked(container_id)

    # -- DNS ---------------------------------------------------------------------
    def _stop_stray_dns(self, net: dict[str, Any]) -> None:
        """A DNS server of this network that no state records (its starter was killed
        before saving the pid)."""
        supervise.stop_strays("runtime.network.dns", [str(self.store.dir), net["id"]])

    def _dns_update(self, net: dict[str, Any]) -> None:
        """Start the network's DNS server with its first endpoint, stop it with the
        last, otherwise tell it to reload (SIGHUP once it reported ready)."""
        run = self.paths.run_dir / "networks" / net["id"]
        ready = run / "dns.ready"
        if not net["endpoints"]:
            supervise.stop(net.get("dns"))
            self._stop_stray_dns(net)
            net["dns"] = None
            self.store.save_network(net)
            with contextlib.suppress(FileNotFoundError):
                ready.unlink()
            return
        if supervise.alive(net.get("dns")):
            if ready.exists():
                supervise.signal_if_alive(net["dns"], signal.SIGHUP)
            return
        with contextlib.suppress(FileNotFoundError):
            ready.unlink()
        self._stop_stray_dns(net)  # its port would make the bind below fail
        gw = net["subnets"][0]["gateway"]
        socks = []
        try:
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(udp)
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(tcp)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            udp.bind((gw, 53))
            tcp.bind((gw, 53))
            tcp.listen(64)
            net["dns"] = supervise.spawn(
                "runtime.network.dns",
                [str(self.store.dir), net["id"], str(ready), str(udp.fileno()),
                 str(tcp.fileno())], [udp.fileno(), tcp.fileno()], run / "dns.log")
        except OSError as exc:
            raise RuntimeFailure(f"cannot start the DNS server of network {net['name']} on "
                                 f"{gw}:53: {exc.strerror}",
                                 hint="is another DNS server bound to all addresses on "
                                      "port 53?") from exc
        finally:
            for s in socks:
                s.close()
        self.store.save_network(net)

    def resolv_conf(self, container_id: str, dns_servers: tuple[str, ...] = (),
                    dns_search: tuple[str, ...] = (), dns_options: tuple[str, ...] = ()
                    ) -> str:
        """``/etc/resolv.conf`` for the container: its network's DNS server (the
        gateway of its highest-priority network), or the given ``dns`` servers; host
        search domains unless ``dns_search``.  A container on no network of ours gets
        the host's resolvers (minus loopback ones, unreachable from its netns)."""
        eps = self.endpoints(container_id)
        if dns_servers:
            ns = list(dns_servers)
        elif eps:
            net = self._find(eps[0].network_id)
            ns = [net["subnets"][0]["gateway"]]
        else:
            ns = [s for s in dns.host_nameservers() if not ip_address(s).is_loopback]
        return dns.resolv_conf(ns, list(dns_search) or dns.host_search(), list(dns_options))

    def host_gateway(self, container_id: str) -> str | None:
        """The address ``host-gateway`` in ``extra_hosts`` maps to for this container."""
        eps = self.endpoints(container_id)
        if not eps:
            return None
        return self._find(eps[0].network_id)["subnets"][0]["gateway"]

    # -- published ports ---------------------------------------------------------
    def publish(self, container_id: str, specs: list[PortSpec], network: str | None = None
                ) -> list[Binding]:
        """Publish ``specs`` to the container's address on ``network`` (default: its
        highest-priority network).  All-or-nothing: a busy port raises ConflictError
        naming it and nothing is changed."""
        with self.store.locked():
            eps = self.endpoints(container_id)
            if network is not None:
                net_id = self._find(network)["id"]
                eps = [e for e in eps if e.network_id == net_id]
            if not eps:
                raise NotFoundError(f"container {container_id[:12]} has no network endpoint "
                                    "to publish ports on",
                                    hint="ports need a bridge network (not network_mode "
                                         "host/none)")
            ep = eps[0]
            current = self.store.ports(container_id)
            if current and current["network_id"] != ep.network_id:
                raise ConflictError("ports of a container are published on one network")
            backend = self._backend()
            taken = {(b["protocol"], b["host_port"]): b["host_ip"]
                     for p in self.store.all_ports().values() for b in p["bindings"]}
            bindings, held = hostports.reserve(specs, ep.ip, ep.ip6, taken,
                                               keep=backend == "proxy")
            old = [Binding.from_json(b) for b in (current or {}).get("bindings", [])]
            data = {"network_id": ep.network_id,
                    "bindings": [b.to_json() for b in old + bindings],
                    "proxy": (current or {}).get("proxy")}
            self.store.save_ports(container_id, data)
            try:
                if backend == "proxy":
                    supervise.stop(data["proxy"])
                    data["proxy"] = self._start_proxy(container_id, old, bindings, held)
                    self.store.save_ports(container_id, data)
                else:
                    nat.apply(backend, self._ruleset())
            except BaseException:
                self.store.save_ports(container_id, current)
                with contextlib.suppress(Exception):
                    if backend != "proxy":
                        nat.apply(backend, self._ruleset())
                raise
            finally:
                for s in held:
                    s.close()
            return bindings

    def _start_proxy(self, cid: str, old: list[Binding], new: list[Binding],
                     held: list[socket.socket]) -> dict[str, Any] | None:
        # Old bindings get fresh sockets (their proxy was stopped above).
        socks = list(held)
        pairs = list(zip(new, held, strict=False))
        for b in old:
            s = hostports.bind(b.protocol, b.host_ip, b.host_port)
            socks.append(s)
            pairs.append((b, s))
        held[:] = socks
        args = [f"{b.protocol}:{s.fileno()}:{b.container_ip}:{b.container_port}"
                for b, s in pairs]
        return supervise.spawn("runtime.network.proxy", args, [s.fileno() for s in socks],
                               self.paths.run_dir / "networks" / f"proxy-{cid}.log")

    def unpublish(self, container_id: str) -> None:
        with self.store.locked():
            self._unpublish_locked(container_id)

    def _unpublish_locked(self, container_id: str) -> None:
        data = self.store.ports(container_id)
        if data is None:
            return
        supervise.stop(data.get("proxy"))
        self.store.save_ports(container_id, None)
        backend = self._backend()
        if backend != "proxy" and self.store.networks():
            nat.apply(backend, self._ruleset())

    def port(self, container_id: str, private_port: int | None = None,
             protocol: str | None = None) -> list[Binding]:
        """``pycompose port``: the container's bindings, optionally one port/proto."""
        data = self.store.ports(container_id) or {"bindings": []}
        return [b for b in map(Binding.from_json, data["bindings"])
                if (private_port is None or b.container_port == private_port) and
                (protocol is None or b.protocol == protocol)]
