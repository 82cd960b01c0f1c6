"""The fake central on an asyncio loop in a thread of its own, so that Qt tests (which run Qt's
event loop on the main thread) can drive it synchronously; and small fakes for the window app."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tests.desktop.fake_central import FakeCentral

T = TypeVar("T")
TOKEN = "kari-Zk3q9VbX2mN7pL4sR8tW1yH6"


class CentralThread:
    def __init__(self, central: FakeCentral) -> None:
        self.central = central
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(15)

    def close(self) -> None:
        if self.central.running:
            self.run(self.central.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class Clock:
    """A clock the test moves by hand: countdowns and timers never depend on real time."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 2, 9, 30, 40, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingPlayer:
    """Stands in for the speaker: records whether it is playing."""

    description = "recording player (tests)"

    def __init__(self) -> None:
        self.playing = False
        self.starts = 0

    def start(self) -> None:
        self.playing = True
        self.starts += 1

    def stop(self) -> None:
        self.playing = False
