"""Rewrite a project's published ports to random loopback host ports.

Tests (and pytest-xdist workers, and concurrent CI jobs on one host) must never fight
over a fixed host port such as ``6379:6379``: every ``ports:`` entry keeps its container
port and protocol but lets the runtime pick a free host port (the runtime binds it and
reports the port it got; we never choose a port and then bind it), on ``127.0.0.1``
unless the file names another host address.
"""

from __future__ import annotations

import dataclasses

from compose.model.types import Port, Project, frozen_map


def random_port(port: Port, host_ip: str = "127.0.0.1") -> Port:
    ip = port.host_ip if port.host_ip and port.host_ip not in ("0.0.0.0", "::") else host_ip
    return dataclasses.replace(port, published=None, host_ip=ip)


def randomize_ports(project: Project, host_ip: str = "127.0.0.1") -> Project:
    """The project with every published port moved to a random host port."""
    services = {}
    for name, svc in project.services.items():
        if svc.ports:
            svc = dataclasses.replace(svc, ports=tuple(random_port(p, host_ip)
                                                       for p in svc.ports))
        services[name] = svc
    return dataclasses.replace(project, services=frozen_map(services))
