"""What the harness sees: central's record (its SQLite file, read-only), every desk's JSON lines,
and every edge's LEDs — each stamped with this machine's wall clock when it was seen.

Why read the store file rather than ask central: central may be killed or frozen; the record is
the truth that survives, and polling it read-only (every 50 ms) stamps when each alarm became
durable without asking the process under test. The stamps are as coarse as the poll interval.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from firmware_sim.errors import SimError
from tests.chaos.rig import INPUTS, Edge

POLL_S = 0.05
#: The LED pattern (as ``trygg-sim outputs`` reports it) for central's state of a button.
LED_FOR_STATE = {
    None: "off",
    "resolved": "off",
    "raised": "fast-blink",
    "received": "slow-blink",
    "acknowledged": "on",
}
_RANK = {None: 0, "resolved": 0, "raised": 1, "received": 2, "acknowledged": 3}


# The desk's lines that show an alarm (desktop/headless.py; "gone" is the rig's own: the desk
# said on stderr that an alarm left its screen). Other lines may name an alarm too (a report
# asked about it) without showing it.
ALARM_LINES = frozenset({"active", "alarm", "update", "escalated", "gone"})


@dataclass
class Stored:
    alarm_id: str
    device: str
    input: str
    raised: float  # the edge's raised_at, epoch seconds
    state: str
    presses: int
    first_seen: float  # when the poll first found the row (≈ when it was committed)
    changed: float  # when the poll last saw state or presses change


class Recorder:
    """Polls central's SQLite file read-only from a thread; ``alarms`` is keyed by alarm id."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.alarms: dict[str, Stored] = {}
        # (device, raised_at) of each "flood" fault: central then holds alarms back from the
        # desks by design, so a run that floods measures the pace, not the fault (pace.py).
        self.floods: set[tuple[str, str]] = set()
        self.last_change = 0.0
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="recorder")
        self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self._stop.wait(POLL_S):
            try:
                if conn is None:
                    if not self.db.exists():
                        continue
                    conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=0.5)
                self._poll(conn)
            except sqlite3.Error:
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def poll_once(self) -> None:
        """One poll now, from the caller's thread (the last look before the rig stops)."""
        with contextlib.closing(
            sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=2)
        ) as conn:
            self._poll(conn)

    def _poll(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(
            "SELECT alarm_id, device, input, raised_at, state, presses FROM alarms WHERE NOT test"
        ).fetchall()
        floods = conn.execute(
            "SELECT device, raised_at FROM faults WHERE kind = 'flood'"
        ).fetchall()
        now = time.time()
        with self.lock:
            self.floods.update((str(device), str(at)) for device, at in floods)
            for alarm_id, device, input_name, raised_at, state, presses in rows:
                seen = self.alarms.get(alarm_id)
                if seen is None:
                    raised = datetime.fromisoformat(raised_at).timestamp()
                    self.alarms[alarm_id] = Stored(
                        alarm_id, device, input_name, raised, state, int(presses or 1), now, now
                    )
                    self.last_change = now
                elif (seen.state, seen.presses) != (state, int(presses or 1)):
                    seen.state, seen.presses, seen.changed = state, int(presses or 1), now
                    self.last_change = now

    def of_button(self, device: str, input_name: str) -> list[Stored]:
        with self.lock:
            return sorted(
                (a for a in self.alarms.values() if a.device == device and a.input == input_name),
                key=lambda a: a.raised,
            )

    def active(self) -> dict[str, str]:
        with self.lock:
            return {a.alarm_id: a.state for a in self.alarms.values() if a.state != "resolved"}

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@dataclass
class Screens:
    """Every desk's view, rebuilt from its lines: first time it showed each alarm, what it
    believes is active now, and alarms shown as active again after it had seen them end."""

    first_shown: dict[str, dict[str, float]] = field(default_factory=dict)  # user -> id -> t
    active: dict[str, dict[str, str]] = field(default_factory=dict)  # user -> id -> state
    ended: dict[str, set[str]] = field(default_factory=dict)
    reshown: set[str] = field(default_factory=set)
    last_line: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_line(self, user: str, at: float, line: dict[str, Any]) -> None:
        alarm_id, state = line.get("alarm_id"), line.get("state")
        if not isinstance(alarm_id, str) or line.get("test"):
            return
        if line.get("event") not in ALARM_LINES:  # e.g. a report to write about an alarm
            return
        with self.lock:
            self.last_line = at
            shown = self.first_shown.setdefault(user, {})
            active = self.active.setdefault(user, {})
            ended = self.ended.setdefault(user, set())
            if line["event"] == "gone" or state == "resolved":
                active.pop(alarm_id, None)
                ended.add(alarm_id)
                return
            shown.setdefault(alarm_id, at)
            if alarm_id in ended:
                self.reshown.add(alarm_id)
            active[alarm_id] = str(state)

    def last_screen(self, alarm_id: str, users: list[str]) -> float | None:
        """When the last of ``users`` first showed the alarm; None if one never did."""
        with self.lock:
            times = [self.first_shown.get(u, {}).get(alarm_id) for u in users]
        return None if any(t is None for t in times) else max(t for t in times if t)

    def first_screen(self, alarm_id: str, users: list[str]) -> float | None:
        """When the first of ``users`` showed the alarm; None if none ever did."""
        with self.lock:
            times = [t for u in users if (t := self.first_shown.get(u, {}).get(alarm_id))]
        return min(times, default=None)

    def view(self, user: str) -> dict[str, str]:
        with self.lock:
            return dict(self.active.get(user, {}))


def expected_leds(recorder: Recorder, edge: Edge) -> dict[str, str]:
    """Per input, the LED pattern central's record asks for (the highest unresolved state)."""
    wanted: dict[str, str] = {}
    for name, _pin, _led in INPUTS:
        best: str | None = None
        for alarm in recorder.of_button(edge.device, name):
            if alarm.state != "resolved" and _RANK.get(alarm.state, 0) > _RANK.get(best, 0):
                best = alarm.state
        wanted[name] = LED_FOR_STATE.get(best, "on")
    return wanted


def led_mismatches(recorder: Recorder, edges: list[Edge]) -> list[str]:
    """``device/input: LED <seen>, central says <wanted>`` for each LED that disagrees."""
    wrong: list[str] = []
    for edge in edges:
        wanted = expected_leds(recorder, edge)
        try:
            seen = {
                name: (out.get("led") or {}).get("pattern") for name, out in edge.outputs().items()
            }
        except SimError as exc:
            return [f"{edge.device}: unreadable ({exc})"]
        wrong += [
            f"{edge.device}/{name}: LED {seen.get(name)}, central says {pattern}"
            for name, pattern in wanted.items()
            if seen.get(name) != pattern
        ]
    return wrong


def desk_mismatches(recorder: Recorder, screens: Screens, users: list[str]) -> list[str]:
    truth = recorder.active()
    wrong: list[str] = []
    for user in users:
        view = screens.view(user)
        if view != truth:
            extra = sorted(set(view) - set(truth))
            missing = sorted(set(truth) - set(view))
            states = sorted(i for i in set(view) & set(truth) if view[i] != truth[i])
            wrong.append(
                f"desk {user}: shows {len(extra)} ended, misses {len(missing)}, "
                f"{len(states)} in another state"
            )
    return wrong
