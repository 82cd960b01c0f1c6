"""Outbox policy: which alarms must be (re)sent, and when.

An alarm stays pending from the moment it is raised until central's application ack (any
:class:`~protocol.AckState`: central acks only after it has stored the alarm). Pending alarms are
sent

* at once when raised (if connected),
* all of them on every (re)connect, because a PUBACK from a broker that then died proves nothing,
* again every ``resend_interval`` while still unacked (central may have been down or lost them).

A re-press makes an acked alarm pending again: the higher ``presses`` must reach central too.
So an ack settles an alarm only if it confirms the local count (:func:`ack_settles`): an ack for
``presses=1`` that was already on its way when the button was pressed again must not clear the
outbox entry of ``presses=2``. Resending the same ``alarm_id`` is safe: central de-duplicates
by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from protocol import AckState


def ack_settles(local_presses: int, state: AckState, acked_presses: int | None) -> bool:
    """Does an ack confirm everything the device has to say about its alarm?

    ``acked_presses`` None: a central that predates the field, whose ack settles any count.
    A resolved alarm records no more presses, so resending a higher count would never end.
    """
    if acked_presses is None or state is AckState.RESOLVED:
        return True
    return acked_presses >= local_presses


@dataclass(slots=True)
class _Pending:
    last_sent: datetime | None  # None: never sent by this process (e.g. restored at start)
    presses: int = 1


class OutboxPolicy:
    def __init__(self, resend_interval: timedelta) -> None:
        if resend_interval <= timedelta(0):
            raise ValueError("resend_interval must be positive")
        self._interval = resend_interval
        self._pending: dict[UUID, _Pending] = {}
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def pending(self) -> tuple[UUID, ...]:
        """Unacked alarms, oldest first."""
        return tuple(self._pending)

    def is_pending(self, alarm_id: UUID) -> bool:
        return alarm_id in self._pending

    def raised(self, alarm_id: UUID, now: datetime, presses: int = 1) -> bool:
        """A new (or re-pressed, with ``presses``) alarm. True if it should be published now."""
        self._pending.pop(alarm_id, None)  # re-insert: order by latest change
        self._pending[alarm_id] = _Pending(now if self._connected else None, presses)
        return self._connected

    def restored(self, alarm_id: UUID, presses: int = 1) -> None:
        """An unacked alarm found in the durable outbox at start; sent on the next connect."""
        self._pending.setdefault(alarm_id, _Pending(None, presses))

    def acked(self, alarm_id: UUID, state: AckState, presses: int | None = None) -> bool:
        """Central's ack with the count it stored. True if that settled a pending alarm (the
        durable copy may go); an ack behind the local count leaves it pending, still resent.
        """
        entry = self._pending.get(alarm_id)
        if entry is None or not ack_settles(entry.presses, state, presses):
            return False
        del self._pending[alarm_id]
        return True

    def connect(self, now: datetime) -> list[UUID]:
        """The link is up: every pending alarm goes out again."""
        self._connected = True
        for entry in self._pending.values():
            entry.last_sent = now
        return list(self._pending)

    def disconnect(self) -> None:
        self._connected = False

    def due(self, now: datetime) -> list[UUID]:
        """Pending alarms not sent for ``resend_interval`` (none while disconnected)."""
        if not self._connected:
            return []
        due = []
        for alarm_id, entry in self._pending.items():
            last = entry.last_sent
            # A clock that stepped back (now < last) must not stall resends until it catches up.
            if last is None or now - last >= self._interval or now < last:
                entry.last_sent = now
                due.append(alarm_id)
        return due
