"""The headless desk client: alarms as JSON lines on stdout, commands as lines on stdin.

stdout carries only machine-readable lines, one JSON object each, flushed at once::

    {"event": "alarm", "alarm_id": "…", "site": "…", "room": "…", "state": "received", …}

``event`` is ``active`` (active when we connected), ``alarm`` (new) or ``update``. A phone's
alarm (``source`` ``mobile``) also has ``where``: its last ``position`` in words (UTC), or
"no position". A line
printed is an alarm shown: the desk tells central ``shown`` once per alarm (not for its own
silent alarm), so the device's LED can say a colleague has it. A facility
manager's desk also prints ``{"event": "fault", "site", "device", "kind", "reason", "at",
"cleared"}`` for every fault raised or cleared; after each (re)connect central sends every open
fault again, so a fault not sent again then is no longer open. Connection news and problems go
to stderr. stdin takes ``coming <alarm_id>``, ``cant_come <alarm_id>`` and
``resolve <alarm_id>``, one per line; a bad line is reported on stderr and ignored.
``silent-alarm`` raises the silent alarm for the config's ``[location]`` at once (a typed line
is no accidental key press, so there is no countdown); if it does not go, stderr says so and
what to do instead.

Evacuation and lockdown: ``{"event": "announcement", "site", "kind", "zone", "by", "by_name",
"at", "active"}`` when one starts, changes or ends (``kind`` ``all_clear``, ``active`` false)
at one of the user's sites, including right after connecting mid-evacuation. stdin takes
``evacuate <site>``, ``lockdown <site>`` and ``all_clear <site>`` (central checks the right).

Standby for a risky meeting (docs/standby.md): ``{"event": "standby", "meeting_id", "site",
"owner", "owner_name", "room", "address", "start", "end", "concern", "note", "answer",
"reminder", "text"}`` when a colleague asks this user to stand by (and when it changes); stdin
takes ``standby <meeting_id> yes`` or ``standby <meeting_id> no``.

Incident reports (docs/reports.md): ``{"event": "report_ask", "alarm_id", "site", "room",
"level", "raised_at", "resolved_at", "why", "path", "closed", "url", "text"}`` when this user is
asked to write a report after a real alarm (``closed`` true: it was filed, drop the prompt);
``{"event": "report_filed", "report_id", "site", "filed_at", "path", "url", "text"}`` on a
leader's or safety representative's desk when a report of their site is filed. ``url`` opens
the console's form or the report in a browser.

Routines read (docs/drills.md) is said on stderr, like connection news, not on stdout: every
desk of a person who has not confirmed the routines is asked at each start, and a consumer of
the alarm lines must not have to skip it. ``routines not confirmed (version V): … read them and
confirm at URL`` when they have not, and ``routines confirmed (version V)`` once they have
confirmed in the console; nothing for a user who has confirmed them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import stat
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import BinaryIO
from uuid import UUID, uuid4

from desktop.client import (
    AnnounceRefused,
    ClientEvent,
    Connected,
    DeskClient,
    Disconnected,
    HelpComing,
    HelpWithdrawn,
    NoLongerActive,
    Refused,
)
from desktop.config import DeskSettings
from desktop.core import (
    AlarmEvent,
    AnnouncementEvent,
    FaultEvent,
    Location,
    RaiseFailed,
    RaiseFailure,
    SilentAlarm,
    TriggerSource,
)
from desktop.core.mobile import position_text
from desktop.core.reports import ReportEvent, console_url, report_text
from desktop.core.routines import RoutinesEvent, routines_text
from desktop.core.standby import StandbyEvent, standby_text
from desktop.core.visits import visit_text
from desktop.errors import BadCommandLine
from protocol import AnnouncementKind
from protocol.screen import (
    AlarmState,
    AnnounceRequest,
    CommandKind,
    FaultFrame,
    ReportFiled,
    VisitNotice,
)

log = logging.getLogger(__name__)

_STDIN_LINE_LIMIT = 4096  # a command line is ~50 bytes

USER_COMMANDS = {
    "coming": CommandKind.COMING,
    "cant_come": CommandKind.CANT_COME,
    "resolve": CommandKind.RESOLVE,
}


SILENT = "silent-alarm"
ANNOUNCE_WORDS = {kind.value: kind for kind in AnnouncementKind}


def parse_command_line(line: str) -> tuple[CommandKind, UUID] | str | AnnounceRequest | None:
    """``(kind, alarm_id)`` from one stdin line; ``"silent-alarm"``; an announcement
    (``evacuate <site>``); ``None`` for a blank line."""
    words = line.split()
    if not words:
        return None
    if words == [SILENT]:
        return SILENT
    if words[0] in ANNOUNCE_WORDS:
        if len(words) != 2:
            raise BadCommandLine(f"expected `{words[0]} <site>` (one site id, nothing else)")
        try:
            return AnnounceRequest(site=words[1], kind=ANNOUNCE_WORDS[words[0]])
        except ValueError:
            raise BadCommandLine(f"{words[1]!r} is not a site id") from None
    kind = USER_COMMANDS.get(words[0])
    if kind is None:
        known = ", ".join((*USER_COMMANDS, SILENT, *ANNOUNCE_WORDS))
        raise BadCommandLine(f"unknown command {words[0]!r}; use {known}")
    if len(words) != 2:
        raise BadCommandLine(f"expected `{words[0]} <alarm_id>` (one alarm id, nothing else)")
    try:
        alarm_id = UUID(words[1])
    except ValueError:
        raise BadCommandLine(f"{words[1]!r} is not an alarm id (a UUID)") from None
    return kind, alarm_id


STANDBY = "standby"
_YES_NO = {"yes": True, "no": False}


def parse_standby_line(words: list[str]) -> tuple[UUID, bool]:
    """``standby <meeting_id> yes|no`` → (meeting, confirm), or :class:`BadCommandLine`."""
    if len(words) != 3 or words[2] not in _YES_NO:
        raise BadCommandLine("expected `standby <meeting_id> yes` or `standby <meeting_id> no`")
    try:
        return UUID(words[1]), _YES_NO[words[2]]
    except ValueError:
        raise BadCommandLine(f"{words[1]!r} is not a meeting id (a UUID)") from None


def standby_line(event: StandbyEvent) -> bytes:
    fields = event.frame.model_dump(mode="json", exclude={"type"})
    line = {"event": STANDBY, **fields, "text": standby_text(event.frame)}
    return json.dumps(line, ensure_ascii=False).encode() + b"\n"


def visit_line(frame: VisitNotice) -> bytes:
    """A colleague has not checked out of a home visit (the visit timer): one JSON line."""
    fields = frame.model_dump(mode="json", exclude={"type"})
    line = {"event": "visit_overdue", **fields, "text": visit_text(frame, str, UTC)}
    return json.dumps(line, ensure_ascii=False).encode() + b"\n"


def report_line(event: ReportEvent, server: str) -> bytes:
    """An incident report to write (or no longer), or a new one filed: one JSON line."""
    frame = event.frame
    kind = "report_filed" if isinstance(frame, ReportFiled) else "report_ask"
    fields = frame.model_dump(mode="json", exclude={"type"})
    line = {
        "event": kind,
        **fields,
        "url": console_url(server, frame.path),
        "text": report_text(frame, str, UTC),
    }
    return json.dumps(line, ensure_ascii=False).encode() + b"\n"


def routines_said(event: RoutinesEvent, server: str) -> str:
    """The stderr line for the routines ask (or its end: confirmed)."""
    frame = event.frame
    if not event.ask:
        return f"routines confirmed (version {frame.version}): no longer asked"
    headline = routines_text(frame, str).splitlines()[0]
    url = console_url(server, frame.path)
    return (
        f"routines not confirmed (version {frame.version}): {headline}; read them and confirm"
        f" at {url}"
    )


def json_line(event: AlarmEvent) -> bytes:
    fields = event.alarm.model_dump(mode="json")
    where = position_text(event.alarm, str, UTC)  # a phone's alarm: its position, in words
    if where is not None:
        fields["where"] = where
    return json.dumps({"event": event.kind.value, **fields}, ensure_ascii=False).encode() + b"\n"


def fault_line(frame: FaultFrame) -> bytes:
    fields = frame.model_dump(mode="json", exclude={"type"})
    return json.dumps({"event": "fault", **fields}, ensure_ascii=False).encode() + b"\n"


def announcement_line(event: AnnouncementEvent) -> bytes:
    fields = event.frame.model_dump(mode="json", exclude={"type", "routine"})
    line = {"event": "announcement", **fields, "active": event.frame.active}
    return json.dumps(line, ensure_ascii=False).encode() + b"\n"


def raise_failed_line(event: RaiseFailed) -> str:
    """The stderr line for a silent alarm that did not go: what happened, what to do."""
    if event.failure is RaiseFailure.REFUSED:
        what = f"did NOT go: central refused it ({event.reason})"
    elif event.failure is RaiseFailure.NO_ANSWER:
        what = "is NOT confirmed: central has not answered; it may not have gone"
    else:
        what = "has NOT gone: no connection to central (it is sent when the connection is back)"
    return (
        f"silent alarm {event.alarm_id} {what}. Get help another way: call 112, "
        "press the alarm button, or call a colleague."
    )


def describe(event: ClientEvent, server: str) -> str | None:
    """The stderr line for an event that is not an alarm (alarms go to stdout)."""
    if isinstance(event, AnnounceRefused):
        return f"announcement for {event.site} NOT done: central refused it ({event.reason})"
    if isinstance(event, Connected):
        hello = event.hello
        return f"connected to {server} as {hello.name} ({hello.user}); sites: " + (
            ", ".join(hello.sites) or "none"
        )
    if isinstance(event, Disconnected) and event.silent:
        return f"NOT receiving alarms: {event.reason}; reconnecting in {event.retry_in_s:.1f} s"
    if isinstance(event, Disconnected):
        return f"not connected: {event.reason}; retrying in {event.retry_in_s:.1f} s"
    if isinstance(event, Refused):
        return (
            f"central refused the token (HTTP {event.status}): check `token` in the config "
            f"file or TRYGG_DESK_TOKEN; retrying in {event.retry_in_s:.0f} s"
        )
    if isinstance(event, NoLongerActive):
        return f"alarm {event.alarm_id} is no longer active (resolved while disconnected?)"
    if isinstance(event, HelpComing):
        return f"{event.responders} colleague(s) coming to the alarm raised here"
    if isinstance(event, HelpWithdrawn):
        return (
            f"nobody is coming to the alarm raised here any more ({event.alarm_id}): "
            "the colleagues who were coming withdrew"
        )
    if isinstance(event, RaiseFailed):
        return raise_failed_line(event)
    if isinstance(event, RoutinesEvent):
        return routines_said(event, server)
    if isinstance(event, FaultEvent) and event.frame is None:
        return "new connection: the open faults are sent again; those not sent are cleared"
    return None


def shows_alarm(event: AlarmEvent) -> bool:
    """Whether a printed line shows a colleague's active alarm to whoever reads this desk (the
    raiser's own silent alarm, a resolved one or one merged into a flood card: no)."""
    alarm = event.alarm
    return not (event.own or alarm.state is AlarmState.RESOLVED or alarm.merged_into is not None)


