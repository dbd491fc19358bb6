"""Compose stacks as test fixtures: a typed Python API and a pytest plugin.

* :class:`Stack` / :class:`AsyncStack` — load a project from compose files, ``up``
  (waiting until every service is ready), ``host_port``/``url``, ``exec``, ``logs``,
  ``snapshot``/``restore`` of named volumes, ``down``.  See ``compose.testing.stack``.
* ``compose.testing.plugin`` — the pytest plugin (entry point ``pytest11``), see
  README.md ("Service fixtures") and docs/architecture.md.
* ``compose.testing.sessions`` — records of live test stacks; ``reap_stale`` brings down
  what a killed test session left.
"""

from compose.testing.errors import (
    HostUnsupported,
    PortNotPublished,
    ServiceExited,
    ServiceNotReady,
    ServiceUnhealthy,
    StackError,
)
from compose.testing.stack import AsyncStack, ExecResult, HostPort, ServiceContainer, Stack

__all__ = ["AsyncStack", "ExecResult", "HostPort", "HostUnsupported", "PortNotPublished",
           "ServiceContainer", "ServiceExited", "ServiceNotReady", "ServiceUnhealthy",
           "Stack", "StackError"]
