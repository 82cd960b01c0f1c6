"""The edge's decisions without I/O: press policy, LED states, outbox policy, the device's
faults by kind (``faults``), the sensor board's line protocol (``serial_frames``) and what its
reports mean (``sensors``).

Everything here takes events and ``now`` and returns actions or answers; the shells in
``edge.hw``, ``edge.link``, ``edge.outbox`` and ``edge.agent`` do the I/O. No asyncio, no
sockets, no GPIO.
"""

from edge.core.actions import (
    Action,
    AdoptAlarm,
    NextId,
    RaiseAlarm,
    Republish,
    SetLed,
    StuckAtStart,
)
from edge.core.led import LedState, Word, led_for_ack
from edge.core.outbox_policy import OutboxPolicy, ack_settles
from edge.core.press import ButtonSpec, PressPolicy

__all__ = [
    "Action",
    "AdoptAlarm",
    "ButtonSpec",
    "LedState",
    "NextId",
    "OutboxPolicy",
    "PressPolicy",
    "RaiseAlarm",
    "Republish",
    "SetLed",
    "StuckAtStart",
    "Word",
    "ack_settles",
    "led_for_ack",
]
