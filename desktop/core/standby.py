"""A colleague asks this desk's user to stand by for a risky meeting (STANDARD 2.2).

Central sends a ``standby`` frame when the meeting is registered, again shortly before it
starts, after each reconnect while it is open, and after the user answered (with the answer):
the desk keeps the latest per meeting and shows it as a notice (the headless desk prints a
line; the window shows a notice). The user's answer is a :class:`StandbyAnswer` that central
checks (only a colleague the meeting asked may answer); a refusal comes back as an error frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from protocol.screen import StandbyAnswer, StandbyFrame


@dataclass(frozen=True, slots=True)
class StandbyEvent:
    """A standby request, new or changed (``frame.answer``: what the user has answered)."""

    frame: StandbyFrame


@dataclass
class DeskStandby:
    """The standby requests this desk has heard of, by meeting."""

    _requests: dict[UUID, StandbyFrame] = field(default_factory=dict)

    @property
    def requests(self) -> Mapping[UUID, StandbyFrame]:
        return self._requests

    def receive(self, frame: StandbyFrame) -> StandbyEvent | None:
        """A request from central: an event if it is new or says something new."""
        if self._requests.get(frame.meeting_id) == frame:
            return None
        self._requests[frame.meeting_id] = frame
        return StandbyEvent(frame)

    @staticmethod
    def answer(meeting_id: UUID, confirm: bool) -> StandbyAnswer:
        """The user's answer, to send to central."""
        return StandbyAnswer(meeting_id=meeting_id, confirm=confirm)


def standby_text(frame: StandbyFrame) -> str:
    """The request in words (English; the window translates its own)."""
    where = frame.room or f"outside the office: {frame.address}"
    when = f"{frame.start:%Y-%m-%d %H:%M}–{frame.end:%H:%M} UTC"
    again = "Reminder: " if frame.reminder else ""
    return (
        f"{again}{frame.owner_name} asks you to stand by for a meeting ({where}, {when}, "
        f"concern {frame.concern}). Your answer: {frame.answer}."
    )
