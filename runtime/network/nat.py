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
    """Everything one state root needs.  ``tag`` keeps the rules of several state roots
    (``--root``) on one host apart: table ``pycompose`` for the default root,
    ``pycompose_<tag>`` otherwise (chains ``PYCOMPOSE-<tag>-*`` with iptables)."""

    networks: list[NatNetwork] = field(default_factory=list)
    bindings: list[NatBinding] = field(default_factory=list)
    tag: str = ""

    @property
    def table(self) -> str:
        return f"{TABLE}_{self.tag}" if self.tag else TABLE

    @property
    def chain_prefix(self) -> str:
        return f"PYCOMPOSE-{self.tag}-" if self.tag else "PYCOMPOSE-"


# -- nftables ----------------------------------------------------------------------
def _fam(addr: str) -> str:
    return "ip6" if ip_network(addr, strict=False).version == 6 else "ip"


def _isolation(n: NatNetwork, accept: str, drop: str, iif: str, oif: str,
               any_bridge: str, quote: bool) -> list[str]:
    """Forward rules of one network, in nft or iptables words: own traffic passes,
    other bridges of ours are cut off, an internal network forwards nothing."""
    br = f'"{n.bridge}"' if quote else n.bridge
    verdict = drop if n.internal else accept
    return [f"{iif} {br} {oif} {br} {accept}",
            f"{iif} {br} {oif} {any_bridge} {drop}",
            f"{oif} {br} {iif} {any_bridge} {drop}",
            f"{iif} {br} {verdict}", f"{oif} {br} {verdict}"]


