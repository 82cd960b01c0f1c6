"""One e-mail over SMTP (the standard library's ``smtplib``), for the incident-report notices.

Blocking on purpose: central calls :func:`send` on a worker thread (``asyncio.to_thread``)
from its outbox loop (``central.mailing``), one message at a time, far from the alarm path; a
slow or dead SMTP server costs that thread its timeout and nothing else. TLS is checked with
the system's CAs or ``[email] ca_file``; ``security = "none"`` is only accepted to a server on
this machine (``central.config.EmailSettings``).

:func:`failure` sorts what went wrong into three, because each asks for something else:

* :attr:`Failure.REFUSED` — the server refused *this recipient* for good (a 5xx reply to
  ``RCPT TO``: no such mailbox). Only that is final: trying again would not help.
* :attr:`Failure.MESSAGE` — this message failed for now (a 4xx to ``RCPT TO``, any reply
  after ``DATA``): try it later, and go on with the others.
* :attr:`Failure.SERVER` — everything else: no connection, a timeout, a greeting, ``HELO``,
  ``STARTTLS``, login or ``MAIL FROM`` refused, and a recipient refused for a *policy* reason
  (``5.7.x``, "relay denied"). Those are the server's or central's setup, the same for every
  message: fixed by the operator, then sent — never dropped. The outbox stops its batch
  there (one dead server costs one timeout, not one per message) and tries again later.

Once the server has taken the message (``send_message`` returned: its "250" after ``DATA``)
the mail is sent, whatever ``QUIT`` answers: :func:`send` does not let a goodbye that fails
turn a delivered message into one that is sent again.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from enum import StrEnum

from central.config import EmailSettings

#: An enhanced status code's class and subject (RFC 3463): ``5.7`` is security or policy.
_ENHANCED = re.compile(rb"^\s*([245])\.(\d{1,3})\.\d{1,3}\b")
#: "421 closing the connection": the server, at whatever step it says so.
CLOSING = 421


class Failure(StrEnum):
    REFUSED = "refused"  # this recipient, for good
    MESSAGE = "message"  # this message, for now
    SERVER = "server"  # the server or the way to it: every message, for now


def message(
    settings: EmailSettings, to: str, subject: str, body: str, message_id: str
) -> EmailMessage:
    """The message; raises ``ValueError`` for an address or text a header cannot carry."""
    found = EmailMessage()
    found["From"] = settings.from_address
    found["To"] = to
    found["Subject"] = subject
    found["Date"] = formatdate(usegmt=True)
    # The same id for every try of one notice: a receiving system may drop a repeat.
    found["Message-ID"] = message_id
    found["Auto-Submitted"] = "auto-generated"
    found.set_content(body)
    return found


def send(settings: EmailSettings, mail: EmailMessage) -> None:
    """Hand ``mail`` to the SMTP server; raises ``smtplib.SMTPException`` or ``OSError`` if it
    did not take it. Returns once it did (a failing ``QUIT`` after that is ignored)."""
    context = ssl.create_default_context(
        cafile=str(settings.ca_file) if settings.ca_file is not None else None
    )
    password = settings.password_value()
    smtp: smtplib.SMTP
    if settings.security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_s, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)
    try:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.username is not None and password is not None:
            smtp.login(settings.username, password)
        smtp.send_message(mail)
        # Taken: from here on it is sent. (``with smtp:`` would raise on a QUIT answered with
        # anything but 221, after the message was accepted.)
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
    finally:
        smtp.close()


def _policy(reply: bytes) -> bool:
    """A refusal for security or policy (``5.7.x``, "relay denied"): the server's setup or
    central's (not authenticated, not allowed to relay), not the recipient's mailbox."""
    enhanced = _ENHANCED.match(reply)
    if enhanced is not None:
        return enhanced.group(2) == b"7"
    return b"relay" in reply.lower()


def failure(error: BaseException) -> Failure:
    """What ``error`` (raised by :func:`send`) means for the outbox (see the module's words)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = list(error.recipients.values())
        if any(code == CLOSING or (500 <= code < 600 and _policy(text)) for code, text in replies):
            return Failure.SERVER
        if replies and all(500 <= code < 600 for code, _ in replies):
            return Failure.REFUSED
        return Failure.MESSAGE
    if isinstance(error, smtplib.SMTPDataError) and error.smtp_code != CLOSING:
        return Failure.MESSAGE
    return Failure.SERVER
