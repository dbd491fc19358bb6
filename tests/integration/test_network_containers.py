"""Real containers on bridge networks (the runtime's start hook wires them).

Two services reach each other by service name, alias and container name (TCP and a DNS
query), a scaled service resolves to all replicas, ports answer on 127.0.0.1, and
removing the containers and networks leaves the host as it was.
"""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from runtime.network.api import Networks, veth_name
from runtime.network.ports import parse_short
from runtime.spec import NetworkAttachment, NetworkMode
from tests.conftest import needs_root
from tests.integration.helpers import output, spec, wait_for_output

pytestmark = [pytest.mark.integration, needs_root]


@pytest.fixture
def nets(state_paths):
    n = Networks(state_paths)
    yield n
    for net in n.list():
        n.remove(net["Id"], force=True)
    n.close()


def bridge(*nets: str, aliases: tuple[str, ...] = ()) -> NetworkMode:
    return NetworkMode("bridge", attachments=tuple(
        NetworkAttachment(n, aliases=aliases) for n in nets))


def server(rt, busybox, name: str, net: str, aliases=(), reply: str = "hello", **kw):
    cid = rt.containers.create(spec(
        busybox, "sh", "-c", f"echo listening; nc -ll -p 8080 -e /bin/echo {reply}",
        name=name, network=bridge(net, aliases=aliases), **kw))
    rt.containers.start(cid)
    wait_for_output(rt, cid, "listening")
    return cid


# connect with retries: "listening" is printed just before the server's nc binds
TRY = ('try() { for i in $(seq 100); do nc "$@" </dev/null 2>/dev/null && return 0; '
       'sleep 0.1; done; echo "FAILED $*"; return 1; }; ')


def run_client(rt, busybox, net: str, script: str) -> str:
    cid = rt.containers.create(spec(busybox, "sh", "-c", TRY + script, network=bridge(net)))
    rt.containers.start(cid)
    assert rt.containers.wait(cid, timeout=60) == 0, output(rt, cid, None)
    return output(rt, cid)


def test_services_reach_each_other_by_name_alias_and_container_name(rt, busybox, nets):
    nets.create("proj_default")
    db = server(rt, busybox, "proj-db-1", "proj_default", aliases=("db", "database"),
                reply="from-db", hostname="dbhost")
    settings = json.loads((rt.containers.get(db).dir / "network.json").read_text())
    db_ip = settings["Networks"]["proj_default"]["IPAddress"]
    out = run_client(rt, busybox, "proj_default", (
        "cat /etc/resolv.conf; "
        "for n in db database proj-db-1 dbhost; do nslookup $n | grep -A1 '^Name'; done; "
        "for n in db proj-db-1; do try $n 8080; done; "
        f"try {db_ip} 8080"))
    gw = nets.inspect("proj_default")["IPAM"]["Config"][0]["Gateway"]
    assert f"nameserver {gw}" in out
    assert out.count(f"Address: {db_ip}") == 4, out
    assert out.count("from-db") == 3, out
    # the container's own /etc/hosts has its address and hostname
    hosts = run_client(rt, busybox, "proj_default", "hostname; cat /etc/hosts")
    assert hosts.split()[0] in hosts.split("\n", 1)[1]


def test_scaled_service_all_replicas_and_removal(rt, busybox, nets):
    nets.create("scaled")
    ids = [server(rt, busybox, f"p-web-{i}", "scaled", aliases=("web",)) for i in (1, 2)]
    ips = sorted(json.loads((rt.containers.get(c).dir / "network.json").read_text())
                 ["IPAddress"] for c in ids)
    out = run_client(rt, busybox, "scaled", "nslookup web")
    assert sorted(line.split()[-1] for line in out.splitlines()
                  if line.startswith("Address") and "#" not in line
                  and ":53" not in line) == ips, out
    rt.containers.remove(ids[1], force=True)
    out = run_client(rt, busybox, "scaled", "nslookup web")
    assert ips[0] in out or ips[1] in out
    assert out.count("Address:") - out.count(":53") == 1, out


