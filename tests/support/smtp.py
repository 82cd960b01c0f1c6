"""A real SMTP server for tests: aiosmtpd on a loopback port, keeping every message it takes.

aiosmtpd runs its own event loop in a thread (its ``Controller``), so central — in-process or a
``trygg-central`` process — talks SMTP to it over a real socket, exactly as to an office's mail
server. ``stop()`` and ``start()`` again on the same port make an outage and its end.

``replies`` makes it a badly set up or refusing server: the reply to give instead of its own
at a step (``greeting``, ``EHLO``/``HELO``, ``MAIL``, ``RCPT``, ``DATA``, ``QUIT``), e.g.
``{"RCPT": "550 5.7.1 Relay access denied"}``; a refused step keeps nothing. ``Silent`` is a
server that takes connections and never answers (the timeout's case).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP

from tests.support.net import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        return "" if part is None else str(part.get_content())


class _Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def _reply(self, step: str) -> Any:
        return self.inbox.replies.get(step, MISSING)

    async def handle_EHLO(
        self, _server: Any, session: Any, _envelope: Any, host: str, responses: list[str]
    ) -> list[str]:
        found = self._reply("EHLO")
        if found is MISSING:
            session.host_name = host  # what aiosmtpd does itself without this hook
            return responses
        return [found]

    async def handle_HELO(self, _server: Any, session: Any, _envelope: Any, host: str) -> Any:
        found = self._reply("HELO")
        if found is MISSING:
            session.host_name = host
            return f"250 {host}"
        return found

    async def handle_MAIL(self, *_args: Any) -> Any:
        return self._reply("MAIL")

    async def handle_RCPT(self, *_args: Any) -> Any:
        return self._reply("RCPT")

    async def handle_QUIT(self, *_args: Any) -> Any:
        return self._reply("QUIT")

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        refused = self._reply("DATA")
        if refused is not MISSING:
            return str(refused)
        found = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(found, EmailMessage)
        with self.inbox.lock:
            self.inbox.messages.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), found)
            )
        return "250 OK"


class _Greeting(SMTP):
    """aiosmtpd's server, greeting with the inbox's ``greeting`` reply if it has one."""

    def __init__(self, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._greeting: str | None = handler.inbox.replies.get("greeting")

    async def push(self, status: Any) -> None:
        if self._greeting is not None and str(status).startswith("220 "):
            status, self._greeting = self._greeting, None
        await super().push(status)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Greeting(self.handler, **self.SMTP_kwargs)


class Inbox:
    """Start with :meth:`start`; ``messages`` is every message taken so far."""

    def __init__(self, port: int | None = None, replies: dict[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.replies = dict(replies or {})
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = _Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    async def wait_for(
        self, match: Callable[[Received], bool], count: int = 1, timeout: float = 30
    ) -> list[Received]:
        """Until ``count`` messages match (bounded polling); those messages."""
        found: list[Received] = []
        for _ in range(int(timeout / 0.1)):
            with self.lock:
                found = [m for m in self.messages if match(m)]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"{count} matching messages not received in {timeout} s: {found}")


class Silent:
    """A server that takes TCP connections and never says a word (a hung SMTP server)."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.listener = socket.create_server((self.host, 0))
        self.port = int(self.listener.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()
