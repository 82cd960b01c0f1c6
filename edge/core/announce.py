"""Evacuation and lockdown at the edge, without I/O: central's ``announce`` in, what the
buzzers sound out; an announcing input's press in, the ``announce/request`` to send out.

Why the buzzer patterns are here and not in ``edge.hw``: they are part of what the room must be
able to tell apart by ear, next to the alarm's own "got through" chirp (one 80 ms beep):

* evacuate: long tones, 1 s on, 0.5 s off, until all clear;
* lockdown: rapid pips, 0.1 s on, 0.3 s off, until all clear.

The retained ``announce`` topic carries the site's state, so a message may repeat what is
already sounding (a reconnect): only a change of kind changes the sound. A press sends one
request, kept (the newest press only) until the broker has confirmed it: a press while the link
is down, or whose publish failed (the link looked up but was going), goes at the next link-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from protocol import AnnouncementKind, AnnounceMessage, AnnounceRequestMessage


@dataclass(frozen=True, slots=True)
class Tone:
    on_s: float
    off_s: float


PATTERNS: dict[AnnouncementKind, Tone] = {
    AnnouncementKind.EVACUATE: Tone(1.0, 0.5),
    AnnouncementKind.LOCKDOWN: Tone(0.1, 0.3),
}


@dataclass(frozen=True, slots=True)
class Sound:
    """Sound ``tone`` on every buzzer until the next :class:`Sound`; None: silence."""

    tone: Tone | None
    kind: AnnouncementKind


class AnnounceCore:
    def __init__(self, site: str, device: str, inputs: dict[str, AnnouncementKind]) -> None:
        self._site = site
        self._device = device
        self._inputs = dict(inputs)  # input name → what it announces
        self._kind = AnnouncementKind.ALL_CLEAR
        self._pending: AnnounceRequestMessage | None = None

    @property
    def kind(self) -> AnnouncementKind:
        """What the site is told now, as last heard from central."""
        return self._kind

    def received(self, message: AnnounceMessage) -> Sound | None:
        """Central's state for this device; the new sound, or None if nothing changes."""
        if message.kind is self._kind:
            return None
        self._kind = message.kind
        return Sound(PATTERNS.get(message.kind), message.kind)

    def pressed(
        self, input_name: str, at: datetime, request_id: UUID, connected: bool
    ) -> AnnounceRequestMessage | None:
        """The request to send now for a press of ``input_name`` (None: not an announcing
        input, or kept until the link is back)."""
        kind = self._inputs.get(input_name)
        if kind is None:
            return None
        request = AnnounceRequestMessage(
            site=self._site,
            device=self._device,
            request_id=request_id,
            kind=kind,
            input=input_name,
            at=at,
        )
        self._pending = request  # the newest press wins: an older one is not sent again
        return request if connected else None

    def sent(self, request: AnnounceRequestMessage) -> None:
        """The broker confirmed ``request`` (PUBACK): it is central's now."""
        if self._pending == request:
            self._pending = None

    def link_up(self) -> AnnounceRequestMessage | None:
        """The newest press the broker has not confirmed (pressed while the link was down, or
        its publish failed), to send now; kept until :meth:`sent`."""
        return self._pending
