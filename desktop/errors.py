"""One exception tree for the desk client: everything it can refuse or fail at is a DeskError."""

from __future__ import annotations


class DeskError(Exception):
    """Something the desk client cannot do. ``reason`` is short and machine-readable."""

    reason = "desk_error"


class BadCommandLine(DeskError):
    """A line on stdin that is not ``coming|cant_come|resolve <alarm_id>``."""

    reason = "bad_command_line"
