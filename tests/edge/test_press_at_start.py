"""A press that lands while the edge is starting is an alarm, not a lost edge.

The window: the buttons are open (their pins answer, the contact is read once for "held at
start"), but the agent is still writing its start to the outbox (fresh pre-allocated ids, the
closed flags) before it calls itself ready. A contact edge in that window used to be dropped as
if it came after shutdown — in the chaos run a tap that the simulator accepted the moment the
restarted edge's pins answered was lost (tests/chaos, edge-powercut). Now it is taken once the
start is on disk, in the order it came.

Real agent, gpiozero mock pins, real Mosquitto.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from gpiozero.pins.mock import MockFactory, MockPin

from edge.agent import EdgeAgent
from edge.outbox import Outbox
from tests.edge.helpers import DESK_PIN, Observer, alarm_ids, edge_settings, running
from tests.support.broker import Broker


class PressedJustAfterStartRead(MockPin):  # type: ignore[misc]
    """A finger that lands the moment the edge has read its contacts at start. gpiozero reads
    the pin once itself when a Button takes it (its initial state); right after the next read
    (the agent's "closed now?") the contact closes — before the agent is ready."""

    armed = False
    reads = 0

    def _get_state(self) -> bool:
        state: bool = super()._get_state()
        if self.armed and self._when_changed is not None:
            self.reads += 1
            if self.reads == 2:
                self.armed = False
                self.drive_low()
        return state


async def test_a_press_while_the_edge_starts_raises_an_alarm(
    broker: Broker, tmp_path: Path
) -> None:
    pins = MockFactory(pin_class=PressedJustAfterStartRead)
    try:
        finger = pins.pin(DESK_PIN)
        assert isinstance(finger, PressedJustAfterStartRead)
        finger.armed = True
        outbox = tmp_path / "outbox.db"
        agent = EdgeAgent(edge_settings(broker, outbox), pin_factory=pins, id_factory=alarm_ids())
        async with Observer(broker) as wire, running(agent):
            assert (finger.armed, finger.reads) == (False, 2)  # it pressed after the read
            alarm = await wire.wait_alarm(lambda a: a.input == "desk")
            # The id pre-allocated at this start, an ordinary press (not held at start).
            assert (alarm.alarm_id, alarm.held_at_start, alarm.presses) == (UUID(int=1), False, 1)
            assert agent.led_state("desk") == "sending"
            assert agent.faults == ()
            finger.drive_high()
        stored = Outbox(outbox)
        try:
            assert [r.alarm_id for r in stored.active()] == [UUID(int=1)]
            assert stored.inputs() == ({"desk": UUID(int=3), "door": UUID(int=2)}, set())
        finally:
            stored.close()
    finally:
        pins.reset()
