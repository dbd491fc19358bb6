"""Container networking: netns handles, bridge networks, IPAM, published ports, DNS.

Layers (each a small module): ``netns`` (namespace handles), ``netlink`` (the only
module that talks to pyroute2), ``ipam`` (addresses), ``ports`` (publish syntax),
``nat`` (kernel NAT rules), ``proxy`` (userland port proxy), ``dns`` (per-network name
server), ``resolvconf`` (containers' resolv.conf), ``supervise`` (helper processes),
``store`` (state files and the lock), ``api`` (``Networks``, the runtime-facing API),
``hooks`` (what container start/stop call).  See docs/architecture.md, "Networks".
Heavy imports (pyroute2) happen only inside functions.
"""
