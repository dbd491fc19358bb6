"""Bridge networks on the real kernel: reachability, DNS, isolation, NAT, ports, cleanup.

"Containers" are network-namespace handles made by ``runtime.network.netns`` (what the
runtime gives each bridge-mode container); processes run inside them via ``nsenter``.
Test traffic goes only to loopback and to namespaces these tests create (the "outside"
host of the NAT tests is one more namespace, routed through a veth the test makes).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runtime.errors import ConflictError, NotFoundError
from runtime.network import nat, netns, supervise
from runtime.network.api import Networks
from runtime.network.ports import parse_short
from tests.conftest import needs_root

pytestmark = [pytest.mark.integration, needs_root]

SERVER = textwrap.dedent("""
    import socket, sys
    proto, port, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
    kind = socket.SOCK_STREAM if proto.startswith("tcp") else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET6 if "6" in proto else socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if "6" in proto else "0.0.0.0", port))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    print("ready", flush=True)
    while True:
        if kind == socket.SOCK_STREAM:
            c, addr = s.accept()
            c.sendall(reply + b" " + addr[0].encode())
            c.close()
        else:
            data, addr = s.recvfrom(2048)
            s.sendto(reply + b" " + addr[0].encode(), addr)
""")

CLIENT = textwrap.dedent("""
    import socket, sys
    proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        if proto == "tcp":
            with socket.create_connection((host, port), timeout=2) as s:
                print(s.recv(200).decode())
        else:
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            with socket.socket(fam, socket.SOCK_DGRAM) as s:
                s.settimeout(2)
                s.sendto(b"ping", (host, port))
                print(s.recv(200).decode())
    except OSError as exc:
        print("ERROR", exc)
        sys.exit(1)