async def print_events(
    client: DeskClient, events: AsyncIterator[ClientEvent], out: BinaryIO
) -> None:
    reported: set[UUID] = set()  # "shown" sent (central records the first per person)
    async for event in events:
        if isinstance(event, AlarmEvent):
            out.write(json_line(event))
            out.flush()  # a consumer reading line by line must see each alarm at once
            # Printed is shown, for a headless desk: central may now tell the device that a
            # colleague has it (its LED: "received", no longer "stored").
            if shows_alarm(event) and event.alarm.alarm_id not in reported:
                reported.add(event.alarm.alarm_id)
                client.command(CommandKind.SHOWN, event.alarm.alarm_id)
            continue
        if isinstance(event, FaultEvent) and event.frame is not None:
            out.write(fault_line(event.frame))
            out.flush()
            continue
        if isinstance(event, AnnouncementEvent):
            out.write(announcement_line(event))
            out.flush()
            continue
        if isinstance(event, StandbyEvent):
            out.write(standby_line(event))
            out.flush()
            continue
        if isinstance(event, VisitNotice):
            out.write(visit_line(event))
            out.flush()
            continue
        if isinstance(event, ReportEvent):
            out.write(report_line(event, client.settings.server))
            out.flush()
            continue
        message = describe(event, client.settings.server)
        level = logging.INFO
        if isinstance(event, Disconnected | Refused | AnnounceRefused):
            level = logging.WARNING
        elif isinstance(event, RaiseFailed):
            level = logging.ERROR
        log.log(level, "%s", message)


