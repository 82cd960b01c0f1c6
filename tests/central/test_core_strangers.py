"""Alarms from unregistered devices as one fault per device, as pure logic."""

from __future__ import annotations

from uuid import UUID

from central.core.strangers import QUIET, UPDATE_EVERY, UnknownDevices
from central.core.supervision import Fault, FaultKind
from tests.central.test_core_alarms import SITE, T0, alarm, at

ID1 = UUID("00000000-0000-4000-8000-000000000001")
ID2 = UUID("00000000-0000-4000-8000-000000000002")
ID3 = UUID("00000000-0000-4000-8000-000000000003")


def never(_site: str, _device: str) -> bool:
    return False


def reason(alarm_id: UUID, received: float, count: str, room: str = "Møterom 101") -> str:
    return (
        f"alarm {alarm_id} (acute, button 'desk', room {room!r} as the device says,"
        f" raised {T0.isoformat()}, received {at(received).isoformat()}) from device"
        f" 'rom-999', which is not in the registry: not shown as an alarm; {count} from it"
        f" since {T0.isoformat()}"
    )


def fault(text: str) -> Fault:
    return Fault(SITE, "rom-999", FaultKind.UNKNOWN_DEVICE, text, T0)


def test_one_fault_per_device_brought_up_to_date_at_most_every_30_s() -> None:
    strangers = UnknownDevices()
    first = fault(reason(ID1, 0, "1 alarm"))
    assert strangers.alarm(alarm(ID1, device="rom-999"), at(0)) == [(first, None)]
    # More alarms within UPDATE_EVERY are counted, not a fault each.
    assert strangers.alarm(alarm(ID2, device="rom-999"), at(1)) == []
    assert strangers.tick(at(29), never) == []
    latest = alarm(ID3, device="rom-999", room="Møterom 201")
    assert strangers.alarm(latest, at(2)) == []
    # The tick brings the text up to date: the latest alarm (its claimed room) and the count.
    second = fault(reason(ID3, 2, "3 alarms", room="Møterom 201"))
    assert UPDATE_EVERY.total_seconds() == 30
    assert strangers.tick(at(30), never) == [(first, at(30)), (second, None)]
    assert strangers.faults() == (second,)
    assert strangers.tick(at(300), never) == []  # nothing new: nothing to say
    # Another device, or another site's device of the same name, has its own fault.
    other = strangers.alarm(alarm(ID1, device="rom-998"), at(301))
    assert [f.device for f, _ in other] == ["rom-998"]
    elsewhere = alarm(ID2, device="rom-999").model_copy(update={"site": "bergen"})
    assert [(f.site, f.device) for f, _ in strangers.alarm(elsewhere, at(302))] == [
        ("bergen", "rom-999")
    ]
    assert len(strangers.faults()) == 3


def test_an_alarm_after_the_text_is_old_updates_it_at_once() -> None:
    strangers = UnknownDevices()
    first = fault(reason(ID1, 0, "1 alarm"))
    strangers.alarm(alarm(ID1, device="rom-999"), at(0))
    assert strangers.alarm(alarm(ID2, device="rom-999"), at(45)) == [
        (first, at(45)),
        (fault(reason(ID2, 45, "2 alarms")), None),
    ]


def test_cleared_when_quiet_or_registered() -> None:
    strangers = UnknownDevices()
    [(quiet, _)] = strangers.alarm(alarm(ID1, device="rom-999"), at(0))
    [(listed, _)] = strangers.alarm(alarm(ID2, device="rom-101"), at(0))
    assert strangers.tick(at(10), lambda _site, device: device == "rom-101") == [(listed, at(10))]
    silent = QUIET.total_seconds()
    assert strangers.tick(at(silent - 1), never) == []
    assert strangers.tick(at(silent), never) == [(quiet, at(silent))]
    assert strangers.faults() == ()
    # A new alarm after that raises the fault again, counting afresh.
    [(again, cleared)] = strangers.alarm(alarm(ID3, device="rom-999"), at(silent + 5))
    assert cleared is None
    assert again.since == at(silent + 5)
    assert "1 alarm from it" in again.reason
