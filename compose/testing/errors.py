"""Typed errors of the testing API.  Each carries the service name and, where it helps,
the last lines of the service's logs (also attached as an exception note)."""

from __future__ import annotations

from runtime.errors import PycomposeError, RuntimeFailure


class StackError(RuntimeFailure):
    """Base of the errors below."""


class ServiceNotReady(StackError):
    """A service did not become ready (healthy, or its published port answering) in
    time.  ``logs``: its recent output."""

    def __init__(self, message: str, *, service: str, logs: str = "", hint: str | None = None):
        super().__init__(message, hint=hint)
        self.service = service
        self.logs = logs
        if logs:
            self.add_note(f"--- last logs of service {service!r} ---\n{logs}")


class ServiceUnhealthy(ServiceNotReady):
    """The healthcheck reported ``unhealthy``."""


class ServiceExited(ServiceNotReady):
    """The container exited while we waited for it to be ready."""

    def __init__(self, message: str, *, service: str, exit_code: int | None = None,
                 logs: str = "", hint: str | None = None):
        super().__init__(message, service=service, logs=logs, hint=hint)
        self.exit_code = exit_code


class PortNotPublished(StackError):
    """``host_port``/``url`` asked for a container port the service does not publish."""


class HostUnsupported(StackError):
    """This host cannot run containers (missing kernel features or not root)."""


__all__ = ["HostUnsupported", "PortNotPublished", "PycomposeError", "ServiceExited",
           "ServiceNotReady", "ServiceUnhealthy", "StackError"]
