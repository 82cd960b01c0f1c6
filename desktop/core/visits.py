"""The visit timer's notice on a desk (protocol.screen.VisitNotice), in words.

Why a module of its own: the notice asks a person to act (call the colleague who has not
checked out of a home visit), so every face of the desk — the headless line, the window —
says the same sentence; it is made here once, without I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from protocol.screen import VisitNotice


def visit_text(frame: VisitNotice, _: Callable[[str], str], zone: tzinfo) -> str:
    """ "Kari Nordmann has not checked out of the home visit (Storgata 1, until 14:30) — call
    them." ``_`` translates the template (desktop.i18n), ``zone`` is the desk's time zone."""
    until = frame.until.astimezone(zone).strftime("%H:%M")
    where = f"{frame.address}, " if frame.address else ""
    template = _("{name} has not checked out of the home visit ({where}until {until}) — call them.")
    return template.format(name=frame.name, where=where, until=until)
