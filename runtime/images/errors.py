"""Errors of the image subsystem (all :class:`runtime.errors.PycomposeError`)."""

from __future__ import annotations

from runtime.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionRequired,
    PycomposeError,
    UsageError,
)


class InvalidReference(UsageError):
    """An image reference that Docker's grammar rejects."""


class ImageNotFound(NotFoundError):
    pass


class ImageInUse(ConflictError):
    pass


class ImageError(PycomposeError):
    """A generic image operation failure (exit code 1)."""


class DigestMismatch(ImageError):
    """Content did not hash to the digest that named it."""


class UnsafeLayer(InvalidInputError):
    """A layer (or archive) tried to write outside its root or is malformed."""


class CorruptLayer(InvalidInputError):
    """A layer could not be decompressed or parsed (truncated, bad gzip...)."""


class RegistryError(ImageError):
    """The registry answered with an error (or could not be reached)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class RegistryAuthError(RegistryError):
    pass


class RegistryNotFound(RegistryError, NotFoundError):
    exit_code = NotFoundError.exit_code


class NeedsRoot(PermissionRequired):
    pass
