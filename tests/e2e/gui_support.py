"""The window client (:class:`desktop.gui.app.DeskApp`) against a real central, driven by
pytest-qt on Qt's thread, while the asyncio parts of the stack (the in-process edge agent on
gpiozero mock pins, headless desks) run on an event loop in a thread of their own.

Qt's event loop owns the main thread in these tests (``qtbot.waitUntil`` spins it), so nothing
here blocks it for long: headless desks are watched by scanning the lines they have printed so
far, from ``waitUntil`` predicates. Everything waits by bounded polling.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything creates the QApplication

import asyncio
import threading
import tomllib
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from gpiozero.pins.mock import MockFactory
from pydantic import SecretStr
from pytestqt.qtbot import QtBot

from configfile import load_settings
from desktop.config import DeskSettings, Language
from desktop.core import Backoff, Hotkey, Presence, parse_hotkey
from desktop.gui.app import DeskApp
from desktop.i18n import load_translations
from edge.agent import EdgeAgent
from edge.config import EdgeSettings
from tests.desktop.qt_support import RecordingPlayer
from tests.support.agent_waits import wait_connected, wait_ready
from tests.support.broker import Broker
from tests.support.stack import SITE, Central, Desk, edge_config

T = TypeVar("T")
WAIT_MS = 15_000
ROUTINES = Path(__file__).resolve().parents[2] / "routines" / "alarm-response.toml"


def routine_steps(level: str, language: str = "nb") -> list[str]:
    """The routine's steps as the window numbers them, straight from the repo's file."""
    with ROUTINES.open("rb") as file:
        steps = tomllib.load(file)[level]["steps"][language]
    return [f"{n}. {step}" for n, step in enumerate(steps, 1)]


class LoopThread:
    """An asyncio loop on a thread of its own, for the parts of the stack that are asyncio."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call(self, function: Callable[..., object], *args: object) -> None:
        self.loop.call_soon_threadsafe(function, *args)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class ThreadedEdge:
    """The real edge agent on gpiozero mock pins; buttons are pressed from the test's thread
    (gpiozero calls back on its own threads in real life too; the agent hands presses to its
    loop thread-safely)."""

    def __init__(self, loop: LoopThread, broker: Broker, workdir: Path) -> None:
        self._loop = loop
        self._settings = load_settings(EdgeSettings, edge_config(workdir, broker))
        self.pins = MockFactory()
        self.agent: EdgeAgent | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        async def start() -> None:
            self.agent = EdgeAgent(self._settings, pin_factory=self.pins)
            self._task = asyncio.create_task(self.agent.run())
            await wait_ready(self.agent, timeout=10)
            await wait_connected(self.agent, timeout=10)

        self._loop.run(start())

    def press(self, pin: int = 17) -> None:
        """A short press of a pull-up button: the contact closes to ground, then opens."""
        self.pins.pin(pin).drive_low()
        self.pins.pin(pin).drive_high()

    def stop(self) -> None:
        async def stop() -> None:
            if self.agent is not None and self._task is not None:
                self.agent.stop()
                await asyncio.wait_for(self._task, 15)

        try:
            self._loop.run(stop())
        finally:
            self.pins.close()


class HeadlessDesk:
    """A colleague's ``trygg-desk --headless`` (tests.support.stack.Desk) on the loop thread."""

    def __init__(self, loop: LoopThread, central: Central, user: str, workdir: Path) -> None:
        self._loop = loop
        self.user = user
        self.desk = Desk(central, user, workdir)

    def start(self) -> None:
        self._loop.run(self.desk.start())

    def seen(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The first line printed so far for which ``match`` is true (never waits)."""
        return next((line for line in list(self.desk.lines) if match(line)), None)

    def send(self, command: str) -> None:
        self._loop.run(self.desk.send(command))

    def stop(self) -> None:
        self._loop.run(self.desk.stop())


class CapturedHotkeys:
    """Stands in for the OS's global hotkey backend: keeps the callbacks the app registers,
    so a test can fire exactly what the hotkey would fire, without an X server."""

    unavailable_reason: str | None = None

    def __init__(self) -> None:
        self.callbacks: dict[Hotkey, Callable[[], None]] = {}

    def register(self, hotkey: Hotkey, callback: Callable[[], None]) -> bool:
        self.callbacks[hotkey] = callback
        return True

    def press(self, sequence: str) -> None:
        self.callbacks[parse_hotkey(sequence)]()

    def close(self) -> None:
        self.callbacks.clear()


class WindowDesk:
    """A user's window client, in this process, against the real central."""

    def __init__(
        self, qtbot: QtBot, central: Central, user: str, *, countdown_s: float = 1.0
    ) -> None:
        self.qtbot = qtbot
        self.user = user
        self.player = RecordingPlayer()
        self.hotkeys = CapturedHotkeys()
        # `trygg-desk silent-alarm` finds the running client by $USER; one name per test.
        self.session_user = f"e2e-{user}-{uuid4().hex[:8]}"
        self.settings = DeskSettings.model_validate(
            {
                "server": central.ws_url,
                "token": SecretStr(central.tokens[user]),
                "location": {"site": SITE, "room": "Kontor 3.12", "floor": "3. etasje"},
                "hotkey": {"countdown_s": countdown_s},
            }
        )
        self.app = DeskApp(
            self.settings,
            load_translations(Language.NB),
            trigger_name=f"trygg-desk-{self.session_user}",
            backoff=Backoff(initial_s=0.1, maximum_s=0.5),
            player=self.player,
            hotkeys=lambda: self.hotkeys,
        )

    def start(self) -> None:
        self.app.start()

    def wait(self, predicate: Callable[[], object], what: str, timeout_ms: int = WAIT_MS) -> None:
        def check() -> None:
            assert predicate(), what

        self.qtbot.waitUntil(check, timeout=timeout_ms)

    def wait_connected(self) -> None:
        self.wait(lambda: self.app.presence.state is Presence.CONNECTED, f"{self.user} connected")

    def stop(self) -> None:
        self.app.stop()


def events(central: Central, user: str, kind: str) -> list[tuple[str, str | None]]:
    """(alarm_id, actor) of every event of ``kind`` central has recorded, as ``user`` sees it."""
    return [
        (alarm["alarm_id"], event["actor"])
        for alarm in central.alarms(user)
        for event in alarm["events"]
        if event["kind"] == kind
    ]
