"""One exception tree for the desk client: everything it can refuse or fail at is a DeskError."""

from __future__ import annotations


class DeskError(Exception):
    """Something the desk client cannot do. ``reason`` is short and machine-readable."""

    reason = "desk_error"


class BadCommandLine(DeskError):
    """A line on stdin that is not ``coming|cant_come|resolve <alarm_id>``."""

    reason = "bad_command_line"


class WindowNotBuilt(DeskError):
    """The window client (pop-up, tray, hotkey) does not exist yet; only ``--headless`` runs."""

    reason = "window_not_built"
