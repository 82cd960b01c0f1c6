"""The self-test messages and the fault frame: optional v1 fields, round trips, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from protocol import (
    CheckName,
    CheckResult,
    Health,
    InvalidMessage,
    SelftestResultMessage,
    SelftestRunMessage,
    decode,
    encode,
)
from protocol.messages import DEVICE_CHECKS
from protocol.screen import FaultFrame, decode_fault_frame, encode_frame

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_run_with_a_test_alarm_id_and_a_result_with_values_round_trip() -> None:
    run = SelftestRunMessage(
        site="oslo",
        device="rom-1",
        run_id=uuid4(),
        checks=(CheckName.TEST_ALARM.value,),
        deadline=NOW + timedelta(seconds=30),
        sent_at=NOW,
        test_alarm_id=uuid4(),
    )
    assert decode(*encode(run)) == run
    result = SelftestResultMessage(
        site="oslo",
        device="rom-1",
        run_id=run.run_id,
        results=(CheckResult(name="clock", ok=True, detail="in step", value=12.5),),
        at=NOW,
    )
    topic, payload = encode(result)
    assert topic == "trygg/v1/oslo/rom-1/selftest/result"
    assert decode(topic, payload) == result


def test_an_older_device_without_the_new_fields_still_decodes() -> None:
    payload = (
        b'{"v":1,"site":"oslo","device":"rom-1","run_id":"5d1c6bba-7c4e-4a5f-9a8e-0f4c1e2d3b4a",'
        b'"results":[{"name":"inputs","ok":true}],"at":"2026-03-02T09:00:00Z"}'
    )
    message = decode("trygg/v1/oslo/rom-1/selftest/result", payload)
    assert isinstance(message, SelftestResultMessage)
    assert message.results[0].value is None
    assert Health().inputs == ()


def test_device_checks_are_every_check_but_the_test_alarm() -> None:
    assert CheckName.TEST_ALARM not in DEVICE_CHECKS
    assert len(DEVICE_CHECKS) == len(CheckName) - 1


def test_fault_frames() -> None:
    frame = FaultFrame(site="oslo", device="rom-1", kind="offline", reason="last will", at=NOW)
    assert decode_fault_frame(encode_frame(frame)) == frame
    with pytest.raises(InvalidMessage):
        decode_fault_frame('{"type": "fault", "site": "oslo"}')