""")


def in_ns(path, *argv: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["nsenter", f"--net={path}", *argv], capture_output=True,
                          text=True, timeout=30, input=input)


def lookup(path, name: str, server: str) -> list[str]:
    """A records for ``name`` asked to ``server`` from inside the namespace.  A timeout
    (busy CI host) is retried; an answer, NXDOMAIN included, is final."""
    for _ in range(3):
        res = in_ns(path, "busybox", "nslookup", "-type=a", name, server)
        if "timed out" not in res.stdout + res.stderr:
            break
    out, seen_name = [], False
    for line in res.stdout.splitlines():
        if line.startswith("Name:"):
            seen_name = True
        elif seen_name and line.startswith("Address"):
            out.append(line.split()[-1])
    return sorted(out)


def client(path, proto: str, host: str, port: int) -> str:
    if path is None:
        res = subprocess.run([sys.executable, "-c", CLIENT, proto, host, str(port)],
                             capture_output=True, text=True, timeout=30)
    else:
        res = in_ns(path, sys.executable, "-c", CLIENT, proto, host, str(port))
    return res.stdout.strip()


class Env:
    """Networks + containers (netns handles) + servers, all removed at the end."""

    def __init__(self, state_paths) -> None:
        self.paths = state_paths
        self.nets = Networks(state_paths)
        self.handles: list[Path] = []
        self.procs: list[subprocess.Popen[str]] = []
        self.links: list[str] = []
        self.extra_ns: list[Path] = []

    def container(self, cid: str) -> Path:
        path = netns.handle_path(self.paths.run_dir, cid)
        netns.create(path)
        self.handles.append(path)
        return path

    def serve(self, path, proto: str, port: int, reply: str) -> None:
        argv = [sys.executable, "-c", SERVER, proto, str(port), reply]
        if path is not None:
            argv = ["nsenter", f"--net={path}", *argv]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"

    def outside_host(self) -> tuple[Path, str]:
        """A namespace reachable from the host over a /30 veth: 10.253.x.1 (host) and
        10.253.x.2 (outside); it has no route back to any container subnet."""
        path = self.paths.run_dir / "netns" / "outside"
        netns.create(path)
        self.extra_ns.append(path)
        n = os.getpid() % 200 + 20
        host_if, peer_if = f"pct{os.getpid() % 100000}a", "out0"
        self.links.append(host_if)
        subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name",
                        peer_if, "netns", str(path)], check=True)
        subprocess.run(["ip", "addr", "add", f"10.253.{n}.1/30", "dev", host_if], check=True)
        subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
        in_ns(path, "ip", "addr", "add", f"10.253.{n}.2/30", "dev", peer_if)
        in_ns(path, "ip", "link", "set", peer_if, "up")
        return path, f"10.253.{n}.2"

    def close(self) -> None:
        for p in self.procs:
            p.kill()
            p.wait()
        for cid in [h.name for h in self.handles]:
            self.nets.cleanup_container(cid)
        for net in self.nets.list():
            self.nets.remove(net["Id"], force=True)
        for h in self.handles + self.extra_ns:
            netns.delete(h)
        for link in self.links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        self.nets.close()


@pytest.fixture
def env(state_paths, request, monkeypatch):
    backend = getattr(request, "param", None)
    if backend:
        tool = {"nft": "nft", "iptables": "iptables-restore"}.get(backend)
        if tool and not shutil.which(tool):
            pytest.skip(f"{tool} not installed")
        monkeypatch.setenv("PYCOMPOSE_NAT", backend)
    e = Env(state_paths)
    try:
        yield e
    finally:
        e.close()


def host_links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def test_containers_reach_each_other_by_ip_and_by_name(env):
    net = env.nets.create("app")
    gw = net["IPAM"]["Config"][0]["Gateway"]
    c1, c2 = env.container("c1"), env.container("c2")
    env.nets.connect("app", "c1", str(c1), name="proj-web-1", aliases=["web"])
    ep2 = env.nets.connect("app", "c2", str(c2), name="proj-db-1", hostname="dbhost",
                           aliases=["db"])
    env.serve(c2, "tcp", 7000, "hello-db")
    # by IP
    assert client(c1, "tcp", ep2.ip, 7000).startswith("hello-db")
    # by service alias, container name and hostname via our DNS server
    for name in ("db", "proj-db-1", "dbhost", "DB"):
        assert lookup(c1, name, gw) == [ep2.ip], name
    # through the container's resolv.conf (the API's text), as an app would resolve
    conf = env.paths.run_dir / "c1.resolv.conf"
    conf.write_text(env.nets.resolv_conf("c1"))
    assert f"nameserver {gw}" in conf.read_text()
    res = in_ns(c1, "unshare", "-m", "sh", "-c",
                f"mount --bind {conf} /etc/resolv.conf && "
                f"{sys.executable} -c '{CLIENT}' tcp db 7000")
    assert res.stdout.startswith("hello-db"), res
    # unknown single-label names are NXDOMAIN without leaving the host
    assert lookup(c1, "nosuchservice", gw) == []


def test_scaled_service_resolves_to_all_replicas_and_follows_removal(env):
    net = env.nets.create("scale")
    gw = net["IPAM"]["Config"][0]["Gateway"]
    client_ns = env.container("client")
    env.nets.connect("scale", "client", str(client_ns), name="client")
    ips = []
    for i in (1, 2, 3):
        path = env.container(f"web{i}")
        ips.append(env.nets.connect("scale", f"web{i}", str(path), name=f"p-web-{i}",
                                    aliases=["web", "frontend"]).ip)
    assert lookup(client_ns, "web", gw) == sorted(ips)
    assert lookup(client_ns, "frontend", gw) == sorted(ips)
    env.nets.disconnect("scale", "web3")
    assert lookup(client_ns, "web", gw) == sorted(ips[:2])
    assert lookup(client_ns, "p-web-3", gw) == []
    env.nets.cleanup_container("web1")
    env.nets.cleanup_container("web2")
    assert lookup(client_ns, "web", gw) == []
    # the DNS server stops with the network's last endpoint
    dns_proc = env.nets.store.networks()[0]["dns"]
    env.nets.cleanup_container("client")
    assert not supervise.alive(dns_proc)


@pytest.mark.parametrize("env", ["nft", "iptables"], indirect=True)
def test_internal_network_has_no_route_out_and_outbound_nat_works(env):
    outside, outside_ip = env.outside_host()
    env.serve(outside, "tcp", 7100, "outside")
    env.nets.create("ext")
    env.nets.create("int", internal=True)
    ce, ci = env.container("ce"), env.container("ci")
    ep_e = env.nets.connect("ext", "ce", str(ce))
    ep_i = env.nets.connect("int", "ci", str(ci))
    assert ep_i.gateway is None
    assert "default" not in in_ns(ci, "ip", "route").stdout
    assert "default" in in_ns(ce, "ip", "route").stdout
    # outbound: masqueraded to the host's address on the outside link
    reply = client(ce, "tcp", outside_ip, 7100)
    assert reply.startswith("outside ") and reply.split()[-1] != ep_e.ip, reply
    assert client(ci, "tcp", outside_ip, 7100).startswith("ERROR")
    # even with a route added by hand, the host does not forward for it
    in_ns(ci, "ip", "route", "add", "default", "via",
          env.nets.inspect("int")["IPAM"]["Config"][0]["Gateway"])
    assert client(ci, "tcp", outside_ip, 7100).startswith("ERROR")


@pytest.mark.parametrize("env", ["nft", "iptables"], indirect=True)
def test_two_networks_cannot_reach_each_other(env):
    env.nets.create("proj1_default")
    env.nets.create("proj2_default")
    a, b = env.container("a"), env.container("b")
    ep_a = env.nets.connect("proj1_default", "a", str(a))
    ep_b = env.nets.connect("proj2_default", "b", str(b))
    assert ep_a.network_id != ep_b.network_id
    env.serve(b, "tcp", 7200, "b")
    env.serve(a, "tcp", 7200, "a")
    assert client(a, "tcp", ep_b.ip, 7200).startswith("ERROR")
    assert client(b, "tcp", ep_a.ip, 7200).startswith("ERROR")
    # B's names are not visible to A's DNS server either
    gw_a = env.nets.inspect("proj1_default")["IPAM"]["Config"][0]["Gateway"]
    assert lookup(a, "b", gw_a) == []


@pytest.mark.parametrize("env", ["nft", "iptables"], indirect=True)
def test_published_tcp_and_udp_answer_on_loopback_and_via_host(env):
    env.nets.create("pub")
    other = env.nets.create("other")
    c, peer = env.container("srv"), env.container("peer")
    ep = env.nets.connect("pub", "srv", str(c))
    env.nets.connect("other", "peer", str(peer))
    env.serve(c, "tcp", 8080, "tcp-ok")
    env.serve(c, "udp", 8081, "udp-ok")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        fixed = s.getsockname()[1]
    b_tcp = env.nets.publish("srv", parse_short(f"{fixed}:8080"))
    b_udp = env.nets.publish("srv", parse_short("8081/udp"))   # random host port
    b_rand = env.nets.publish("srv", parse_short("127.0.0.1::8080"))
    assert b_tcp[0].host_port == fixed and b_udp[0].host_port > 0
    assert client(None, "tcp", "127.0.0.1", fixed).startswith("tcp-ok")
    assert client(None, "udp", "127.0.0.1", b_udp[0].host_port).startswith("udp-ok")
    assert client(None, "tcp", "127.0.0.1", b_rand[0].host_port).startswith("tcp-ok")
    # from a container on another network, via its gateway (the host): hairpin + DNAT
    gw_other = other["IPAM"]["Config"][0]["Gateway"]
    assert client(peer, "tcp", gw_other, fixed).startswith("tcp-ok")
    # ... and from the container itself via the host
    assert client(c, "tcp", gw_other, fixed).startswith("tcp-ok")
    # port lookup API
    assert [b.host_port for b in env.nets.port("srv", 8080)] == sorted(
        [fixed, b_rand[0].host_port], key=[fixed, b_rand[0].host_port].index)
    assert env.nets.port("srv", 8081, "udp")[0].display().startswith("8081/udp -> 0.0.0.0:")
    assert ep.ip == b_tcp[0].container_ip
    env.nets.unpublish("srv")
    assert client(None, "tcp", "127.0.0.1", fixed).startswith("ERROR")


def test_busy_port_fails_cleanly_naming_it(env):
    env.nets.create("busy")
    c = env.container("c")
    env.nets.connect("busy", "c", str(c))
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    backend = env.nets._backend()
    before = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    try:
        with pytest.raises(ConflictError, match=f"host port 0.0.0.0:{busy}/tcp"):
            env.nets.publish("c", parse_short("8080") + parse_short(f"{busy}:80"))
    finally:
        holder.close()
    assert env.nets.port("c") == []
    if backend == "nft":
        after = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True)
        assert f"dport {busy}" not in after.stdout
        assert before.count("dnat") == after.stdout.count("dnat")


def test_static_address_mac_and_default_route_priority(env):
    env.nets.create("n1", subnet="10.251.0.0/24", gateway="10.251.0.254",
                    ip_range="10.251.0.128/25")
    env.nets.create("n2", subnet="10.252.0.0/24")
    c = env.container("c")
    ep1 = env.nets.connect("n1", "c", str(c))
    assert ep1.ip == "10.251.0.128" and ep1.gateway == "10.251.0.254"
    ep2 = env.nets.connect("n2", "c", str(c), ipv4_address="10.252.0.77",
                           mac="02:aa:bb:cc:dd:ee", priority=10)
    assert ep2.ifname == "eth1" and ep2.ip == "10.252.0.77"
    out = in_ns(c, "ip", "-o", "addr").stdout
    assert "eth1    inet 10.252.0.77/24" in out or "10.252.0.77/24" in out
    assert "02:aa:bb:cc:dd:ee" in in_ns(c, "ip", "link", "show", "eth1").stdout
    assert "default via 10.252.0.1 dev eth1" in in_ns(c, "ip", "route").stdout
    env.nets.disconnect("n2", "c")
    assert "default via 10.251.0.254 dev eth0" in in_ns(c, "ip", "route").stdout
    other = env.container("d")
    with pytest.raises(ConflictError, match="already in use"):
        env.nets.connect("n1", "d", str(other), ipv4_address="10.251.0.128")
    with pytest.raises(ConflictError, match="overlaps"):
        env.nets.create("n3", subnet="10.251.0.0/16")
    with pytest.raises(ConflictError, match="already exists"):
        env.nets.create("n1")
    with pytest.raises(ConflictError, match="active endpoints"):
        env.nets.remove("n1")
    with pytest.raises(NotFoundError):
        env.nets.remove("nope")


def test_ipv6_network(env):
    net = env.nets.create("v6", enable_ipv6=True)
    gw = net["IPAM"]["Config"][0]["Gateway"]
    a, b = env.container("a6"), env.container("b6")
    env.nets.connect("v6", "a6", str(a), name="a6")
    ep_b = env.nets.connect("v6", "b6", str(b), name="b6")
    assert ep_b.ip6 and ep_b.gateway6
    env.serve(b, "tcp6", 7300, "v6-ok")
    assert client(a, "tcp", ep_b.ip6, 7300).startswith("v6-ok")
    res = in_ns(a, "busybox", "nslookup", "-type=aaaa", "b6", gw)
    assert ep_b.ip6 in res.stdout


def test_removal_restores_the_host_exactly(state_paths):
    """Everything this test's networks created is gone afterwards.  (Compared by name:
    other tests may add and remove their own links meanwhile; the session-wide leak
    check covers the whole host.)"""
    fwd_before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    e = Env(state_paths)
    try:
        e.nets.create("gone1")
        e.nets.create("gone2", internal=True)
        c = e.container("c")
        e.nets.connect("gone1", "c", str(c), aliases=["x"])
        e.nets.connect("gone2", "c", str(c))
        e.nets.publish("c", parse_short("80") + parse_short("53/udp"))
        dns_procs = [n["dns"] for n in e.nets.store.networks()]
        assert all(supervise.alive(p) for p in dns_procs)
        backend = e.nets._backend()
        assert nat.rules_present(backend, e.nets.tag) or backend == "proxy"
        ours = {n["bridge"] for n in e.nets.store.networks()} | {
            ep["host_ifname"] for n in e.nets.store.networks()
            for ep in n["endpoints"].values()}
        assert len(ours) == 4 and ours <= host_links()
        mounts = Path("/proc/self/mountinfo").read_text()
        assert str(c) in mounts
    finally:
        e.close()
    assert not ours & host_links()
    assert str(c) not in Path("/proc/self/mountinfo").read_text()
    assert not any(supervise.alive(p) for p in dns_procs)
    assert not nat.rules_present(backend, e.nets.tag)
    assert not list(state_paths.networks.glob("*.json"))
    assert not any(h.exists() for h in e.handles)
    if not any(n.startswith("pc-") for n in host_links()):
        assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == fwd_before


def test_userland_proxy_fallback(state_paths, monkeypatch):
    monkeypatch.setenv("PYCOMPOSE_NAT", "proxy")
    e = Env(state_paths)
    try:
        e.nets.create("px")
        c = e.container("c")
        e.nets.connect("px", "c", str(c))
        e.serve(c, "tcp", 8080, "tcp-proxied")
        e.serve(c, "udp", 8081, "udp-proxied")
        bt = e.nets.publish("c", parse_short("8080"))
        bu = e.nets.publish("c", parse_short("8081/udp"))
        assert client(None, "tcp", "127.0.0.1", bt[0].host_port).startswith("tcp-proxied")
        assert client(None, "udp", "127.0.0.1", bu[0].host_port).startswith("udp-proxied")
        proxy = e.nets.store.ports("c")["proxy"]
        assert supervise.alive(proxy)
        assert not nat.rules_present("nft", e.nets.tag)
        # a busy port fails in the caller, before any proxy change
        with pytest.raises(ConflictError):
            e.nets.publish("c", parse_short(f"{bt[0].host_port}:9"))
        assert supervise.alive(proxy)
    finally:
        e.close()
    assert not supervise.alive(proxy)
    with contextlib.suppress(OSError), socket.create_connection(
            ("127.0.0.1", bt[0].host_port), timeout=1):
        pytest.fail("proxy still listening")


FAKE_UPSTREAM = textwrap.dedent("""
    import socket
    from dnslib import DNSRecord, RR, A, QTYPE
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    while True:
        data, addr = s.recvfrom(4096)
        q = DNSRecord.parse(data)
        r = q.reply()
        r.add_answer(RR(q.q.qname, QTYPE.A, rdata=A("198.51.100.7"), ttl=5))
        s.sendto(r.pack(), addr)
