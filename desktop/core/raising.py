"""Did the silent alarm go? The desk must know, because its user is counting on it.

A silent alarm shows nothing to its own user after the countdown (:mod:`desktop.core.silent`),
so a raise that never reached central would look exactly like one that did. Three ways it can
fail, each told to the user at once with what to do instead (call, press a button):

* ``refused``: central answered with an error frame for it (``not_your_site: raise <id>``,
  ``forbidden: raise <id>``, ...); re-sending cannot help, so it is not re-sent;
* ``no_answer``: connected, but central did not show the alarm stored within
  ``confirm_within_s`` seconds (central frozen, or the link dead while TCP still looks open);
* ``not_connected``: there was no connection to central when the countdown ended.

The last two stay queued in :class:`desktop.core.DeskCore` and go out when the connection is
back (a late alarm is better than none); the user is told now that it has not gone yet.
Each raise fails at most once, and a confirmed one never fails. ``now`` is a monotonic number
of seconds from the caller, so this is deterministic and tested by exact equality.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

CONFIRM_WITHIN_S = 5.0

# How central words a refusal of a screen's command (central/service.py): "<reason>: raise <id>".
_REFUSAL = re.compile(r"^(?P<reason>[\w.-]+): raise (?P<alarm_id>[0-9a-fA-F-]{36})$")


class RaiseFailure(StrEnum):
    REFUSED = "refused"
    NO_ANSWER = "no_answer"
    NOT_CONNECTED = "not_connected"


@dataclass(frozen=True, slots=True)
class RaiseFailed:
    """The silent alarm ``alarm_id`` did not go (yet): ``failure``; central's ``reason`` if
    it refused it."""

    alarm_id: UUID
    failure: RaiseFailure
    reason: str = ""


def refused_raise(error_reason: str) -> tuple[UUID, str] | None:
    """``(alarm_id, reason)`` when central's error frame refuses a raise; otherwise None."""
    match = _REFUSAL.match(error_reason.strip())
    if match is None:
        return None
    try:
        return UUID(match["alarm_id"]), match["reason"]
    except ValueError:
        return None


@dataclass
class RaiseWatch:
    """Raises sent and not yet confirmed, with the time by which each must be."""

    confirm_within_s: float = CONFIRM_WITHIN_S
    _deadlines: dict[UUID, float] = field(default_factory=dict, init=False)
    _told: set[UUID] = field(default_factory=set, init=False)  # failed once: said once

    @property
    def waiting(self) -> frozenset[UUID]:
        return frozenset(self._deadlines)

    def sent(self, alarm_id: UUID, now: float, connected: bool) -> RaiseFailed | None:
        """A raise handed to the client; a failure at once if there is no connection."""
        if not connected:
            self._told.add(alarm_id)
            return RaiseFailed(alarm_id, RaiseFailure.NOT_CONNECTED)
        self._deadlines[alarm_id] = now + self.confirm_within_s
        return None

    def confirmed(self, alarm_id: UUID) -> None:
        self._deadlines.pop(alarm_id, None)

    def refused(self, alarm_id: UUID, reason: str) -> RaiseFailed:
        self._deadlines.pop(alarm_id, None)
        self._told.add(alarm_id)
        return RaiseFailed(alarm_id, RaiseFailure.REFUSED, reason)

    def due(self, now: float) -> tuple[RaiseFailed, ...]:
        """Raises whose time is up, each once."""
        late = sorted((a for a, at in self._deadlines.items() if now >= at), key=str)
        for alarm_id in late:
            del self._deadlines[alarm_id]
        fresh = [a for a in late if a not in self._told]
        self._told.update(fresh)
        return tuple(RaiseFailed(a, RaiseFailure.NO_ANSWER) for a in fresh)

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)