def _watchable(fd: int) -> bool:
    """Whether the event loop can wait on ``fd``: pipes, sockets and terminals, yes; regular
    files and /dev/null, no (epoll refuses them)."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


async def _stdin_lines() -> AsyncIterator[bytes]:
    fd = sys.stdin.fileno()
    if not _watchable(fd):
        # `< commands.txt` or `< /dev/null`: these never block for long, so a thread will do.
        while line := await asyncio.to_thread(sys.stdin.buffer.readline):
            yield line
        return
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_STDIN_LINE_LIMIT)
    # The transport closes its file at EOF; give it a duplicate so that fd 0 stays ours.
    pipe = os.fdopen(os.dup(fd), "rb", buffering=0)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # longer than the reader's limit; the reader dropped it
                log.warning("ignored a stdin line over %d bytes", _STDIN_LINE_LIMIT)
                continue
            if not line:
                return
            yield line
    finally:
        transport.close()
        # The pipe transport made stdin non-blocking; a shell sharing the terminal expects it back.
        os.set_blocking(fd, True)


async def read_commands(client: DeskClient, lines: AsyncIterator[bytes]) -> None:
    rejected: Counter[str] = Counter()
    async for raw in lines:
        text = raw.decode("utf-8", errors="replace").strip()
        if text.split()[:1] == [STANDBY]:
            try:
                meeting_id, confirm = parse_standby_line(text.split())
            except BadCommandLine as exc:
                rejected[exc.reason] += 1
                log.warning("ignored stdin line %r: %s", text, exc)
                continue
            client.answer_standby(meeting_id, confirm)
            continue
        try:
            parsed = parse_command_line(text)
        except BadCommandLine as exc:
            rejected[exc.reason] += 1
            log.warning(
                "ignored stdin line %r: %s (%d ignored so far)", text, exc, rejected.total()
            )
            continue
        if parsed is None:
            continue
        if isinstance(parsed, str):  # the one word command: silent-alarm
            _raise_silent(client)
            continue
        if isinstance(parsed, AnnounceRequest):
            log.warning("%s for %s sent to central", parsed.kind, parsed.site)
            client.announce(parsed)
            continue
        kind, alarm_id = parsed
        if alarm_id not in client.core.active:
            log.info("%s is not an active alarm this screen knows of; sending anyway", alarm_id)
        client.command(kind, alarm_id)
    log.info("stdin closed; still showing alarms (stop with Ctrl-C or SIGTERM)")


def _raise_silent(client: DeskClient) -> None:
    location = client.settings.location
    if location is None:
        log.error("silent-alarm: no [location] in the config file; NOT raised")
        return
    alarm = SilentAlarm(
        Location(location.site, location.room, location.floor),
        level=client.settings.hotkey.level,
        countdown_s=0.0,
    )
    now = datetime.now(UTC)
    alarm.trigger(TriggerSource.HOTKEY, now)
    request = alarm.tick(now, uuid4())
    if request is None:  # no countdown: due at once
        raise RuntimeError("a silent alarm without countdown was not due at once")
    log.info("silent alarm %s raised from stdin", request.alarm_id)
    client.raise_alarm(request)


def _report_reader_failure(task: asyncio.Task[None]) -> None:
    # Alarms keep coming without stdin, so this is not fatal; but the user must know that
    # typed commands no longer reach central.
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("stopped reading commands from stdin: %r", error)


async def run_headless(settings: DeskSettings, *, ack_all: bool = False) -> int:
    """Run until SIGINT/SIGTERM (exit status 0) or until stdout goes away (1)."""
    client = DeskClient(settings, ack_all=ack_all)
    events = client.events()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    runner = asyncio.create_task(client.run(), name="client")
    printer = asyncio.create_task(print_events(client, events, sys.stdout.buffer), name="printer")
    reader = asyncio.create_task(read_commands(client, _stdin_lines()), name="stdin")
    reader.add_done_callback(_report_reader_failure)
    stopped = asyncio.create_task(stop.wait(), name="signal")
    await asyncio.wait({runner, printer, stopped}, return_when=asyncio.FIRST_COMPLETED)

    await client.close()
    for task in (reader, stopped):
        task.cancel()
    try:
        await asyncio.wait_for(runner, 5.0)
    except TimeoutError:
        log.warning("the connection did not close in time; leaving anyway")
    printed = (await asyncio.gather(printer, reader, stopped, return_exceptions=True))[0]
    if isinstance(printed, BrokenPipeError):
        # Whoever read our stdout has gone; point stdout at /dev/null so that the interpreter's
        # final flush does not complain about the broken pipe as well.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        log.error("stdout was closed; stopping")
        return 1
    if isinstance(printed, Exception):
        raise printed
    return 0
