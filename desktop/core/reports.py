"""Incident reports on a desk (STANDARD 2.4): "please write a report" and "a new report came".

Central asks the person who raised a real alarm, once it is resolved, to file an incident report
(``protocol.screen.ReportAsk``), and tells the site's leader and safety representative when one
is filed (``ReportFiled``). Neither frame carries what happened: the desk only prompts, without
a modal window or a sound (the alarm is over; nobody must be interrupted again), and opens the
console's form or the report in the browser, where the person signs in as usual.

:class:`DeskReports` remembers what this desk was asked for the life of the process, so the
copy central sends again at each reconnect does not prompt again; a ``closed`` ask (filed on
another screen) withdraws the prompt. :func:`console_url` turns the frame's path into the
console's address from the desk's own ``server`` setting (``wss://host/ws`` → ``https://host``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import tzinfo
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from protocol.screen import ReportAsk, ReportFiled


@dataclass(frozen=True, slots=True)
class ReportEvent:
    """A prompt to show (``frame`` a :class:`ReportAsk`), to withdraw (an ask ``closed``), or a
    new report to tell a leader or safety representative of (a :class:`ReportFiled`)."""

    frame: ReportAsk | ReportFiled

    @property
    def withdrawn(self) -> bool:
        return isinstance(self.frame, ReportAsk) and self.frame.closed


class DeskReports:
    def __init__(self) -> None:
        self._asked: dict[UUID, ReportAsk] = {}  # open prompts, by alarm
        self._done: set[UUID] = set()  # asks closed, reports told: never again

    @property
    def open(self) -> tuple[ReportAsk, ...]:
        return tuple(self._asked.values())

    def receive(self, frame: ReportAsk | ReportFiled) -> ReportEvent | None:
        if isinstance(frame, ReportFiled):
            if frame.report_id in self._done:
                return None
            self._done.add(frame.report_id)
            return ReportEvent(frame)
        if frame.closed:
            self._done.add(frame.alarm_id)
            return ReportEvent(frame) if self._asked.pop(frame.alarm_id, None) else None
        if frame.alarm_id in self._asked or frame.alarm_id in self._done:
            return None
        self._asked[frame.alarm_id] = frame
        return ReportEvent(frame)

    def dismissed(self, alarm_id: UUID) -> None:
        """The user put the prompt away ("later"): not shown again by this desk process."""
        self._asked.pop(alarm_id, None)


def console_url(server: str, path: str) -> str:
    """The console's address of ``path`` on the central at ``server`` (the desk's websocket
    URL): ``ws`` becomes ``http``, ``wss`` becomes ``https``, the socket's path is replaced."""
    parts = urlsplit(server)
    scheme = "https" if parts.scheme == "wss" else "http"
    target = urlsplit(path)
    if target.scheme or target.netloc or not target.path.startswith("/"):
        raise ValueError(f"not a path on central: {path!r}")
    return urlunsplit((scheme, parts.netloc, target.path, target.query, ""))


def report_text(frame: ReportAsk | ReportFiled, _: Callable[[str], str], zone: tzinfo) -> str:
    """The prompt in words, in the desk's language."""
    if isinstance(frame, ReportFiled):
        where = frame.site_name or frame.site
        return _("A new incident report has been filed at {site}. Open it in the console.").format(
            site=where
        )
    clock = frame.raised_at.astimezone(zone).strftime("%H:%M")
    return _(
        "The alarm in {room} at {clock} is over. Please write an incident report for your"
        " leader and the safety representative."
    ).format(room=frame.room, clock=clock)
