"""One e-mail through a real SMTP server (aiosmtpd on loopback): headers, UTF-8, the same
Message-ID on every try; and which failures are for good (5xx) or worth another try."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from central import mail
from central.config import EmailSettings
from tests.support.net import free_port
from tests.support.smtp import Inbox


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    found = Inbox()
    found.start()
    try:
        yield found
    finally:
        found.stop()


def settings(port: int) -> EmailSettings:
    return EmailSettings(
        host="127.0.0.1",
        port=port,
        security="none",
        from_address="trygg@nav.test",
        console_url="http://127.0.0.1:8080",
    )


async def test_a_message_goes_whole(inbox: Inbox) -> None:
    chosen = settings(inbox.port)
    message = mail.message(
        chosen, "lina@nav.test", "Ny hendelsesrapport – Øst", "Åpne den.", "<r-1@trygg>"
    )
    mail.send(chosen, message)
    [got] = await inbox.wait_for(lambda m: "lina@nav.test" in m.rcpt_tos)
    assert got.rcpt_tos == ("lina@nav.test",)
    assert got.subject == "Ny hendelsesrapport – Øst"
    assert got.body.strip() == "Åpne den."
    assert got.message["Message-ID"] == "<r-1@trygg>"
    assert got.message["Auto-Submitted"] == "auto-generated"


def test_no_server_is_worth_another_try() -> None:
    with pytest.raises(ConnectionRefusedError) as failed:
        mail.send(settings(free_port()), mail.message(settings(1), "a@b.c", "s", "b", "<x@y>"))
    assert not mail.permanent(failed.value)


@pytest.mark.parametrize(
    ("error", "for_good"),
    [
        (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (451, b"try later")}), False),
        (smtplib.SMTPDataError(554, b"rejected"), True),
        (smtplib.SMTPDataError(421, b"busy"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad password"), False),
        (smtplib.SMTPServerDisconnected("gone"), False),
        (TimeoutError(), False),
    ],
)
def test_which_failures_are_for_good(error: BaseException, for_good: bool) -> None:
    assert mail.permanent(error) is for_good
