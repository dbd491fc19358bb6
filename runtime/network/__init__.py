"""Container networking: netns handles, bridge networks, IPAM, published ports, DNS.

Layers (each a small module): ``netns`` (namespace handles), ``netlink`` (the only
module that talks to pyroute2), ``ipam`` (addresses), ``ports`` (publish syntax),
``nat`` (kernel NAT / userland proxy), ``dns`` (per-network name server), ``store``
(state files and the lock), ``api`` (:class:`Networks`, the runtime-facing API).
Heavy imports (pyroute2) happen only inside functions.
"""
