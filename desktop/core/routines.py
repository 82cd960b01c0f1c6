"""The routines ask on a desk (STANDARD 1.1, 3.6): "the routines have changed – read and confirm".

Every employee confirms in the console that they have read the office's routines and measures,
and a change of a routine asks them again. Central tells each desk whether they have confirmed
the version they are shown now (``protocol.screen.RoutinesStatus``): in its ``hello`` when it
connects, and in a frame of its own when they confirm. The desk asks quietly while they have
not, and stops
asking once central says they have: it never decides by itself that they have read, because
only the console's page shows what they confirm.

:class:`DeskRoutines` turns central's copies into what to show: an ask (the first one for a
version not read), or its withdrawal (read, confirmed on any screen). The copy central sends
again at each reconnect asks nothing new: "Later" closes the notice for the life of the desk
process, and central asks again when the desk next starts, or when the routines change again
(a new version: a restart of central with new files, which every desk reconnects to).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocol.screen import RoutinesStatus


@dataclass(frozen=True, slots=True)
class RoutinesEvent:
    """Ask the person to read and confirm the routines (``ask``), or no longer (they have)."""

    frame: RoutinesStatus

    @property
    def ask(self) -> bool:
        return not self.frame.read


class DeskRoutines:
    def __init__(self) -> None:
        self._asking: RoutinesStatus | None = None  # the version asked for, until read

    @property
    def asking(self) -> RoutinesStatus | None:
        return self._asking

    def receive(self, frame: RoutinesStatus) -> RoutinesEvent | None:
        if frame.read:
            if self._asking is None:
                return None  # nothing asked: nothing to withdraw
            self._asking = None
            return RoutinesEvent(frame)
        if self._asking is not None and self._asking.version == frame.version:
            return None  # a reconnect's copy: asked already (shown, or put away)
        self._asking = frame
        return RoutinesEvent(frame)


def routines_text(frame: RoutinesStatus, _: Callable[[str], str]) -> str:
    """The ask in words, in the desk's language (the headline, then what to do)."""
    headline = (
        _("The routines have changed – read and confirm")
        if frame.changed
        else _("Read the routines and confirm")
    )
    how = _(
        "The office's routines and measures are in the console: read them, then confirm at"
        " the bottom of the page."
    )
    return f"{headline}\n\n{how}"
