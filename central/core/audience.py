"""Who may connect, and which connections hear about an alarm of a given site.

Pure: the push hub registers its connections here and asks for the recipients of a site; a
test can check the routing without a socket.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

from central.core.model import Person

C = TypeVar("C", bound=Hashable)


def _digest(token: str) -> bytes:
    # Looking tokens up by their hash keeps the lookup's timing unrelated to the secret.
    return hashlib.sha256(token.encode()).digest()


class Directory:
    """The people of the configuration, found by their bearer token."""

    def __init__(self, people: Iterable[Person]) -> None:
        self._by_token: dict[bytes, Person] = {}
        for person in people:
            self._by_token[_digest(person.token)] = person

    def authenticate(self, token: str | None) -> Person | None:
        if not token:
            return None
        return self._by_token.get(_digest(token))

    def __len__(self) -> int:
        return len(self._by_token)


class Audience(Generic[C]):
    """Connections grouped by the sites their person may see; ``"*"`` people hear all sites."""

    def __init__(self) -> None:
        # dicts as ordered sets: recipients come out in the order they connected.
        self._by_site: dict[str, dict[C, None]] = {}
        self._everywhere: dict[C, None] = {}
        self._sites_of: dict[C, tuple[str, ...]] = {}

    def add(self, connection: C, person: Person) -> None:
        if connection in self._sites_of:
            return
        if person.everywhere:
            self._everywhere[connection] = None
            self._sites_of[connection] = ()
            return
        sites = tuple(sorted(person.sites))
        self._sites_of[connection] = sites
        for site in sites:
            self._by_site.setdefault(site, {})[connection] = None

    def discard(self, connection: C) -> None:
        sites = self._sites_of.pop(connection, None)
        if sites is None:
            return
        self._everywhere.pop(connection, None)
        for site in sites:
            group = self._by_site[site]
            del group[connection]
            if not group:
                del self._by_site[site]

    def recipients(self, site: str) -> tuple[C, ...]:
        """A snapshot (so a send that drops a connection cannot disturb the iteration)."""
        return (*self._by_site.get(site, ()), *self._everywhere)

    def connections(self) -> tuple[C, ...]:
        return tuple(self._sites_of)

    def __len__(self) -> int:
        return len(self._sites_of)

    def __contains__(self, connection: object) -> bool:
        return connection in self._sites_of
