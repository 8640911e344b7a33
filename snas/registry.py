"""Named entries of one kind (ops, methods, penalty estimators, schedules, data sets, ...).

Every registry refuses an unknown name the same way: ``unknown <what> 'x'; choose from a,
b, c``.  The error is a :class:`ValueError`, so a setting typed
``Annotated[str, registered(REGISTRY)]`` reports it under the key that holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import AfterValidator

T = TypeVar("T")


class UnknownName(ValueError):
    """A name no registry entry has."""


def unknown_name(what: str, name: object, choices: Iterable[str]) -> UnknownName:
    """The one error for a name that is not among ``choices``."""
    return UnknownName(f"unknown {what} {name!r}; choose from {', '.join(choices)}")


class Registry(Mapping[str, T]):
    """A read-only name -> entry mapping whose lookup of an unknown name names the choices."""

    def __init__(self, what: str, entries: Mapping[str, T]):
        self.what = what
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name from a user's file
            raise unknown_name(self.what, name, self._entries) from None

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._entries
        except TypeError:
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    # Mapping.get also takes a default of another type; no caller needs that
    def get(self, name: str, default: T | None = None) -> T | None:  # type: ignore[override]
        return self._entries.get(name, default) if name in self else default

    def check(self, name: str) -> str:
        """``name`` itself if it is registered (for validators); else :class:`UnknownName`."""
        self[name]
        return name

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {list(self._entries)})"


def registered(registry: Registry[Any]) -> AfterValidator:
    """Pydantic metadata for a setting that names an entry of ``registry``:
    ``Annotated[str, registered(REGISTRY)]`` is a string refused with the registry's one error
    (:meth:`Registry.check`) unless registered.  A type checker sees a plain ``str``."""
    return AfterValidator(registry.check)
