"""A real SMTP server for tests: aiosmtpd on a loopback port, keeping every message it takes.

aiosmtpd runs its own event loop in a thread (its ``Controller``), so central — in-process or a
``trygg-central`` process — talks SMTP to it over a real socket, exactly as to an office's mail
server. ``stop()`` and ``start()`` again on the same port make an outage and its end.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

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

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        found = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(found, EmailMessage)
        with self.inbox.lock:
            self.inbox.messages.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), found)
            )
        return "250 OK"


class Inbox:
    """Start with :meth:`start`; ``messages`` is every message taken so far."""

    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
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
