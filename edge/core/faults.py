"""The device's own faults, keyed by kind: what the edge decides and clears by enum, never by text.

A fault is a :class:`FaultKind` plus what it is about (an input) and, for an error the device
cannot name in advance, the error's words. The agent raises and clears faults by key; the text
a facility manager reads is derived here, once, for the wire (``Health.faults`` stays a list of
short strings, so the protocol and central's reading of it are unchanged). Two faults are the
same fault when their keys are equal, so raising one twice lists it once.

:class:`FaultBook` holds the open faults in the order they were raised; the faults that follow a
measurement (an input held closed past ``stuck_after``) are replaced as a set at each look and
listed after the ones raised by an event, as the device always listed them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

MAX_TEXT = 120  # Health.faults items are short texts


class FaultKind(StrEnum):
    INPUT_STUCK = "input-stuck"  # held closed longer than any press
    INPUT_STUCK_AT_START = "input-stuck-at-start"  # closed at two starts in a row, never opened
    OUTBOX_WRITE = "outbox-write-failed"  # the disk refused an alarm's write
    # The room's sensor board (edge.core.sensors): the value is the text on the wire.
    BOARD_UNPLUGGED = "sensor-board-unplugged"
    BOARD_SILENT = "sensor-board-silent"
    BOARD_TAMPER = "sensor-board-tamper"


# Faults re-measured at every look (replaced as a set) rather than raised by one event.
MEASURED = frozenset({FaultKind.INPUT_STUCK})


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    subject: str = ""  # the input it is about, for input faults
    detail: str = ""  # the error's own words, for faults the device cannot name in advance

    @property
    def text(self) -> str:
        """What ``Health.faults`` says about it (at most :data:`MAX_TEXT` characters)."""
        match self.kind:
            case FaultKind.INPUT_STUCK:
                text = f"input {self.subject} stuck closed"
            case FaultKind.INPUT_STUCK_AT_START:
                text = f"input {self.subject} stuck closed (closed at the last start too)"
            case FaultKind.OUTBOX_WRITE:
                text = f"outbox write failed: {self.detail}"
            case _:
                text = self.kind.value
        return text[:MAX_TEXT]


def stuck(input_name: str) -> Fault:
    return Fault(FaultKind.INPUT_STUCK, input_name)


def stuck_at_start(input_name: str) -> Fault:
    return Fault(FaultKind.INPUT_STUCK_AT_START, input_name)


@dataclass(slots=True)
class FaultBook:
    """The device's open faults. Each method says whether the list changed."""

    _raised: dict[Fault, None] = field(default_factory=dict)  # insertion order kept
    _measured: tuple[Fault, ...] = ()

    @property
    def faults(self) -> tuple[Fault, ...]:
        """Raised ones first (in the order they came), then measured ones; each once."""
        return tuple(dict.fromkeys((*self._raised, *self._measured)))

    def raise_(self, fault: Fault) -> bool:
        if fault in self._raised:
            return False
        self._raised[fault] = None
        return True

    def clear(self, fault: Fault) -> bool:
        if fault not in self._raised:
            return False
        del self._raised[fault]
        return True

    def measured(self, faults: Iterable[Fault]) -> bool:
        """The measured faults are now ``faults`` (e.g. every input stuck right now)."""
        now = tuple(faults)
        if any(f.kind not in MEASURED for f in now):
            raise ValueError(f"not a measured fault kind: {now}")
        if now == self._measured:
            return False
        self._measured = now
        return True

    def texts(self, *also: FaultKind) -> tuple[str, ...]:
        """The wire's list: these faults, then ``also`` (the sensor board's), each text once."""
        texts = [f.text for f in self.faults] + [Fault(kind).text for kind in also]
        return tuple(dict.fromkeys(texts))


__all__ = ["MAX_TEXT", "Fault", "FaultBook", "FaultKind", "stuck", "stuck_at_start"]
