"""One e-mail through a real SMTP server (aiosmtpd on loopback): headers, UTF-8, the same
Message-ID on every try; which failures are for good (only a recipient's 5xx), worth another
try of that message, or the server's (every message: tried again, the batch stopped); and a
message the server took is sent, whatever its QUIT says."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from central import mail
from central.config import EmailSettings
from central.mail import Failure
from tests.support.net import free_port
from tests.support.smtp import Inbox, Silent


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


def test_no_server_is_the_servers_failure() -> None:
    with pytest.raises(ConnectionRefusedError) as failed:
        mail.send(settings(free_port()), mail.message(settings(1), "a@b.c", "s", "b", "<x@y>"))
    assert mail.failure(failed.value) is Failure.SERVER


def test_a_server_that_never_answers_times_out_as_the_servers_failure() -> None:
    silent = Silent()
    try:
        chosen = settings(silent.port).model_copy(update={"timeout_s": 0.5})
        # smtplib says so as a disconnection ("timed out") while it waits for the greeting.
        with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out") as failed:
            mail.send(chosen, mail.message(chosen, "a@b.c", "s", "b", "<x@y>"))
        assert mail.failure(failed.value) is Failure.SERVER
    finally:
        silent.close()


# A server set up wrong refuses every message at some step: each is retried (never dropped),
# and only a recipient refused for good (no such mailbox) is final.
@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ({"greeting": "554 5.3.2 Not accepting connections"}, Failure.SERVER),
        ({"EHLO": "501 5.5.4 Invalid domain", "HELO": "501 5.5.4 Invalid domain"}, Failure.SERVER),
        ({"MAIL": "553 5.7.1 Sender address rejected: not owned by user"}, Failure.SERVER),
        ({"MAIL": "530 5.7.0 Must issue a STARTTLS command first"}, Failure.SERVER),
        ({"RCPT": "550 5.7.1 Relay access denied"}, Failure.SERVER),
        ({"RCPT": "550 relay not permitted"}, Failure.SERVER),  # no enhanced code (Exim)
        ({"RCPT": "421 4.3.2 Shutting down"}, Failure.SERVER),
        ({"RCPT": "451 4.7.1 Greylisted, try again later"}, Failure.MESSAGE),
        ({"DATA": "554 5.6.0 Message rejected"}, Failure.MESSAGE),
        ({"RCPT": "550 5.1.1 No such user here"}, Failure.REFUSED),
        ({"RCPT": "550 Requested action not taken: mailbox unavailable"}, Failure.REFUSED),
    ],
)
def test_only_a_recipient_refused_for_good_is_final(
    replies: dict[str, str], expected: Failure
) -> None:
    server = Inbox(replies=replies)
    server.start()
    try:
        chosen = settings(server.port)
        with pytest.raises((smtplib.SMTPException, OSError)) as failed:
            mail.send(chosen, mail.message(chosen, "lina@nav.test", "s", "b", "<r-2@trygg>"))
        assert mail.failure(failed.value) is expected, failed.value
        assert server.messages == []
    finally:
        server.stop()


def test_a_message_taken_is_sent_whatever_quit_says() -> None:
    """smtplib's ``with`` raises when QUIT is answered with anything but 221, after the
    server took the message: that must not make the outbox send it again."""
    server = Inbox(replies={"QUIT": "500 5.5.1 Confused"})
    server.start()
    try:
        chosen = settings(server.port)
        mail.send(chosen, mail.message(chosen, "lina@nav.test", "s", "b", "<r-3@trygg>"))
        assert [m.rcpt_tos for m in server.messages] == [("lina@nav.test",)]
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"5.1.1 no such user")}), Failure.REFUSED),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (451, b"try later")}), Failure.MESSAGE),
        (smtplib.SMTPRecipientsRefused({"a@b.c": (554, b"5.7.1 Relay denied")}), Failure.SERVER),
        (smtplib.SMTPDataError(554, b"rejected"), Failure.MESSAGE),
        (smtplib.SMTPDataError(421, b"busy, closing"), Failure.SERVER),
        (smtplib.SMTPSenderRefused(553, b"5.7.1 not yours", "trygg@nav.test"), Failure.SERVER),
        (smtplib.SMTPConnectError(554, b"go away"), Failure.SERVER),
        (smtplib.SMTPHeloError(501, b"bad name"), Failure.SERVER),
        (smtplib.SMTPAuthenticationError(535, b"bad password"), Failure.SERVER),
        (smtplib.SMTPServerDisconnected("gone"), Failure.SERVER),
        (TimeoutError(), Failure.SERVER),
    ],
)
def test_which_failures_are_whose(error: BaseException, expected: Failure) -> None:
    assert mail.failure(error) is expected