""")


def test_other_names_are_forwarded_to_upstream_from_the_host_netns(env):
    """Upstream on 127.0.0.1 (unreachable from a container's own netns) still works:
    the DNS server forwards from the host namespace."""
    up = subprocess.Popen([sys.executable, "-c", FAKE_UPSTREAM], stdout=subprocess.PIPE,
                          text=True)
    env.procs.append(up)
    assert up.stdout is not None
    port = int(up.stdout.readline())
    net = env.nets.create("fwd", options={"dns_upstreams": [f"127.0.0.1:{port}"]})
    gw = net["IPAM"]["Config"][0]["Gateway"]
    c = env.container("c")
    env.nets.connect("fwd", "c", str(c), name="local")
    assert lookup(c, "example.test", gw) == ["198.51.100.7"]
    assert lookup(c, "local", gw) != ["198.51.100.7"]
    # internal networks do not forward at all
    env.nets.create("fwd-int", internal=True,
                    options={"dns_upstreams": [f"127.0.0.1:{port}"]})
    ci = env.container("ci")
    env.nets.connect("fwd-int", "ci", str(ci))
    gw_i = env.nets.inspect("fwd-int")["IPAM"]["Config"][0]["Gateway"]
    assert lookup(ci, "example.test", gw_i) == []


def test_state_reconciled_after_reboot_like_loss(env):
    """Bridges, rules and netns handles vanish on reboot; state files survive.  The next
    connect drops dead endpoints and rebuilds the bridge and its rules."""
    env.nets.create("survivor")
    old = env.container("old")
    ep_old = env.nets.connect("survivor", "old", str(old), aliases=["gone"])
    bridge = env.nets.inspect("survivor")["Bridge"]
    netns.delete(old)                                  # the container's netns is gone
    subprocess.run(["ip", "link", "del", bridge], check=True)   # and the bridge
    new = env.container("new")
    ep_new = env.nets.connect("survivor", "new", str(new))
    doc = env.nets.inspect("survivor")
    assert list(doc["Containers"]) == ["new"]
    assert os.path.isdir(f"/sys/class/net/{bridge}")
    assert not os.path.exists(f"/sys/class/net/{ep_old.host_ifname}")
    env.serve(new, "tcp", 7400, "rebuilt")
    assert client(None, "tcp", ep_new.ip, 7400).startswith("rebuilt")


def test_dns_server_that_died_is_restarted_by_the_next_connect(env):
    net = env.nets.create("phoenix")
    gw = net["IPAM"]["Config"][0]["Gateway"]
    a = env.container("a")
    env.nets.connect("phoenix", "a", str(a), name="a")
    first = env.nets.store.networks()[0]["dns"]
    os.kill(first["pid"], 9)          # our own helper process, by pid
    for _ in range(100):
        supervise._reap(first["pid"])
        if not supervise.alive(first):
            break
        time.sleep(0.02)
    assert not supervise.alive(first)
    b = env.container("b")
    ep_b = env.nets.connect("phoenix", "b", str(b), name="b")
    second = env.nets.store.networks()[0]["dns"]
    assert second["pid"] != first["pid"] and supervise.alive(second)
    assert lookup(a, "b", gw) == [ep_b.ip]


def test_parallel_connects_from_worker_threads(env):
    """compose starts containers in parallel: one Networks shared by worker threads."""
    from concurrent.futures import ThreadPoolExecutor

    env.nets.create("par")
    handles = [env.container(f"p{i}") for i in range(8)]
    with ThreadPoolExecutor(4) as ex:
        eps = list(ex.map(lambda i: env.nets.connect("par", f"p{i}", str(handles[i]),
                                                     aliases=["svc"]), range(8)))
    assert len({e.ip for e in eps}) == 8
    assert len(env.nets.inspect("par")["Containers"]) == 8
    gw = env.nets.inspect("par")["IPAM"]["Config"][0]["Gateway"]
    assert lookup(handles[0], "svc", gw) == sorted(e.ip for e in eps)
    with ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda i: env.nets.cleanup_container(f"p{i}"), range(8)))
    assert not env.nets.inspect("par")["Containers"]
    assert not any(os.path.exists(f"/sys/class/net/{e.host_ifname}") for e in eps)
