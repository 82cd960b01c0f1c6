"""One e-mail over SMTP (the standard library's ``smtplib``), for the incident-report notices.

Blocking on purpose: central calls :func:`send` on a worker thread (``asyncio.to_thread``)
from its outbox loop (``central.reports``), one message at a time, far from the alarm path; a
slow or dead SMTP server costs that thread its timeout and nothing else. TLS is checked with
the system's CAs or ``[email] ca_file``; ``security = "none"`` is only accepted to a server on
this machine (``central.config.EmailSettings``).

:func:`permanent` tells a refusal for good (the server's 5xx: no such mailbox, policy) from a
failure worth retrying (no connection, a timeout, 4xx "try later").
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from central.config import EmailSettings


def message(
    settings: EmailSettings, to: str, subject: str, body: str, message_id: str
) -> EmailMessage:
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
    """Hand ``mail`` to the SMTP server; raises ``smtplib.SMTPException`` or ``OSError``."""
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
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.username is not None and password is not None:
            smtp.login(settings.username, password)
        smtp.send_message(mail)


def permanent(error: BaseException) -> bool:
    """Whether the server refused for good (5xx), so trying again would not help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600 and not isinstance(
            error,
            smtplib.SMTPAuthenticationError,  # a wrong password is fixed, then retried
        )
    return False
