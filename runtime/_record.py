"""A tiny frozen record type for the modules the lean shim and container init import.

``dataclasses`` pulls in ``inspect``/``ast``/``re`` (~10 ms of start-up on a busy host);
these records need none of that.  Subclasses list their fields in ``__slots__`` and
optional defaults in ``_defaults``.
"""

from __future__ import annotations


class Record:
    __slots__ = ()
    _defaults: dict[str, object] = {}

    def __init__(self, *args: object, **kwargs: object) -> None:
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} fields")
        values = dict(self._defaults)
        values.update(zip(names, args, strict=False))
        for key, val in kwargs.items():
            if key not in names:
                raise TypeError(f"{type(self).__name__} has no field {key!r}")
            values[key] = val
        for name in names:
            if name not in values:
                raise TypeError(f"{type(self).__name__} missing field {name!r}")
            object.__setattr__(self, name, values[name])

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def astuple(self) -> tuple:
        return tuple(getattr(self, n) for n in self.__slots__)

    def asdict(self) -> dict[str, object]:
        return {n: getattr(self, n) for n in self.__slots__}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.astuple() == other.astuple()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self.astuple())

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({inner})"
