"""The device cgroup allow-list of a default (non-privileged) Docker container.

Docker's spec starts with "deny everything" and runc adds its standard list: mknod of
any node (the node is useless without read/write permission below), the OCI default
nodes, the pty multiplexer and slaves, /dev/console and tun.  A privileged container
gets ``a *:* rwm``.

cgroup v1 applies this through ``devices.deny``/``devices.allow``.  cgroup v2 has no
files for it: ``runtime.cgroups.devfilter`` compiles the same list into a
BPF_PROG_TYPE_CGROUP_DEVICE program attached to the container's cgroup.
"""

from __future__ import annotations

DENY_ALL = "a"
ALLOW_ALL = "a *:* rwm"

DEFAULT_ALLOW: tuple[str, ...] = (
    "c *:* m",        # mknod of any char device
    "b *:* m",        # mknod of any block device
    "c 1:3 rwm",      # /dev/null
    "c 1:5 rwm",      # /dev/zero
    "c 1:7 rwm",      # /dev/full
    "c 1:8 rwm",      # /dev/random
    "c 1:9 rwm",      # /dev/urandom
    "c 5:0 rwm",      # /dev/tty
    "c 5:1 rwm",      # /dev/console
    "c 5:2 rwm",      # /dev/ptmx
    "c 136:* rwm",    # /dev/pts/*
    "c 10:200 rwm",   # /dev/net/tun
)