def test_published_port_from_loopback_and_cleanup(rt, busybox, nets, state_paths):
    net = nets.create("web")
    cid = rt.containers.create(spec(
        busybox, "sh", "-c", "echo listening; nc -ll -p 80 -e /bin/echo published",
        name="pub", network=bridge("web"), ports=tuple(parse_short("80")),
        expose=((81, "udp"),), publish_all=True))
    rt.containers.start(cid)
    wait_for_output(rt, cid, "listening")
    settings = json.loads((rt.containers.get(cid).dir / "network.json").read_text())
    host_port = int(settings["Ports"]["80/tcp"][0]["HostPort"])
    assert "81/udp" in settings["Ports"]
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", host_port), timeout=2) as s:
                assert s.recv(100).startswith(b"published")
                break
        except (ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    veth = veth_name(net["Id"], cid)
    assert os.path.isdir(f"/sys/class/net/{veth}")
    rt.containers.remove(cid, force=True)
    assert nets.port(cid) == []
    assert not nets.inspect("web")["Containers"]
    assert not os.path.exists(f"/sys/class/net/{veth}")
    nets.remove("web")
    assert not os.path.exists(f"/sys/class/net/{net['Bridge']}")


def test_container_run_publish_flags_and_port_command(run_cli, busybox, state_paths):
    assert run_cli("network", "create", "clinet").returncode == 0
    try:
        r = run_cli("container", "run", "-d", "--name", "pweb", "--network", "clinet",
                    "--network-alias", "web", "-p", "127.0.0.1::80", "--expose", "81/udp",
                    "-P", str(busybox), "sh", "-c",
                    "echo listening; nc -ll -p 80 -e /bin/echo via-cli")
        assert r.returncode == 0, r
        r = run_cli("container", "port", "pweb")
        assert r.returncode == 0, r
        lines = sorted(r.stdout.splitlines())
        assert len(lines) == 2 and lines[0].startswith("80/tcp -> 127.0.0.1:") \
            and lines[1].startswith("81/udp -> 0.0.0.0:"), lines
        addr = run_cli("container", "port", "pweb", "80/tcp").stdout.strip()
        host, port = addr.rsplit(":", 1)
        assert host == "127.0.0.1"
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((host, int(port)), timeout=2) as s:
                    assert s.recv(100).startswith(b"via-cli")
                    break
            except (ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        r = run_cli("container", "port", "pweb", "9999")
        assert r.returncode == 4 and "no public port" in r.stderr
        r = run_cli("container", "run", "-p", "80", str(busybox), "true")
        assert r.returncode == 2 and "needs a network" in r.stderr
        doc = json.loads(run_cli("container", "inspect", "pweb").stdout)[0]
        assert doc["NetworkSettings"]["Networks"]["clinet"]["Aliases"] == ["web"]
    finally:
        run_cli("container", "rm", "-f", "pweb")
        assert run_cli("network", "rm", "clinet").returncode == 0


def test_network_connect_a_running_container_by_name(run_cli, busybox, state_paths):
    assert run_cli("network", "create", "later").returncode == 0
    try:
        r = run_cli("container", "run", "-d", "--name", "late", "--network", "bridge",
                    str(busybox), "sleep", "300")
        assert r.returncode == 0, r
        cid = r.stdout.strip().splitlines()[-1]
        r = run_cli("network", "connect", "--alias", "lateweb", "later", "late")
        assert r.returncode == 0, r
        doc = json.loads(run_cli("network", "inspect", "later").stdout)[0]
        (ep,) = doc["Containers"].values()
        assert ep["Name"] == "late" and ep["Aliases"] == ["lateweb"]
        handle = state_paths.run_dir / "netns" / cid
        import subprocess

        out = subprocess.run(["nsenter", f"--net={handle}", "ip", "-o", "addr", "show",
                              "eth0"], capture_output=True, text=True).stdout
        assert ep["IPv4Address"] in out
        assert run_cli("network", "disconnect", "later", "late").returncode == 0
        assert not json.loads(run_cli("network", "inspect", "later").stdout)[0]["Containers"]
    finally:
        run_cli("container", "rm", "-f", "late")
        assert run_cli("network", "rm", "later").returncode == 0


def test_stopped_container_leaves_dns_and_returns_on_start(rt, busybox, nets):
    nets.create("stopnet")
    web = server(rt, busybox, "stop-web-1", "stopnet", aliases=("web",))
    ip = json.loads((rt.containers.get(web).dir / "network.json").read_text())["IPAddress"]
    assert f"Address: {ip}" in run_client(rt, busybox, "stopnet", "nslookup web")
    rt.containers.stop(web, timeout=1)
    out = run_client(rt, busybox, "stopnet", "nslookup web || echo NXDOMAIN-ok")
    assert "NXDOMAIN-ok" in out and f"Address: {ip}" not in out
    rt.containers.start(web)
    wait_for_output(rt, web, "listening")
    out = run_client(rt, busybox, "stopnet", "nslookup web; try web 8080")
    assert f"Address: {ip}" in out and "hello" in out   # same lease after a restart


def test_extra_hosts_host_gateway_and_own_hostname(rt, busybox, nets):
    net = nets.create("hg")
    gw = net["IPAM"]["Config"][0]["Gateway"]
    cid = rt.containers.create(spec(
        busybox, "cat", "/etc/hosts", hostname="box", domainname="example.test",
        extra_hosts=(("host.docker.internal", "host-gateway"),), network=bridge("hg")))
    rt.containers.start(cid)
    assert rt.containers.wait(cid, timeout=60) == 0
    hosts = output(rt, cid)
    ip = json.loads((rt.containers.get(cid).dir / "network.json").read_text())["IPAddress"]
    assert f"{gw}\thost.docker.internal" in hosts
    assert f"{ip}\tbox.example.test box" in hosts
