"""Incident reports (STANDARD 2.4), wired: the pure rules (central.core.reports) to the store,
the screens, the audit trail and an SMTP server.

What happens when:

* A real alarm's resolution is **stored** (``Central._written``): :meth:`Reports.resolved`
  decides who is asked, keeps the asks, and sends each a ``report_ask`` frame on their desks;
  a desk that connects later gets its open asks again (:meth:`Reports.joined`).
* A report is **filed** (:meth:`Reports.file`): the report, the asks it answers and one e-mail
  owed to each leader and safety representative of the site are written in one transaction;
  then their desks get a ``report_filed`` frame and the outbox loop is woken.
* The **outbox loop** (:meth:`Reports._mail_forever`) sends what is owed, one message at a
  time on a worker thread, and marks each sent once the SMTP server took it; a failure is
  tried again later (after 5 s, doubling up to ``[email] retry_max_s``), across restarts of
  central too, since the outbox is the table. A crash in the moment between the server's
  "250 OK" and the commit of "sent" would send that one message again: its Message-ID is the
  same, so a receiving system can drop it.
* **Retention** (:meth:`Reports.tick`): at every start of central and then every
  ``[reports] retention_every_h`` hours, reports older than their site's setting are
  anonymised and the run is recorded (``report_retention_runs``; the audit trail too).

Nothing here is on the alarm path: a failure is logged, and an alarm never waits for it.
Reads and writes of reports always go to the database (nothing is cached), so a report changed
by the CLI's retention run is never shown from memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import sqlite_utils

from central import mail
from central.audit.trail import Trail
from central.config import CentralSettings
from central.core import Person
from central.core.reports import (
    READERS,
    Draft,
    Report,
    asks_for,
    closes,
    follow_up,
    mail_text,
    mark_seen,
    may_read,
    may_read_log,
    meeting_owners,
    reads_site,
    recipients,
    retry_after,
    seats,
)
from central.core.reports import file as file_report
from central.push.hub import Hub, Screen
from central.push.wire import Prepared
from central.standby import Standby
from central.store import Store
from central.store import accounts as account_rows
from central.store import reports as rows
from protocol import AlarmLevel
from protocol.screen import AlarmState, AlarmView, ReportAsk, ReportFiled, encode_frame

log = logging.getLogger("central.reports")

#: At start, a real alarm resolved this recently with nobody asked yet is decided again (its
#: resolution was stored, central stopped before its asks were).
CATCH_UP = timedelta(hours=1)
#: The outbox loop looks at the table at least this often (a row written by another process).
MAIL_POLL = timedelta(seconds=30)


def ask_path(alarm_id: UUID) -> str:
    return f"/reports/new?alarm={alarm_id}"


def report_path(report_id: UUID) -> str:
    return f"/reports/{report_id}"


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
        self._wake = asyncio.Event()
        self._mailer: asyncio.Task[None] | None = None
        self._retention: asyncio.Task[None] | None = None
        self._next_retention: datetime | None = None
        self.mail_sent = 0  # e-mails handed to the SMTP server since start (health, tests)

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
        if self.settings.email is not None:
            self._mailer = asyncio.create_task(self._mail_forever(), name="report-mail")
        log.info("incident reports: %d asks open", len(self._open))

    async def stop(self) -> None:
        for task in (self._mailer, self._retention):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    @property
    def _every(self) -> timedelta:
        return timedelta(hours=self.settings.reports.retention_every_h)

    # --- asks after an alarm -------------------------------------------------------------

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
        for found in kept:
            key = (found.ask.alarm_id, found.ask.user)
            if key in self._open:
                continue
            self._open[key] = found
            what = f"{found.ask.why.value}, site={found.ask.site}"
            self.trail.record(
                "central", "report_asked", str(found.ask.alarm_id), f"{found.ask.user} ({what})"
            )
            log.info(
                "alarm %s: %s asked to file a report (%s)",
                found.ask.alarm_id,
                found.ask.user,
                found.ask.why,
            )
            self._to_user(found.ask.user, found.ask.site, self._ask_frame(found))

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
            asked = self._open.get((draft.alarm_id, person.user_id))
            if asked is None and (alarm is None or not self._may_name(person, alarm)):
                return "unknown_alarm"
        now = self.clock()
        report = file_report(report_id, person, draft, now)
        if isinstance(report, str):
            return report
        closed = [a.ask for a in self._open.values() if closes(a.ask, report)]
        mails: list[tuple[str, str]] = []
        if self.settings.email is not None:
            mails = list(await self.recipients(report.site))
        await self.store.submit(rows.filed(report, closed, mails, now))
        self.trail.record(person.user_id, "report_filed", str(report_id), f"site={report.site}")
        for ask in closed:
            found = self._open.pop((ask.alarm_id, ask.user), None)
            if found is not None:
                self._to_user(ask.user, ask.site, self._ask_frame(found, closed=True))
        self._tell_readers(report)
        if mails:
            self._wake.set()
        log.info("report %s filed at %s (%d e-mails owed)", report_id, report.site, len(mails))
        return report

    @staticmethod
    def _may_name(person: Person, alarm: AlarmView) -> bool:
        return alarm.raised_by == person.user_id or person.covers(alarm.site)

    async def people(self) -> list[Person]:
        """Everyone central knows: the config's users and the database's enabled accounts."""
        accounts = await self.store.read(account_rows.accounts)
        people = {p.user_id: p for p in self.settings.people()}
        for account in accounts:
            if not account.disabled:
                people.setdefault(account.user_id, account.person())
        return list(people.values())

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
        self.trail.record(person.user_id, "report_read", str(report_id), as_)
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
            self.trail.record(person.user_id, "report_seen", str(report_id), seats_)
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
        self.trail.record(person.user_id, "report_followed_up", str(report_id))
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
            lambda db: rows.mail_of(db, report_id)
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

    async def retain(self, by: str, dry_run: bool = False) -> rows.RetentionRun:
        """Run the retention job now; its run is recorded (and the audit trail told)."""
        now = self.clock()
        run_id = str(uuid4())
        done: list[rows.RetentionRun] = []

        def write(db: sqlite_utils.Database) -> None:
            done.append(
                rows.purge(db, run_id, now, self.settings.report_retention_days, by, dry_run)
            )

        write.__name__ = "report_retention"
        await self.store.submit(write)
        run = done[0]
        detail = f"anonymised={run.anonymised} of {run.checked}" + (" (dry run)" if dry_run else "")
        self.trail.record(by, "reports_retention", run_id, detail)
        log.info("report retention (%s): %s", by, detail)
        return run

    # --- the e-mail outbox ---------------------------------------------------------------

    async def _mail_forever(self) -> None:
        while True:
            try:
                await self._send_due()
                upcoming = await self.store.read(rows.next_mail_at)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug or the store: never stop for good
                log.exception("report e-mail outbox failed; trying again")
                upcoming = None
            now = self.clock()
            wait = MAIL_POLL
            if upcoming is not None:
                wait = max(timedelta(0), min(wait, upcoming - now))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait.total_seconds())

    async def _send_due(self) -> None:
        email = self.settings.email
        if email is None:
            return
        due: list[rows.Mail] = await self.store.read(lambda db: rows.due_mail(db, self.clock()))
        cap = timedelta(seconds=email.retry_max_s)
        for owed in due:
            name = self.site_names.get(owed.site, owed.site)
            subject, body = mail_text(name, f"{email.console_url}{report_path(owed.report_id)}")
            message = mail.message(
                email, owed.address, subject, body, f"<report-{owed.report_id}-{owed.user}@trygg>"
            )
            try:
                await asyncio.to_thread(mail.send, email, message)
            except Exception as error:  # every failure is the outbox's to retry or refuse
                attempts = owed.attempts + 1
                if mail.permanent(error):
                    log.error("report e-mail to %s refused for good: %s", owed.user, error)
                    await self.store.submit(rows.mail_failed(owed.mail_id, str(error), None))
                    continue
                later = self.clock() + retry_after(attempts, cap)
                log.warning(
                    "report e-mail to %s not sent (try %d): %s; again at %s",
                    owed.user,
                    attempts,
                    error,
                    later.isoformat(timespec="seconds"),
                )
                await self.store.submit(rows.mail_failed(owed.mail_id, str(error), later))
                continue
            await self.store.submit(rows.mail_sent(owed.mail_id, self.clock()))
            self.mail_sent += 1
            log.info("report %s: e-mail sent to %s", owed.report_id, owed.user)
