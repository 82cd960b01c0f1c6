"""The incident-report e-mail outbox, sent: one loop that hands what is owed to the SMTP server.

Why it is shaped so:

* **The table is the outbox.** ``report_mail`` rows are written with the report, in one
  transaction (``central.store.reports.filed``); this loop only reads what is due, sends it and
  marks each row. A restart of central, or a row written by another process, is taken up by
  the next pass: the loop looks at least every :data:`POLL`, and at once when woken.
* **One message at a time, on a worker thread** (``asyncio.to_thread``): SMTP is blocking and
  slow, and nothing here may be in the way of an alarm.
* **Whose failure is it?** (``central.mail.failure``). A recipient refused for good is marked
  refused and never tried again; a message that failed for now is tried again later (after
  5 s, doubling up to ``[email] retry_max_s``); a failure of the server or of the way to it —
  no connection, a timeout, a setup mistake such as a refused sender or relay — is tried again
  too, *and stops the batch*: one server that never answers costs one timeout per pass, not
  one per message, and the loop waits out the same doubling before it knocks again.
* **One bad row cannot block the rest.** The message is built inside the row's own ``try``:
  a row no message can be made of (an address a header cannot carry) is marked refused with
  its reason, and the pass goes on.
* **Seen, not silent.** Every failure is a log line (an error once a notice has been owed for
  :data:`LATE`, or is refused) and counted on ``/metrics`` (``trygg_mail_failed_total`` by
  outcome; ``trygg_mail_owed`` and the age of the oldest, ``trygg_mail_owed_oldest_seconds``),
  so an operator's alert sees a mail server that stopped taking central's notices. The
  report's page shows each notice's state to its leader and safety representative.

Delivery is at least once, with a small window: a row is marked sent once the server took the
message (its "250" after ``DATA``; a failing ``QUIT`` after that does not matter). A crash
between that "250" and the commit of "sent", or a timeout while waiting for the "250" of a
message the server did take, sends it again with the same ``Message-ID``, which a receiving
system may drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from uuid import UUID

from central import mail
from central.config import EmailSettings
from central.core.reports import mail_text, retry_after
from central.mail import Failure
from central.store import Store
from central.store import report_mail as rows

log = logging.getLogger("central.mailing")

#: The loop looks at the table at least this often (a row written by another process).
POLL = timedelta(seconds=30)
#: A notice owed this long is told as an error in the log, not a warning.
LATE = timedelta(hours=1)
#: What a failed try counts as on /metrics (``outcome``).
RETRIED = "retried"
REFUSED = "refused"


def report_path(report_id: UUID) -> str:
    return f"/reports/{report_id}"


class Mailer:
    """``start()`` once the store is open, ``stop()`` before it closes; ``wake()`` when a row
    was written."""

    def __init__(
        self,
        email: EmailSettings,
        store: Store,
        clock: Callable[[], datetime],
        site_names: dict[str, str],
    ) -> None:
        self.email = email
        self.store = store
        self.clock = clock
        self.site_names = site_names
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._server_failures = 0  # the server's failures in a row (its own backoff)
        self._hold_until: datetime | None = None  # no try before this (the server failed)
        self.sent = 0  # handed to the SMTP server since start
        self.failed: Counter[str] = Counter({RETRIED: 0, REFUSED: 0})
        self.owed = 0  # rows waiting, as of the last pass
        self.oldest_owed: datetime | None = None  # when the oldest of them was written

    def start(self) -> None:
        self._task = asyncio.create_task(self._forever(), name="report-mail")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def _forever(self) -> None:
        while True:
            upcoming: datetime | None = None
            try:
                await self.send_due()
                upcoming = await self.store.read(rows.next_mail_at)
                self.owed, self.oldest_owed = await self.store.read(rows.mail_owed)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug or the store: never stop for good
                log.exception("report e-mail outbox failed; trying again")
            now = self.clock()
            wait = POLL
            if upcoming is not None:
                wait = max(timedelta(0), min(wait, upcoming - now))
            if self._hold_until is not None:
                wait = max(wait, self._hold_until - now)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait.total_seconds())

    def _message(self, owed: rows.Mail) -> EmailMessage:
        name = self.site_names.get(owed.site, owed.site)
        subject, body = mail_text(name, f"{self.email.console_url}{report_path(owed.report_id)}")
        message_id = f"<report-{owed.report_id}-{owed.user}@trygg>"
        return mail.message(self.email, owed.address, subject, body, message_id)

    async def send_due(self) -> None:
        """One pass: every row that is due, in order, until the server fails."""
        now = self.clock()
        if self._hold_until is not None and now < self._hold_until:
            return
        self._hold_until = None
        due: list[rows.Mail] = await self.store.read(lambda db: rows.due_mail(db, now))
        cap = timedelta(seconds=self.email.retry_max_s)
        for owed in due:
            try:
                message = self._message(owed)
            except Exception as error:  # this row can never be sent: say why, go on
                await self._refused(owed, f"no message can be made: {error}")
                continue
            try:
                await asyncio.to_thread(mail.send, self.email, message)
            except Exception as error:  # every failure is the outbox's to sort
                kind = mail.failure(error)
                if kind is Failure.REFUSED:
                    await self._refused(owed, str(error))
                    continue
                later = self.clock() + retry_after(owed.attempts + 1, cap)
                await self._retried(owed, error, kind, later)
                if kind is Failure.SERVER:
                    self._server_failures += 1
                    pause = retry_after(self._server_failures, cap)
                    self._hold_until = self.clock() + pause
                    log.warning(
                        "report e-mail: the SMTP server failed (%s); no try for %d s",
                        error,
                        pause.total_seconds(),
                    )
                    return  # the rest wait: the server fails them all alike
                continue
            self._server_failures = 0
            await self.store.submit(rows.mail_sent(owed.mail_id, self.clock()))
            self.sent += 1
            log.info("report %s: e-mail sent to %s", owed.report_id, owed.user)

    async def _refused(self, owed: rows.Mail, reason: str) -> None:
        self.failed[REFUSED] += 1
        log.error("report %s: e-mail to %s refused for good: %s", owed.report_id, owed.user, reason)
        await self.store.submit(rows.mail_failed(owed.mail_id, reason, None))

    async def _retried(
        self, owed: rows.Mail, error: BaseException, kind: Failure, later: datetime
    ) -> None:
        self.failed[RETRIED] += 1
        late = self.clock() - owed.created_at >= LATE
        log.log(
            logging.ERROR if late else logging.WARNING,
            "report %s: e-mail to %s not sent (try %d, %s failure%s): %s; again at %s",
            owed.report_id,
            owed.user,
            owed.attempts + 1,
            kind.value,
            ", owed for over an hour" if late else "",
            error,
            later.isoformat(timespec="seconds"),
        )
        await self.store.submit(rows.mail_failed(owed.mail_id, str(error), later))
