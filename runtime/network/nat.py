"""Kernel NAT and isolation rules, regenerated from state and applied in ONE batch.

Backends, picked by :func:`detect` (override: ``$PYCOMPOSE_NAT=nft|iptables|proxy``):

* ``nft`` (preferred): everything lives in our own table ``inet pycompose``; each
  operation replaces the whole table in a single ``nft -f -`` transaction (atomic,
  idempotent, one exec), and the table is deleted when no network remains.
* ``iptables``: chains ``PYCOMPOSE-*`` in the ``nat`` and ``filter`` tables, rewritten
  with one ``iptables-restore --noflush`` (declaring a chain in a restore file flushes
  it); jumps from the built-in chains are added once.  IPv4 only.
* ``proxy``: no kernel NAT; published ports are served by a userland proxy process
  (``runtime.network.proxy``) and the host does not route for containers (no outbound
  access, networks isolated by having no forwarding at all).

Rules, per network (bridge ``B``, subnet ``S``):

* published ports: DNAT for packets to any *local* address (``fib daddr type local``,
  or the binding's host IP) in prerouting (from outside and from containers: hairpin)
  and output (from the host itself, including ``127.0.0.1``).
* loopback: ``127.0.0.1:PORT`` works because ``route_localnet=1`` is set on ``B`` and
  packets from ``127.0.0.0/8`` leaving through ``B`` are masqueraded.  (Decision: kernel
  DNAT + route_localnet as Docker's ``userland-proxy=false`` does, rather than a proxy
  process per port: no extra process, full kernel throughput.)
* hairpin: DNAT'd traffic from ``S`` back into ``B`` is masqueraded (the bridge ports
  have hairpin mode on), so containers reach published ports via the host.
* outbound: ``S`` leaving through any other interface is masqueraded (not for internal
  networks).
* isolation: forwarding between two of our bridges is dropped unless it was DNAT'd to a
  published port; an internal network forwards nothing in or out of its bridge.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network

from runtime.errors import RuntimeFailure

TABLE = "pycompose"
BRIDGE_PREFIX = "pc-"


@dataclass(frozen=True, slots=True)
class NatNetwork:
    bridge: str
    subnets: tuple[str, ...]        # CIDR, v4 and/or v6
    internal: bool = False


@dataclass(frozen=True, slots=True)
class NatBinding:
    bridge: str
    protocol: str
    host_ip: str                    # "" = all local addresses
    host_port: int
    container_ip: str
    container_port: int


@dataclass
class Ruleset:
    networks: list[NatNetwork] = field(default_factory=list)
    bindings: list[NatBinding] = field(default_factory=list)


# -- nftables ----------------------------------------------------------------------
def _fam(addr: str) -> str:
    return "ip6" if ip_network(addr, strict=False).version == 6 else "ip"


def nft_script(rs: Ruleset) -> str:
    """The full ``nft -f`` input: (re)create table ``inet pycompose`` atomically."""
    lines = [f"table inet {TABLE} {{}}", f"delete table inet {TABLE}"]
    if not rs.networks:
        return "\n".join(lines) + "\n"
    pub: list[str] = []
    for b in rs.bindings:
        fam = _fam(b.container_ip)
        match = ""
        if b.host_ip:
            if _fam(b.host_ip) != fam:
                continue
            match = f"{fam} daddr {b.host_ip} "
        dst = (f"[{b.container_ip}]" if fam == "ip6" else b.container_ip)
        pub.append(f"    {match}meta nfproto {'ipv6' if fam == 'ip6' else 'ipv4'} "
                   f"{b.protocol} dport {b.host_port} dnat {fam} to {dst}:{b.container_port}")
    post: list[str] = []
    fwd = ["    ct state established,related accept",
           f'    iifname "{BRIDGE_PREFIX}*" oifname "{BRIDGE_PREFIX}*" ct status dnat accept']
    for n in rs.networks:
        br = n.bridge
        fwd.append(f'    iifname "{br}" oifname "{br}" accept')
        for s in n.subnets:
            fam = _fam(s)
            if fam == "ip":
                post.append(f'    oifname "{br}" ip saddr 127.0.0.0/8 masquerade')
            post.append(f'    oifname "{br}" {fam} saddr {s} ct status dnat masquerade')
            if not n.internal:
                post.append(f'    oifname != "{br}" {fam} saddr {s} masquerade')
    fwd.append(f'    iifname "{BRIDGE_PREFIX}*" oifname "{BRIDGE_PREFIX}*" drop')
    for n in rs.networks:
        if n.internal:
            fwd += [f'    iifname "{n.bridge}" drop', f'    oifname "{n.bridge}" drop']
        else:
            fwd += [f'    iifname "{n.bridge}" accept', f'    oifname "{n.bridge}" accept']
    lines += [
        f"table inet {TABLE} {{",
        "  chain published {", *pub, "  }",
        "  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;",
        "    fib daddr type local jump published", "  }",
        "  chain output {", "    type nat hook output priority -100; policy accept;",
        "    fib daddr type local jump published", "  }",
        "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;",
        *post, "  }",
        "  chain forward {", "    type filter hook forward priority filter; policy accept;",
        *fwd, "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


# -- iptables ----------------------------------------------------------------------
IPT_NAT_CHAINS = ("PYCOMPOSE-PRE", "PYCOMPOSE-OUT", "PYCOMPOSE-PORTS", "PYCOMPOSE-POST")
IPT_JUMPS = {"nat": (("PREROUTING", "PYCOMPOSE-PRE"), ("OUTPUT", "PYCOMPOSE-OUT"),
                     ("POSTROUTING", "PYCOMPOSE-POST")),
             "filter": (("FORWARD", "PYCOMPOSE-FWD"),)}


def iptables_script(rs: Ruleset, present_jumps: set[tuple[str, str, str]]) -> str:
    """``iptables-restore --noflush`` input.  ``present_jumps``: (table, chain, target)
    jumps already in the built-in chains (from ``iptables-save``)."""
    nat = ["*nat", *(f":{c} - [0:0]" for c in IPT_NAT_CHAINS)]
    filt = ["*filter", ":PYCOMPOSE-FWD - [0:0]"]
    if not rs.networks:
        for table, lines in (("nat", nat), ("filter", filt)):
            for chain, target in IPT_JUMPS[table]:
                if (table, chain, target) in present_jumps:
                    lines.append(f"-D {chain} -j {target}")
        nat += [f"-X {c}" for c in IPT_NAT_CHAINS]
        filt.append("-X PYCOMPOSE-FWD")
        return "\n".join([*nat, "COMMIT", *filt, "COMMIT"]) + "\n"
    nat += ["-A PYCOMPOSE-PRE -m addrtype --dst-type LOCAL -j PYCOMPOSE-PORTS",
            "-A PYCOMPOSE-OUT -m addrtype --dst-type LOCAL -j PYCOMPOSE-PORTS"]
    for b in rs.bindings:
        if ip_address(b.container_ip).version != 4 or ":" in b.host_ip:
            continue
        dst = f"-d {b.host_ip} " if b.host_ip else ""
        nat.append(f"-A PYCOMPOSE-PORTS {dst}-p {b.protocol} -m {b.protocol} --dport "
                   f"{b.host_port} -j DNAT --to-destination "
                   f"{b.container_ip}:{b.container_port}")
    filt += ["-A PYCOMPOSE-FWD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
             "-A PYCOMPOSE-FWD -i pc-+ -o pc-+ -m conntrack --ctstate DNAT -j ACCEPT"]
    for n in rs.networks:
        br = n.bridge
        filt.append(f"-A PYCOMPOSE-FWD -i {br} -o {br} -j ACCEPT")
        for s in n.subnets:
            if ip_network(s).version != 4:
                continue
            nat.append(f"-A PYCOMPOSE-POST -s 127.0.0.0/8 -o {br} -j MASQUERADE")
            nat.append(f"-A PYCOMPOSE-POST -s {s} -o {br} -m conntrack --ctstate DNAT "
                       "-j MASQUERADE")
            if not n.internal:
                nat.append(f"-A PYCOMPOSE-POST -s {s} ! -o {br} -j MASQUERADE")
    filt.append("-A PYCOMPOSE-FWD -i pc-+ -o pc-+ -j DROP")
    for n in rs.networks:
        verdict = "DROP" if n.internal else "ACCEPT"
        filt += [f"-A PYCOMPOSE-FWD -i {n.bridge} -j {verdict}",
                 f"-A PYCOMPOSE-FWD -o {n.bridge} -j {verdict}"]
    for table, lines in (("nat", nat), ("filter", filt)):
        for chain, target in IPT_JUMPS[table]:
            if (table, chain, target) not in present_jumps:
                lines.append(f"-I {chain} 1 -j {target}")
    return "\n".join([*nat, "COMMIT", *filt, "COMMIT"]) + "\n"


def parse_jumps(save_output: str) -> set[tuple[str, str, str]]:
    """Our jumps present in ``iptables-save`` output."""
    out: set[tuple[str, str, str]] = set()
    table = ""
    for line in save_output.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        parts = line.split()
        if len(parts) == 4 and parts[0] == "-A" and parts[2] == "-j" and \
                parts[3].startswith("PYCOMPOSE-"):
            out.add((table, parts[1], parts[3]))
    return out


# -- backends ----------------------------------------------------------------------
def _run(argv: list[str], stdin: str | None = None) -> str:
    res = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        raise RuntimeFailure(f"{argv[0]} failed: {res.stderr.strip() or res.stdout.strip()}",
                             hint="is the nf_tables/iptables kernel support available? "
                                  "PYCOMPOSE_NAT=proxy uses a userland proxy instead")
    return res.stdout


def _works(argv: list[str]) -> bool:
    if shutil.which(argv[0]) is None:
        return False
    try:
        return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def detect() -> str:
    """``nft``, ``iptables`` or ``proxy``: the NAT backend usable on this host."""
    forced = os.environ.get("PYCOMPOSE_NAT", "auto").strip().lower()
    if forced in ("nft", "iptables", "proxy"):
        return forced
    if _works(["nft", "list", "tables"]):
        return "nft"
    if _works(["iptables-save", "-t", "nat"]) and shutil.which("iptables-restore"):
        return "iptables"
    return "proxy"


def apply(backend: str, rs: Ruleset) -> None:
    """Make the kernel rules match ``rs`` (empty ``rs.networks``: remove all of ours)."""
    if backend == "nft":
        _run(["nft", "-f", "-"], nft_script(rs))
    elif backend == "iptables":
        saved = _run(["iptables-save"])
        if not rs.networks and "PYCOMPOSE-" not in saved:
            return
        present = parse_jumps(saved)
        _run(["iptables-restore", "--noflush"], iptables_script(rs, present))


def rules_present(backend: str) -> bool:
    """True when any rule of ours is installed (used by tests and ``system check``)."""
    if backend == "nft":
        res = subprocess.run(["nft", "list", "table", "inet", TABLE], capture_output=True)
        return res.returncode == 0
    if backend == "iptables":
        res = subprocess.run(["iptables-save"], capture_output=True, text=True)
        return "PYCOMPOSE-" in res.stdout
    return False
