"""The device's faults by kind: raised and cleared by key, the wire's text derived once."""

from __future__ import annotations

import pytest

from edge.core.faults import MAX_TEXT, Fault, FaultBook, FaultKind, stuck, stuck_at_start
from edge.core.sensors import FAULT_SILENT, FAULT_TAMPER, FAULT_UNPLUGGED


def test_each_kind_says_on_the_wire_what_the_device_always_said() -> None:
    assert stuck("desk").text == "input desk stuck closed"
    assert stuck_at_start("desk").text == "input desk stuck closed (closed at the last start too)"
    assert Fault(FaultKind.OUTBOX_WRITE, detail="disk I/O error").text == (
        "outbox write failed: disk I/O error"
    )
    assert [Fault(k).text for k in (FAULT_UNPLUGGED, FAULT_SILENT, FAULT_TAMPER)] == [
        "sensor-board-unplugged",
        "sensor-board-silent",
        "sensor-board-tamper",
    ]


def test_a_long_error_is_cut_to_a_short_text() -> None:
    long = Fault(FaultKind.OUTBOX_WRITE, detail="x" * 500)
    assert long.text == ("outbox write failed: " + "x" * 500)[:MAX_TEXT]
    assert len(long.text) == MAX_TEXT


def test_a_fault_is_raised_once_and_cleared_by_its_key() -> None:
    book = FaultBook()
    assert book.raise_(stuck_at_start("desk")) is True
    assert book.raise_(stuck_at_start("desk")) is False  # the same key: listed once
    assert book.raise_(stuck_at_start("door")) is True
    assert list(book.faults) == [stuck_at_start("desk"), stuck_at_start("door")]
    assert book.clear(stuck_at_start("desk")) is True
    assert book.clear(stuck_at_start("desk")) is False  # nothing left to clear
    assert book.clear(stuck("door")) is False  # another kind, same input: not this fault
    assert list(book.faults) == [stuck_at_start("door")]


def test_measured_faults_are_replaced_as_a_set_and_listed_after_raised_ones() -> None:
    book = FaultBook()
    assert book.measured((stuck("desk"),)) is True
    assert book.raise_(Fault(FaultKind.OUTBOX_WRITE, detail="disk full")) is True
    assert book.measured((stuck("desk"),)) is False  # unchanged: nothing to say
    assert book.texts(FaultKind.BOARD_TAMPER) == (
        "outbox write failed: disk full",
        "input desk stuck closed",
        "sensor-board-tamper",
    )
    assert book.measured(()) is True
    assert book.texts() == ("outbox write failed: disk full",)


def test_only_measured_kinds_are_replaced_by_a_measurement() -> None:
    with pytest.raises(ValueError, match="not a measured fault kind"):
        FaultBook().measured((stuck_at_start("desk"),))


def test_two_errors_in_other_words_are_two_faults() -> None:
    book = FaultBook()
    book.raise_(Fault(FaultKind.OUTBOX_WRITE, detail="disk full"))
    book.raise_(Fault(FaultKind.OUTBOX_WRITE, detail="database is locked"))
    assert book.texts() == (
        "outbox write failed: disk full",
        "outbox write failed: database is locked",
    )
