"""Device trouble at the ARC (central.arc.troubles): one open trouble per device and kind, its
restore once, and the same across a restart of central. Pure: exact equality, fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central.arc.events import ArcEvent, ArcKind
from central.arc.reports import TROUBLE_KINDS
from central.arc.troubles import Troubles
from central.core.supervision import Fault, FaultCleared, FaultKind, FaultRaised

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SITE = "oslo-sentrum"
ZONES = {(SITE, "rom-101"): 1, (SITE, "rom-102"): 2}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def fault(
    kind: FaultKind = FaultKind.OFFLINE, device: str = "rom-102", reason: str = "why", s: float = 5
) -> Fault:
    return Fault(SITE, device, kind, reason, at(s))


def trouble(key_at: float, kind: str = "offline", device: str = "rom-102") -> str:
    return f"{device}/{kind}/{at(key_at).isoformat()}"


def test_the_trouble_kinds_are_the_devices_own_faults() -> None:
    assert frozenset(FaultKind) - TROUBLE_KINDS == {
        FaultKind.NO_SCREEN,
        FaultKind.UNKNOWN_DEVICE,
        FaultKind.FLOOD,
        FaultKind.BROKER_UNREACHABLE,
        FaultKind.ARC_UNREACHABLE,
    }


@pytest.mark.parametrize("kind", sorted(TROUBLE_KINDS))
def test_a_device_fault_is_trouble_on_its_zone_and_its_clearing_the_restore(
    kind: FaultKind,
) -> None:
    troubles = Troubles(ZONES)
    key = f"rom-102/{kind.value}/{at(5).isoformat()}"
    assert troubles.changed(FaultRaised(fault(kind))) == ArcEvent(
        SITE, key, ArcKind.TROUBLE, at(5), zone=2
    )
    assert troubles.changed(FaultCleared(fault(kind), at(65))) == ArcEvent(
        SITE, key, ArcKind.TROUBLE, at(65), zone=2, restore=True
    )
    assert troubles.changed(FaultCleared(fault(kind), at(70))) is None  # restored once


def test_two_spells_of_one_fault_are_two_troubles() -> None:
    troubles = Troubles(ZONES)
    first = troubles.changed(FaultRaised(fault()))
    troubles.changed(FaultCleared(fault(), at(60)))
    second = troubles.changed(FaultRaised(fault(s=300)))
    assert (first, second) == (
        ArcEvent(SITE, trouble(5), ArcKind.TROUBLE, at(5), zone=2),
        ArcEvent(SITE, trouble(300), ArcKind.TROUBLE, at(300), zone=2),
    )


def test_two_faults_of_one_kind_are_one_trouble_restored_when_the_last_clears() -> None:
    troubles = Troubles(ZONES)
    a = fault(FaultKind.DEVICE_FAULT, reason="outbox write failed")
    b = fault(FaultKind.DEVICE_FAULT, reason="led read back wrong", s=8)
    key = trouble(5, kind="device_fault")
    assert troubles.changed(FaultRaised(a)) == ArcEvent(SITE, key, ArcKind.TROUBLE, at(5), zone=2)
    assert troubles.changed(FaultRaised(b)) is None
    assert troubles.changed(FaultCleared(a, at(20))) is None
    assert troubles.changed(FaultCleared(b, at(30))) == ArcEvent(
        SITE, key, ArcKind.TROUBLE, at(30), zone=2, restore=True
    )


def test_an_unnumbered_device_is_zone_zero() -> None:
    assert Troubles(ZONES).changed(FaultRaised(fault(FaultKind.TAMPER, "rom-999"))) == ArcEvent(
        SITE, trouble(5, kind="tamper", device="rom-999"), ArcKind.TROUBLE, at(5), zone=0
    )


@pytest.mark.parametrize("kind", sorted(frozenset(FaultKind) - TROUBLE_KINDS))
def test_faults_that_are_not_a_devices_own_stay_off_the_arcs_desk(kind: FaultKind) -> None:
    troubles = Troubles(ZONES)
    for device in ("", "rom-102"):
        assert troubles.changed(FaultRaised(fault(kind, device))) is None
        assert troubles.changed(FaultCleared(fault(kind, device), at(9))) is None


def test_a_device_kind_without_a_device_is_not_trouble() -> None:
    troubles = Troubles(ZONES)
    assert troubles.changed(FaultRaised(fault(FaultKind.OFFLINE, device=""))) is None


def test_a_clearing_of_a_fault_never_sent_sends_nothing() -> None:
    assert Troubles(ZONES).changed(FaultCleared(fault(), at(9))) is None


# --- across a restart of central ------------------------------------------------------------

OPEN = ArcEvent(SITE, trouble(5), ArcKind.TROUBLE, at(5), zone=2)


def test_a_fault_found_again_after_a_restart_takes_up_the_open_trouble() -> None:
    troubles = Troubles(ZONES)
    troubles.restore([OPEN])
    assert troubles.changed(FaultRaised(fault(s=400))) is None  # the ARC has it open already
    assert troubles.settle(at(600)) == []  # a fault stands behind it
    assert troubles.changed(FaultCleared(fault(s=400), at(700))) == ArcEvent(
        SITE, trouble(5), ArcKind.TROUBLE, at(700), zone=2, restore=True
    )


def test_an_open_trouble_no_fault_took_up_is_restored_when_settled_once() -> None:
    troubles = Troubles(ZONES)
    troubles.restore([OPEN])
    assert troubles.settle(at(600)) == [
        ArcEvent(SITE, trouble(5), ArcKind.TROUBLE, at(600), zone=2, restore=True)
    ]
    assert troubles.settle(at(601)) == []
    assert troubles.changed(FaultRaised(fault(s=900))) == ArcEvent(  # a new spell: new trouble
        SITE, trouble(900), ArcKind.TROUBLE, at(900), zone=2
    )


def test_only_open_troubles_with_a_readable_key_are_restored() -> None:
    troubles = Troubles(ZONES)
    troubles.restore(
        [
            ArcEvent(SITE, "alarm-id", ArcKind.PANIC, at(1)),  # not a trouble
            ArcEvent(SITE, trouble(5), ArcKind.TROUBLE, at(9), restore=True),  # a restore
            ArcEvent(SITE, "nodevice", ArcKind.TROUBLE, at(1)),  # no device/kind in the key
            OPEN,
            ArcEvent(SITE, trouble(7), ArcKind.TROUBLE, at(7), zone=2),  # same device and kind
        ]
    )
    assert troubles.settle(at(600)) == [
        ArcEvent(SITE, trouble(5), ArcKind.TROUBLE, at(600), zone=2, restore=True)
    ]
