"""The one error hierarchy and the one exit-code table of pycompose.

Every error that can reach a user derives from :class:`PycomposeError`.  The CLI's
``main()`` is the only place that turns an error into a message and an exit status;
library code raises, it never calls ``sys.exit``.

Exit-code table (documented in docs/cli.md, kept in sync by a test):

====  =====================  ===================================================
code  name                   meaning
====  =====================  ===================================================
0     OK                     success
1     FAILURE                an operation failed (runtime, network, image, ...)
2     USAGE                  bad command line: unknown flag, missing argument
3     CONFIG                 the compose file (or a Dockerfile) is invalid
4     NOT_FOUND              no such container / image / network / volume / service
5     PERMISSION             the command needs root (or a missing kernel feature)
6     CONFLICT               name in use, object in use, lock held by another command
125   CONTAINER_RUN_FAILED   ``run``: the container could not be started (as docker)
126   CANNOT_INVOKE          ``run``/``exec``: command found but not executable
127   COMMAND_NOT_FOUND      ``run``/``exec``: command not found in the container
130   INTERRUPTED            stopped by Ctrl-C before finishing
====  =====================  ===================================================

``run``, ``exec``, ``wait`` and ``up --exit-code-from`` pass the container's own exit
code through, as docker does.
"""

from __future__ import annotations


class ExitCode:
    """The table above as plain ``int`` constants.

    Not an ``enum.IntEnum``: this module is imported by the container's setup stage on
    every start, and ``enum`` alone costs ~3 ms of that stage (it was the largest
    import there).  Values compare and format as the ints they are.
    """

    OK = 0
    FAILURE = 1
    USAGE = 2
    CONFIG = 3
    NOT_FOUND = 4
    PERMISSION = 5
    CONFLICT = 6
    CONTAINER_RUN_FAILED = 125
    CANNOT_INVOKE = 126
    COMMAND_NOT_FOUND = 127
    INTERRUPTED = 130


class PycomposeError(Exception):
    """Base of every user-facing error.  ``hint`` says how to fix it."""

    exit_code: int = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class RuntimeFailure(PycomposeError):
    """A runtime operation failed."""


class KernelError(RuntimeFailure):
    """A system call failed; carries the call's name, errno and the path involved."""

    def __init__(self, syscall: str, errno_: int, path: str | None = None, *,
                 hint: str | None = None) -> None:
        import os

        where = f" {path!r}" if path else ""
        super().__init__(f"{syscall}{where}: {os.strerror(errno_)} (errno {errno_})", hint=hint)
        self.syscall = syscall
        self.errno = errno_
        self.path = path


class NotFoundError(PycomposeError):
    exit_code = ExitCode.NOT_FOUND


class ConflictError(PycomposeError):
    exit_code = ExitCode.CONFLICT


class PermissionRequired(PycomposeError):
    exit_code = ExitCode.PERMISSION


class UsageError(PycomposeError):
    exit_code = ExitCode.USAGE


class InvalidInputError(PycomposeError):
    """Invalid user-supplied file (compose file, Dockerfile, archive)."""

    exit_code = ExitCode.CONFIG


class Interrupted(PycomposeError):
    exit_code = ExitCode.INTERRUPTED
