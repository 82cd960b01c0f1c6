"""Runs :class:`desktop.client.DeskClient` on an asyncio loop in its own thread and carries its
events to Qt's thread as a signal (a queued connection), and the user's actions back with
``call_soon_threadsafe``. The client's state is only ever touched on its own thread."""

from __future__ import annotations

import asyncio
import threading
from uuid import UUID

from PySide6.QtCore import QObject, Signal

from desktop.client import DeskClient
from desktop.config import DeskSettings
from desktop.core import Backoff, RaiseWatch
from protocol.screen import AnnounceRequest, CommandKind, RaiseRequest


class ClientBridge(QObject):
    received = Signal(object)  # a desktop.client.ClientEvent, delivered on Qt's thread

    def __init__(
        self,
        settings: DeskSettings,
        backoff: Backoff | None = None,
        raise_watch: RaiseWatch | None = None,
    ) -> None:
        super().__init__()
        self._settings = settings
        self._backoff = backoff
        self._raise_watch = raise_watch or RaiseWatch()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: DeskClient | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trygg-desk-client", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the client thread did not start")

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._client = DeskClient(
            self._settings, backoff=self._backoff, raise_watch=self._raise_watch
        )
        self._client.on_event(self.received.emit)
        self._ready.set()
        await self._client.run()

    def _call(self, function: object, *args: object) -> None:
        if self._loop is None or self._client is None:
            raise RuntimeError("the desk's client is not running yet")
        self._loop.call_soon_threadsafe(function, *args)  # type: ignore[arg-type]

    @property
    def confirm_within_s(self) -> float:
        return self._raise_watch.confirm_within_s

    def command(self, kind: CommandKind, alarm_id: UUID) -> None:
        if self._client is None:
            raise RuntimeError("the desk's client is not running yet")
        self._call(self._client.command, kind, alarm_id)

    def raise_alarm(self, request: RaiseRequest) -> None:
        if self._client is None:
            raise RuntimeError("the desk's client is not running yet")
        self._call(self._client.raise_alarm, request)

    def announce(self, request: AnnounceRequest) -> None:
        if self._client is None:
            raise RuntimeError("the desk's client is not running yet")
        self._call(self._client.announce, request)

    def answer_standby(self, meeting_id: UUID, confirm: bool) -> None:
        if self._client is None:
            raise RuntimeError("the desk's client is not running yet")
        self._call(self._client.answer_standby, meeting_id, confirm)

    def stop(self) -> None:
        if self._loop is None or self._client is None or not self._thread.is_alive():
            return
        done = asyncio.run_coroutine_threadsafe(self._client.close(), self._loop)
        done.result(10)
        self._thread.join(10)
