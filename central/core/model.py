"""Values that flow in and out of the pure core: people, audit events and actions.

The core never does I/O; it returns these actions and the shells (store, push, link) carry
them out. Keeping them frozen dataclasses makes the core's output easy to assert on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from protocol import AckState
from protocol.messages import Responder
from protocol.screen import AlarmNew, AlarmUpdate, AlarmView

ALL_SITES = "*"


class Role(StrEnum):
    """What a person may do; the permissions of each are in ``central.auth.rules``."""

    EMPLOYEE = "employee"  # reads the office's routines and measures (3.6), raises alarms
    RESPONDER = "responder"  # gets alarms of their sites and answers them
    FACILITY_MANAGER = "facility_manager"  # gets faults, runs test rounds, reads the test log
    SAFETY_REP = "safety_rep"  # verneombud: insight into alarms, tests and measures (2.4)
    LEADER = "leader"  # the unit's manager: insight, and answers alarms
    ADMIN = "admin"  # manages accounts; may do everything
    # A machine's account, not a person's: Prometheus reads /metrics with a bearer token, and
    # that is all the role may do (no desk, no alarm, no console page: central.auth.rules).
    SCRAPER = "scraper"


#: The roles of people (every role but a machine's): who "every employee" is in the rules.
PEOPLE = frozenset(Role) - {Role.SCRAPER}


@dataclass(frozen=True, slots=True)
class Person:
    """A colleague who may log in to a screen. ``sites`` may contain ``"*"`` (every site)."""

    user_id: str
    name: str
    token: str
    sites: frozenset[str]
    roles: frozenset[Role] = frozenset({Role.RESPONDER})

    @property
    def everywhere(self) -> bool:
        return ALL_SITES in self.sites

    @property
    def facility_manager(self) -> bool:
        return Role.FACILITY_MANAGER in self.roles

    def covers(self, site: str) -> bool:
        return self.everywhere or site in self.sites

    def __repr__(self) -> str:  # never print the token
        return f"Person({self.user_id!r}, sites={sorted(self.sites)!r})"


class EventKind(StrEnum):
    """Steps in an alarm's life, as written to the append-only event log."""

    RAISED = "raised"  # central saw the alarm (not yet stored)
    RECEIVED = "received"  # stored; the edge is told
    PRESSED = "pressed"  # the button was pressed again while the alarm was active
    DELIVERED = "delivered"  # a screen has the alarm
    SHOWN = "shown"  # a screen shows the alarm to its user
    COMING = "coming"  # a colleague is coming
    CANT_COME = "cant_come"  # a colleague cannot come
    RESOLVED = "resolved"  # all clear
    ESCALATED = "escalated"  # a stage of the escalation routine was taken (detail: its data)


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    alarm_id: UUID
    kind: EventKind
    at: datetime
    actor: str
    detail: str = ""


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Broadcast:
    """Send ``frame`` to every screen that may see ``site``, now.

    A new alarm (and a further press) is broadcast at once, never waiting for disk; a change
    a person made (coming, can't come, resolved) only once the store committed it, so that no
    screen is ever told of a change that a restart could take back.

    ``only``: a test alarm goes only to these users' screens (the site's test screen, or the
    tester of a round); None means everyone of the site.
    """

    site: str
    frame: AlarmNew | AlarmUpdate
    only: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Persist:
    """Write ``alarm`` (the full row as it is now; None: events only) and append ``events``.

    ``insert`` is the alarm's first write (INSERT OR IGNORE); later writes upsert the row.
    ``ack_after_commit`` asks for an :class:`AckEdge` once the shell reports the commit.
    """

    alarm_id: UUID
    alarm: AlarmView | None
    events: tuple[AlarmEvent, ...]
    insert: bool = False
    ack_after_commit: bool = False


@dataclass(frozen=True, slots=True)
class AckEdge:
    """Publish the application ack to the device. Only ever produced for committed state.

    ``presses`` is the committed row's count: the device keeps re-sending a higher one.
    ``input`` is the alarm's input: a device that does not hold the alarm takes it up there
    (None for a test alarm, which no device takes up). ``rev`` is the committed row's revision
    (None for a row stored before revisions), ``shown`` whether a colleague's screen has it,
    ``drill`` whether it is a drill (the device shows its drill pattern; docs/drills.md).
    """

    site: str
    device: str
    alarm_id: UUID
    state: AckState
    responders: tuple[Responder, ...]
    at: datetime
    presses: int
    input: str | None
    rev: int | None = None
    shown: bool = True
    drill: bool = False


@dataclass(frozen=True, slots=True)
class Refusal:
    """A command or message that changed nothing, and why (told to the screen, logged)."""

    alarm_id: UUID
    reason: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Tell ``user``'s screens of ``site`` that their change of ``alarm_id`` (``what``: an
    :class:`EventKind`) is not stored yet: the write failed and is retried until it is. Screens
    see the change once it is stored, so without this the person would be left wondering."""

    site: str
    user: str
    alarm_id: UUID
    what: EventKind
    reason: str = "not_stored_yet"


Action = Broadcast | Persist | AckEdge | Refusal | Notice