def nft_script(rs: Ruleset) -> str:
    """The full ``nft -f`` input: (re)create our table atomically in one transaction."""
    t = rs.table
    lines = [f"table inet {t} {{}}", f"delete table inet {t}"]
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
        fwd += ["    " + r for r in _isolation(n, "accept", "drop", "iifname", "oifname",
                                               f'"{BRIDGE_PREFIX}*"', quote=True)]
        for s in n.subnets:
            fam = _fam(s)
            if fam == "ip":
                post.append(f'    oifname "{br}" ip saddr 127.0.0.0/8 masquerade')
            post.append(f'    oifname "{br}" {fam} saddr {s} ct status dnat masquerade')
            if not n.internal:
                post.append(f'    oifname != "{br}" {fam} saddr {s} masquerade')
    lines += [
        f"table inet {t} {{",
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
def _ipt_chains(rs: Ruleset) -> dict[str, str]:
    p = rs.chain_prefix
    return {k: p + k for k in ("PRE", "OUT", "PORTS", "POST", "FWD")}


def _ipt_jumps(rs: Ruleset) -> dict[str, tuple[tuple[str, str], ...]]:
    c = _ipt_chains(rs)
    return {"nat": (("PREROUTING", c["PRE"]), ("OUTPUT", c["OUT"]),
                    ("POSTROUTING", c["POST"])),
            "filter": (("FORWARD", c["FWD"]),)}


def iptables_script(rs: Ruleset, present_jumps: set[tuple[str, str, str]]) -> str:
    """``iptables-restore --noflush`` input.  ``present_jumps``: (table, chain, target)
    jumps already in the built-in chains (from ``iptables-save``)."""
    c = _ipt_chains(rs)
    jumps = _ipt_jumps(rs)
    nat_chains = (c["PRE"], c["OUT"], c["PORTS"], c["POST"])
    nat = ["*nat", *(f":{ch} - [0:0]" for ch in nat_chains)]
    filt = ["*filter", f":{c['FWD']} - [0:0]"]
    if not rs.networks:
        for table, lines in (("nat", nat), ("filter", filt)):
            for chain, target in jumps[table]:
                if (table, chain, target) in present_jumps:
                    lines.append(f"-D {chain} -j {target}")
        nat += [f"-X {ch}" for ch in nat_chains]
        filt.append(f"-X {c['FWD']}")
        return "\n".join([*nat, "COMMIT", *filt, "COMMIT"]) + "\n"
    nat += [f"-A {c['PRE']} -m addrtype --dst-type LOCAL -j {c['PORTS']}",
            f"-A {c['OUT']} -m addrtype --dst-type LOCAL -j {c['PORTS']}"]
    for b in rs.bindings:
        if ip_address(b.container_ip).version != 4 or ":" in b.host_ip:
            continue
        dst = f"-d {b.host_ip} " if b.host_ip else ""
        nat.append(f"-A {c['PORTS']} {dst}-p {b.protocol} -m {b.protocol} --dport "
                   f"{b.host_port} -j DNAT --to-destination "
                   f"{b.container_ip}:{b.container_port}")
    fwd = c["FWD"]
    filt += [f"-A {fwd} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
             f"-A {fwd} -i {BRIDGE_PREFIX}+ -o {BRIDGE_PREFIX}+ -m conntrack --ctstate DNAT "
             "-j ACCEPT"]
    for n in rs.networks:
        br = n.bridge
        filt += [f"-A {fwd} {r}" for r in _isolation(n, "-j ACCEPT", "-j DROP", "-i", "-o",
                                                    f"{BRIDGE_PREFIX}+", quote=False)]
        for s in n.subnets:
            if ip_network(s).version != 4:
                continue
            nat.append(f"-A {c['POST']} -s 127.0.0.0/8 -o {br} -j MASQUERADE")
            nat.append(f"-A {c['POST']} -s {s} -o {br} -m conntrack --ctstate DNAT "
                       "-j MASQUERADE")
            if not n.internal:
                nat.append(f"-A {c['POST']} -s {s} ! -o {br} -j MASQUERADE")
    for table, lines in (("nat", nat), ("filter", filt)):
        for chain, target in jumps[table]:
            if (table, chain, target) not in present_jumps:
                lines.append(f"-I {chain} 1 -j {target}")
    return "\n".join([*nat, "COMMIT", *filt, "COMMIT"]) + "\n"


def parse_jumps(save_output: str, rs: Ruleset) -> set[tuple[str, str, str]]:
    """Our jumps present in ``iptables-save`` output."""
    ours = {t for js in _ipt_jumps(rs).values() for _, t in js}
    out: set[tuple[str, str, str]] = set()
    table = ""
    for line in save_output.splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        parts = line.split()
        if len(parts) == 4 and parts[0] == "-A" and parts[2] == "-j" and parts[3] in ours:
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
        if not rs.networks and f":{rs.chain_prefix}FWD " not in saved:
            return
        present = parse_jumps(saved, rs)
        _run(["iptables-restore", "--noflush"], iptables_script(rs, present))


def ip_tables_present() -> list[str] | None:
    """The ``ip`` family nf_tables tables that exist (iptables-nft creates ``nat`` and
    ``filter`` on first use); None when that cannot be known (no nft, legacy iptables)."""
    if shutil.which("nft") is None:
        return None
    res = subprocess.run(["nft", "list", "tables", "ip"], capture_output=True, text=True)
    if res.returncode != 0:
        return None
    return [line.split()[-1] for line in res.stdout.splitlines() if line.startswith("table")]


def drop_tables_we_created(before: list[str] | None) -> None:
    """After the iptables backend's last teardown: delete the ``ip nat``/``ip filter``
    tables iptables-nft created for us, if they were absent before and hold no rule of
    anyone (so the host's ruleset is exactly as it was)."""
    now = ip_tables_present()
    if before is None or now is None:
        return
    for table in ("nat", "filter"):
        if table in before or table not in now:
            continue
        listing = subprocess.run(["iptables-save", "-t", table], capture_output=True,
                                 text=True).stdout
        if not any(line.startswith("-A ") for line in listing.splitlines()):
            subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)


def rules_present(backend: str, tag: str = "") -> bool:
    """True when rules of this state root are installed (tests, ``system check``)."""
    rs = Ruleset(tag=tag)
    if backend == "nft":
        res = subprocess.run(["nft", "list", "table", "inet", rs.table], capture_output=True)
        return res.returncode == 0
    if backend == "iptables":
        res = subprocess.run(["iptables-save"], capture_output=True, text=True)
        return f":{rs.chain_prefix}FWD " in res.stdout
    return False
