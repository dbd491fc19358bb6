"""The per-network DNS server's answers (no sockets: Server.answer on a state dir)."""

from __future__ import annotations

import json
from pathlib import Path

from dnslib import QTYPE, RCODE, DNSRecord

from runtime.network import dns


def _net(d: Path, net_id: str, endpoints: dict, internal: bool = False, **extra) -> None:
    doc = {"id": net_id, "name": net_id, "internal": internal,
           "subnets": [{"subnet": "10.0.0.0/24", "gateway": "10.0.0.1"}],
           "endpoints": endpoints, "options": extra}
    (d / f"{net_id}.json").write_text(json.dumps(doc))


def _ep(ip: str, *names: str, ip6: str | None = None) -> dict:
    return {"ip": ip, "ip6": ip6, "names": list(names)}


def ask(server: dns.Server, client: str, name: str, qtype: str = "A"):
    reply = server.answer(DNSRecord.question(name, qtype).pack(), client)
    return None if reply is None else DNSRecord.parse(reply)


def ips(rec) -> list[str]:
    return sorted(str(rr.rdata) for rr in rec.rr)


def test_names_aliases_replicas_and_case(tmp_path):
    _net(tmp_path, "n1", {"c": _ep("10.0.0.9", "client"),
                          "w1": _ep("10.0.0.2", "p-web-1", "web", ip6="fd00::2"),
                          "w2": _ep("10.0.0.3", "p-web-2", "web")})
    s = dns.Server(tmp_path, "n1")
    assert ips(ask(s, "10.0.0.9", "web")) == ["10.0.0.2", "10.0.0.3"]
    assert ips(ask(s, "10.0.0.9", "P-WEB-1.")) == ["10.0.0.2"]
    assert ips(ask(s, "10.0.0.9", "web", "AAAA")) == ["fd00::2"]
    # a v4-only name: NOERROR without data for AAAA (not NXDOMAIN)
    r = ask(s, "10.0.0.9", "p-web-2", "AAAA")
    assert r.header.rcode == RCODE.NOERROR and not r.rr
    r = ask(s, "10.0.0.9", "nosuch")
    assert r.header.rcode == RCODE.NXDOMAIN
    # dotted names that are not ours are left for forwarding
    assert ask(s, "10.0.0.9", "example.org") is None
    ptr = ask(s, "10.0.0.9", "2.0.0.10.in-addr.arpa", "PTR")
    assert str(ptr.rr[0].rdata) == "p-web-1." and ptr.rr[0].rtype == QTYPE.PTR


def test_scope_follows_the_asking_containers_networks(tmp_path):
    _net(tmp_path, "n1", {"c": _ep("10.0.0.9", "client"), "a": _ep("10.0.0.2", "a")})
    _net(tmp_path, "n2", {"c": _ep("10.1.0.9", "client"), "b": _ep("10.1.0.2", "b")})
    _net(tmp_path, "n3", {"x": _ep("10.2.0.2", "x")})
    s = dns.Server(tmp_path, "n1")
    assert ips(ask(s, "10.0.0.9", "b")) == ["10.1.0.2"]   # client is on n1 and n2
    assert ask(s, "10.0.0.9", "x").header.rcode == RCODE.NXDOMAIN   # not on n3
    assert ask(s, "10.0.0.2", "b").header.rcode == RCODE.NXDOMAIN   # a is only on n1


def test_state_changes_are_seen_by_the_next_query(tmp_path):
    _net(tmp_path, "n1", {"c": _ep("10.0.0.9", "client"), "w": _ep("10.0.0.2", "web")})
    s = dns.Server(tmp_path, "n1")
    s.reload()
    assert ips(ask(s, "10.0.0.9", "web")) == ["10.0.0.2"]
    doc = json.loads((tmp_path / "n1.json").read_text())
    doc["endpoints"].pop("w")
    tmp = tmp_path / ".n1.json.tmp"
    tmp.write_text(json.dumps(doc))
    tmp.replace(tmp_path / "n1.json")       # the store's atomic replace (new inode)
    assert ask(s, "10.0.0.9", "web").header.rcode == RCODE.NXDOMAIN


def test_upstreams(tmp_path, monkeypatch):
    monkeypatch.setattr(dns, "host_nameservers", lambda path="": ["10.0.0.1", "192.0.2.53"])
    _net(tmp_path, "n1", {})
    assert dns.Records(tmp_path, "n1").upstreams == ["192.0.2.53"]  # never ourselves
    _net(tmp_path, "n2", {}, dns_upstreams=["127.0.0.1:5353"])
    assert dns.Records(tmp_path, "n2").upstreams == ["127.0.0.1:5353"]
    _net(tmp_path, "n3", {}, internal=True)
    assert dns.Records(tmp_path, "n3").upstreams == []
    assert dns.split_upstream("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert dns.split_upstream("[fd00::1]:53") == ("fd00::1", 53)
    assert dns.split_upstream("fd00::1") == ("fd00::1", 53)


def test_resolv_conf_text():
    text = dns.resolv_conf(["10.0.0.1"], ["example.com"], ["timeout:2"])
    assert text == "nameserver 10.0.0.1\nsearch example.com\noptions timeout:2 ndots:0\n"
    assert "ndots:0" not in dns.resolv_conf(["1.1.1.1"], [], ["ndots:2"])
