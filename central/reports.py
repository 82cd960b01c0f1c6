"""Incident reports (STANDARD 2.4), wired: the pure rules (central.core.reports) to the store,
the screens, the audit trail and an SMTP server.

What happens when:

* A real alarm's resolution is **stored** (``Central._written``): :meth:`Reports.resolved`
  decides who is asked, keeps the asks, and sends each a ``report_ask`` frame on their desks;
  a desk that connects later gets its open asks again (:meth:`Reports.joined`).
* A report is **filed** (:meth:`Reports.file`): the report, the asks it answers and one e-mail
  owed to each leader and safety representative of the site are written in one transaction;
  then their desks get a ``report_filed`` frame and the outbox loop is woken.
* The **outbox loop** (``central.mailing``) sends what is owed, one message at a time on a
  worker thread, and marks each sent once the SMTP server took it; what failed is tried again
  later, across restarts of central too, since the outbox is the table.
* **Retention** (:meth:`Reports.tick`): at every start of central and then every
  ``[reports] retention_every_h`` hours, reports older than their site's setting are
  anonymised and the run is recorded (``report_retention_runs``; the audit trail too).

The audit trail is kept forever and cannot be edited (it is hash-chained), so what this module
writes to it about reports names no report and nobody who filed one: "a report was filed at
site X", "Lina opened a report of site X as leader". A report's id and its reader's name are in
its read log, which goes with the report's details when it is anonymised (docs/reports.md,
"What the audit trail says about reports"). Asks name the alarm, never the person asked.

Nothing here is on the alarm path: a failure is logged, and an alarm never waits for it.
Reads and writes of reports always go to the database (nothing is cached), so a report changed
by the CLI's retention run is never shown from memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import sqlite_utils

from central.audit.trail import Trail
from central.config import CentralSettings
from central.core import ALL_SITES, Person
from central.core.reports import (
    READERS,
    Draft,
    Report,
    alarm_refusal,
    asks_for,
    closes,
    follow_up,
    mark_seen,
    may_read,
    may_read_log,
    meeting_owners,
    reads_site,
    recipients,
    seats,
)
from central.core.reports import file as file_report
from central.mailing import Mailer, report_path
from central.people import everyone
from central.push.hub import Hub, Screen
from central.push.wire import Prepared
from central.standby import Standby
from central.store import Store, report_mail
from central.store import report_retention as retention
from central.store import reports as rows
from protocol import AlarmLevel
from protocol.screen import AlarmState, AlarmView, ReportAsk, ReportFiled, encode_frame

log = logging.getLogger("central.reports")

#: At start, a real alarm resolved this recently with nobody asked yet is decided again (its
#: resolution was stored, central stopped before its asks were).
CATCH_UP = timedelta(hours=1)
#: The audit trail's actor for what a report's filer did: nobody is named (the module's words).
UNNAMED = ""


def ask_path(alarm_id: UUID) -> str:
    return f"/reports/new?alarm={alarm_id}"


class Reports:
    """Create with central's parts; ``await start(kept)`` after the store and the standby book
    are open, ``await stop()`` before the store closes."""

    def __init__(
        self,
        settings: CentralSettings,
        store: Store,
        hub: Hub,
        trail: Trail,
        standby: Standby,
        clock: Callable[[], datetime],
        site_names: dict[str, str],
    ) -> None:
        self.settings = settings
        self.store = store
        self.hub = hub
        self.trail = trail
        self.standby = standby
        self.clock = clock
        self.site_names = site_names
        self._open: dict[tuple[UUID, str], rows.StoredAsk] = {}  # asks not yet answered
        self._decided: set[UUID] = set()  # alarms whose asks were decided (once each)
        self.mailer: Mailer | None = None
        if settings.email is not None:
            self.mailer = Mailer(settings.email, store, clock, site_names)
        self._retention: asyncio.Task[None] | None = None
        self._next_retention: datetime | None = None

    # --- lifecycle -----------------------------------------------------------------------

    async def start(self, kept: Iterable[AlarmView]) -> None:
        stored: list[rows.StoredAsk] = await self.store.read(rows.asks)
        self._open = {(a.ask.alarm_id, a.ask.user): a for a in stored}
        now = self.clock()
        since = now - CATCH_UP
        asked: set[UUID] = await self.store.read(lambda db: rows.asked_alarms(db, since))
        self._decided |= asked
        for view in kept:
            if view.resolved_at is not None and view.resolved_at >= since:
                self.resolved(view)
        # The job runs once at every start (cheap: one query when nothing is due), then every
        # ``retention_every_h``: a central that was down for a while catches up at once.
        self._next_retention = now
        if self.mailer is not None:
            self.mailer.start()
        log.info("incident reports: %d asks open", len(self._open))

    async def stop(self) -> None:
        if self.mailer is not None:
            await self.mailer.stop()
        if self._retention is not None:
            self._retention.cancel()
            await asyncio.gather(self._retention, return_exceptions=True)

    @property
    def _every(self) -> timedelta:
        return timedelta(hours=self.settings.reports.retention_every_h)

    # --- asks after an alarm -------------------------------------------------------------

    def merged(self, alarm_id: UUID) -> None:
        """``alarm_id`` was resolved as a member of a flood card: the card's own resolution
        asks for the flood's one report, so this alarm asks nobody."""
        self._decided.add(alarm_id)

    def resolved(self, view: AlarmView) -> None:
        """A stored alarm row: if it is a real alarm's resolution, ask who should report it."""
        if view.state is not AlarmState.RESOLVED or view.alarm_id in self._decided:
            return
        self._decided.add(view.alarm_id)
        try:
            owners: tuple[str, ...] = ()
            if not view.raised_by:
                meetings = self.standby.book.at_sites(lambda site: site == view.site)
                owners = meeting_owners(meetings, view.site, self._rooms_of(view), view.raised_at)
            asks = asks_for(view, owners)
        except Exception:  # never in the way of the alarm path
            log.exception("alarm %s: could not decide who is asked for a report", view.alarm_id)
            return
        if not asks:
            return
        now = self.clock()
        kept = tuple(
            rows.StoredAsk(
                ask, view.room, view.level.value, view.raised_at, view.resolved_at or now, now
            )
            for ask in asks
        )
        future = self.store.submit(rows.asked(kept))
        future.add_done_callback(lambda f: self._asked(kept, f))

    def _asked(self, kept: tuple[rows.StoredAsk, ...], future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            log.error(
                "report asks not stored: %s", None if future.cancelled() else future.exception()
            )
            return
        new = [f for f in kept if (f.ask.alarm_id, f.ask.user) not in self._open]
        for found in new:
            self._open[(found.ask.alarm_id, found.ask.user)] = found
            self._to_user(found.ask.user, found.ask.site, self._ask_frame(found))
        if new:
            # The trail keeps that the routine asked after this alarm, not whom (module's words).
            ask = new[0].ask
            what = f"site={ask.site}; {len(new)} asked ({ask.why.value})"
            self.trail.record("central", "report_asked", str(ask.alarm_id), what)
            log.info("alarm %s: %s", ask.alarm_id, what)

    def _ask_frame(self, found: rows.StoredAsk, closed: bool = False) -> Prepared:
        ask = found.ask
        frame = ReportAsk(
            alarm_id=ask.alarm_id,
            site=ask.site,
            site_name=self.site_names.get(ask.site),
            room=found.room,
            level=AlarmLevel(found.level),
            raised_at=found.raised_at,
            resolved_at=found.resolved_at,
            why=ask.why.value,
            path=ask_path(ask.alarm_id),
            closed=closed,
        )
        return Prepared(encode_frame(frame))

    def _rooms_of(self, view: AlarmView) -> frozenset[str]:
        rooms = {view.room}
        plan = self.settings.site(view.site)
        if plan is not None and (room := plan.room_of(view.device, view.room)) is not None:
            rooms.add(room.name)
        return frozenset(rooms)

    def joined(self, screen: Screen) -> None:
        """A desk connected: every report its person still owes, again."""
        user = screen.person.user_id
        for (_, asked_user), found in sorted(self._open.items(), key=lambda i: i[1].asked_at):
            if asked_user == user:
                self.hub.send(screen, self._ask_frame(found))

    def asked_of(self, person: Person | None) -> list[rows.StoredAsk]:
        """The reports ``person`` has been asked to file and has not (the console's banner)."""
        if person is None:
            return []
        found = [a for (_, user), a in self._open.items() if user == person.user_id]
        return sorted(found, key=lambda a: a.raised_at, reverse=True)

    def ask(self, person: Person, alarm_id: UUID) -> rows.StoredAsk | None:
        return self._open.get((alarm_id, person.user_id))

    async def not_needed(self, person: Person, alarm_id: UUID) -> bool:
        """The person asked says no report is needed (a press by mistake): recorded."""
        found = self._open.get((alarm_id, person.user_id))
        if found is None:
            return False
        now = self.clock()
        await self.store.submit(rows.ask_closed(alarm_id, person.user_id, "not_needed", now))
        self._open.pop((alarm_id, person.user_id), None)
        self.trail.record(person.user_id, "report_not_needed", str(alarm_id))
        self._to_user(person.user_id, found.ask.site, self._ask_frame(found, closed=True))
        return True

    # --- filing --------------------------------------------------------------------------

    async def file(
        self, person: Person, draft: Draft, report_id: UUID, alarm: AlarmView | None
    ) -> Report | str:
        """File ``draft`` for ``person``: the report, or why not (nothing kept then)."""
        if self.settings.site(draft.site) is None or not person.covers(draft.site):
            return "not_your_site"
        if draft.alarm_id is not None:
            refused = self._alarm_refusal(person, draft.alarm_id, draft, alarm)
            if refused is not None:
                return refused
        now = self.clock()
        report = file_report(report_id, person, draft, now)
        if isinstance(report, str):
            return report
        closed = [a.ask for a in self._open.values() if closes(a.ask, report)]
        mails: list[tuple[str, str]] = []
        if self.settings.email is not None:
            mails = list(await self.recipients(report.site))
        await self.store.submit(rows.filed(report, closed, mails, now))
        # Neither who nor which report: that a report was filed at the site (module's words).
        self.trail.record(UNNAMED, "report_filed", report.site)
        for ask in closed:
            found = self._open.pop((ask.alarm_id, ask.user), None)
            if found is not None:
                self._to_user(ask.user, ask.site, self._ask_frame(found, closed=True))
        self._tell_readers(report)
        if mails and self.mailer is not None:
            self.mailer.wake()
        log.info("report %s filed at %s (%d e-mails owed)", report_id, report.site, len(mails))
        return report

    def _alarm_refusal(
        self, person: Person, alarm_id: UUID, draft: Draft, alarm: AlarmView | None
    ) -> str | None:
        """Why ``person`` may not name ``draft``'s alarm, or None: one they were asked about,
        raised, or whose site they cover; of the report's site; a real alarm, not a test or a
        drill (an ask is only ever made after a real alarm)."""
        asked = self._open.get((alarm_id, person.user_id))
        if alarm is not None:
            if asked is None and not (
                alarm.raised_by == person.user_id or person.covers(alarm.site)
            ):
                return "unknown_alarm"
            return alarm_refusal(draft.site, alarm.site, real=not (alarm.test or alarm.drill))
        if asked is None:
            return "unknown_alarm"
        return alarm_refusal(draft.site, asked.ask.site, real=True)

    def alarm_site(self, person: Person, alarm_id: UUID, alarm: AlarmView | None) -> str | None:
        """The site of the alarm a report names (the alarm's, else the ask's), if known."""
        if alarm is not None:
            return alarm.site
        asked = self._open.get((alarm_id, person.user_id))
        return asked.ask.site if asked is not None else None

    async def people(self) -> list[Person]:
        """Everyone who can sign in now (central.people: one rule for every part)."""
        return await everyone(self.settings, self.store)

    async def recipients(self, site: str) -> tuple[tuple[str, str], ...]:
        """(user, address) of the site's leaders and safety representatives with an address."""
        emails = {u.id: u.email for u in self.settings.users if u.email}
        stored: dict[str, str] = await self.store.read(rows.contacts)
        for user, address in stored.items():
            emails.setdefault(user, address)
        return recipients(site, await self.people(), emails)

    def _tell_readers(self, report: Report) -> None:
        """The desks of the site's leaders and safety representatives: a new report."""
        frame = Prepared(
            encode_frame(
                ReportFiled(
                    report_id=report.report_id,
                    site=report.site,
                    site_name=self.site_names.get(report.site),
                    filed_at=report.filed_at,
                    path=report_path(report.report_id),
                )
            )
        )
        for screen in self.hub.screens(report.site):
            if seats(screen.person, report.site):
                self.hub.send(screen, frame)

    def _to_user(self, user: str, site: str, frame: Prepared) -> None:
        chosen = frozenset({user})
        self.hub.broadcast(site, frame, chosen, users=chosen)

    # --- reading and following up --------------------------------------------------------

    async def read(self, person: Person, report_id: UUID) -> Report | None:
        """The report if ``person`` may read it (the opening is logged), else None."""
        found: Report | None = await self.store.read(lambda db: rows.report(db, report_id))
        if found is None or not may_read(person, found):
            return None
        as_ = self.reading_as(person, found)
        now = self.clock()
        await self.store.submit(
            rows.read_logged((report_id,), person.user_id, person.name, as_, now)
        )
        # Their own report: not named, or the trail would say who filed one (module's words).
        actor = UNNAMED if "own" in as_.split(",") else person.user_id
        self.trail.record(actor, "report_read", found.site, as_)
        return found

    @staticmethod
    def reading_as(person: Person, report: Report) -> str:
        """How ``person`` reads ``report``: ``own``, and/or the roles that let them."""
        held = ["own"] if report.filed_by == person.user_id else []
        if reads_site(person, report.site):
            held += sorted(r.value for r in person.roles & READERS)
        return ",".join(held)

    async def seen(self, person: Person, report_id: UUID) -> Report | str:
        found: Report | None = await self.store.read(lambda db: rows.report(db, report_id))
        if found is None or not may_read(person, found):
            return "unknown_report"
        marks = mark_seen(found, person, self.clock())
        if isinstance(marks, str):
            return marks
        if marks:
            await self.store.submit(rows.seen_added(report_id, marks))
            seats_ = ",".join(m.seat.value for m in marks)
            self.trail.record(person.user_id, "report_seen", found.site, seats_)
        again: Report | None = await self.store.read(lambda db: rows.report(db, report_id))
        return again if again is not None else "unknown_report"

    async def follow_up(self, person: Person, report_id: UUID, text: str) -> Report | str:
        found: Report | None = await self.store.read(lambda db: rows.report(db, report_id))
        if found is None or not may_read(person, found):
            return "unknown_report"
        done = follow_up(found, person, text, self.clock())
        if isinstance(done, str):
            return done
        await self.store.submit(rows.followed_up(report_id, done))
        self.trail.record(person.user_id, "report_followed_up", found.site)
        again: Report | None = await self.store.read(lambda db: rows.report(db, report_id))
        return again if again is not None else "unknown_report"

    async def reads(self, person: Person, report_id: UUID) -> list[rows.Read] | None:
        """The read log of a report, for its site's safety representative (and admin)."""
        found: Report | None = await self.store.read(lambda db: rows.report(db, report_id))
        if found is None or not may_read_log(person, found.site):
            return None
        listed: list[rows.Read] = await self.store.read(lambda db: rows.reads(db, report_id))
        return listed

    async def mail_of(self, report_id: UUID) -> list[dict[str, object]]:
        found: list[dict[str, object]] = await self.store.read(
            lambda db: report_mail.mail_of(db, report_id)
        )
        return found

    async def mine(self, person: Person) -> list[Report]:
        found: list[Report] = await self.store.read(
            lambda db: rows.listed(db, filed_by=person.user_id)
        )
        return found

    def readable_sites(self, person: Person) -> frozenset[str] | None:
        """The sites whose reports ``person`` reads (None: every site), or an empty set."""
        if person.everywhere and reads_site(person, "*"):
            return None
        return frozenset(s.id for s in self.settings.sites if reads_site(person, s.id))

    async def of_sites(
        self,
        person: Person,
        site: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 500,
    ) -> list[Report]:
        """The reports of the sites ``person`` reads (optionally one site and a period)."""
        sites = self.readable_sites(person)
        if site is not None:
            if sites is not None and site not in sites:
                return []
            if not reads_site(person, site):
                return []
            sites = frozenset({site})
        if sites is not None and not sites:
            return []
        found: list[Report] = await self.store.read(
            lambda db: rows.listed(db, sites=sites, since=since, until=until, limit=limit)
        )
        return found

    # --- retention -----------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Start the retention job when it is due (one at a time)."""
        due = self._next_retention
        if due is None or now < due:
            return
        if self._retention is not None and not self._retention.done():
            return
        self._next_retention = now + self._every
        self._retention = asyncio.create_task(self._scheduled(), name="report-retention")

    async def _scheduled(self) -> None:
        try:
            await self.retain("schedule")
        except Exception:  # the next run tries again
            log.exception("the report retention job failed")

    async def retain(self, by: str, dry_run: bool = False) -> retention.RetentionRun:
        """Run the retention job now; its run is recorded (and the audit trail told)."""
        now = self.clock()
        run_id = str(uuid4())
        done: list[retention.RetentionRun] = []

        def write(db: sqlite_utils.Database) -> None:
            done.append(
                retention.purge(db, run_id, now, self.settings.report_retention_days, by, dry_run)
            )

        write.__name__ = "report_retention"
        await self.store.submit(write)
        run = done[0]
        detail = f"anonymised={run.anonymised} of {run.checked}" + (" (dry run)" if dry_run else "")
        self.trail.record(by, "reports_retention", run_id, detail)
        log.info("report retention (%s): %s", by, detail)
        if run.anonymised and not dry_run and not await self.store.read(retention.forget_freed):
            log.warning("report retention: the write-ahead log is busy; emptied at the next run")
        return run

    async def retention_runs(self, person: Person) -> list[retention.RetentionRun]:
        """The retention job's runs as ``person`` may see them: the counts of the sites whose
        read log they read (every site's for a safety representative or admin of all)."""
        found: list[retention.RetentionRun] = await self.store.read(retention.runs)
        if may_read_log(person, ALL_SITES):
            return found
        return [run_of_sites(run, lambda site: may_read_log(person, site)) for run in found]


def run_of_sites(
    run: retention.RetentionRun, shown: Callable[[str], bool]
) -> retention.RetentionRun:
    """``run`` with only the sites ``shown`` accepts, its totals theirs. (A run recorded before
    the per-site count of reports checked has no such count: ``checked`` is None then.)"""
    detail = {site: counts for site, counts in run.detail.items() if shown(site)}
    checked: int | None = sum(c.get("checked", 0) for c in detail.values())
    if any("checked" not in c for c in detail.values()):
        checked = None
    anonymised = sum(c.get("anonymised", 0) for c in detail.values())
    return replace(run, detail=detail, checked=checked, anonymised=anonymised)
