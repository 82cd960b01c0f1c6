"""Which facts reach the alarm receiving centre, and as which event: central.arc.reports is pure,
so every rule of its docstring is checked here by exact equality (fixed clock, fixed ids)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from central.arc.events import ArcEvent, ArcKind
from central.arc.reports import (
    alarm_kind,
    alarm_report,
    announcement_report,
    replaced_report,
    resolved_report,
    zone_numbers,
)
from central.core.announcements import Announcement, Origin
from protocol import AlarmLevel, AlarmSource
from protocol.messages import AnnouncementKind
from protocol.screen import AlarmState, AlarmView

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SITE = "oslo-sentrum"
ALARM = UUID("00000000-0000-4000-8000-000000000001")
EVACUATION = UUID("00000000-0000-4000-8000-0000000000e1")
CLEAR = UUID("00000000-0000-4000-8000-0000000000c1")
ZONES = {(SITE, "rom-101"): 1, (SITE, "rom-102"): 2, ("bergen", "rom-101"): 1}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def view(**changes: Any) -> AlarmView:
    """An acute button alarm in rom-102, stored and not escalated; ``changes`` override."""
    fields: dict[str, Any] = {
        "alarm_id": ALARM,
        "site": SITE,
        "device": "rom-102",
        "room": "Møterom 102",
        "level": AlarmLevel.ACUTE,
        "source": AlarmSource.BUTTON,
        "input": "desk",
        "raised_at": T0,
        "state": AlarmState.RECEIVED,
    }
    fields.update(changes)
    return AlarmView.model_validate(fields)


def resolved(**changes: Any) -> AlarmView:
    """The alarm above, escalated to the ARC and resolved 90 s after it was raised."""
    fields: dict[str, Any] = {
        "state": AlarmState.RESOLVED,
        "resolved_at": at(90),
        "resolved_by": "kari",
        "stage": 2,
        "escalated_to": ("neighbours", "arc"),
    }
    fields.update(changes)
    return view(**fields)


def announcement(
    kind: AnnouncementKind, announcement_id: UUID = EVACUATION, seconds: float = 0
) -> Announcement:
    return Announcement(
        announcement_id, SITE, kind, None, "kari", "Kari Nordmann", Origin.CONSOLE, at(seconds)
    )


# --- zone numbers ------------------------------------------------------------------------


def test_zones_are_the_registrys_explicit_numbers() -> None:
    devices = [
        (SITE, "rom-101", 7),
        ("bergen", "rom-201", 1),
        (SITE, "rom-102", None),  # a site without an ARC needs none: no zone
        (SITE, "resepsjon", 899),
    ]
    assert zone_numbers(devices) == {
        (SITE, "rom-101"): 7,
        ("bergen", "rom-201"): 1,
        (SITE, "resepsjon"): 899,
    }


def test_no_devices_no_zones() -> None:
    assert zone_numbers([]) == {}


# --- alarms ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "source", "kind"),
    [
        (AlarmLevel.ACUTE, AlarmSource.BUTTON, ArcKind.PANIC),
        (AlarmLevel.ACUTE, AlarmSource.SENSOR, ArcKind.PANIC),
        (AlarmLevel.ACUTE, AlarmSource.MOBILE, ArcKind.PANIC),
        (AlarmLevel.ACUTE, AlarmSource.DESKTOP, ArcKind.SILENT),
        (AlarmLevel.ASSIST, AlarmSource.BUTTON, ArcKind.ASSIST),
        (AlarmLevel.ASSIST, AlarmSource.DESKTOP, ArcKind.ASSIST),
    ],
)
def test_the_arcs_word_for_an_alarm(level: AlarmLevel, source: AlarmSource, kind: ArcKind) -> None:
    assert alarm_kind(view(level=level, source=source)) is kind


def test_an_escalated_alarm_is_an_event_on_its_devices_zone() -> None:
    assert alarm_report(view(stage=2, escalated_to=("arc",)), ZONES) == ArcEvent(
        SITE, str(ALARM), ArcKind.PANIC, T0, zone=2
    )


def test_a_silent_alarm_from_a_desk_is_a_silent_panic() -> None:
    desk = view(device="desk-kari", source=AlarmSource.DESKTOP, raised_by="kari")
    assert alarm_report(desk, ZONES) == ArcEvent(SITE, str(ALARM), ArcKind.SILENT, T0, zone=0)


def test_an_assist_call_is_its_own_event() -> None:
    assert alarm_report(view(level=AlarmLevel.ASSIST, device="rom-101"), ZONES) == ArcEvent(
        SITE, str(ALARM), ArcKind.ASSIST, T0, zone=1
    )


def test_a_device_the_registry_does_not_number_is_zone_zero() -> None:
    assert alarm_report(view(device="rom-999"), ZONES) == ArcEvent(
        SITE, str(ALARM), ArcKind.PANIC, T0, zone=0
    )


def test_zones_are_per_site() -> None:
    bergen = view(site="bergen", device="rom-101")
    assert alarm_report(bergen, ZONES) == ArcEvent("bergen", str(ALARM), ArcKind.PANIC, T0, 1)
    assert alarm_report(view(site="bergen", device="rom-102"), ZONES) == ArcEvent(
        "bergen", str(ALARM), ArcKind.PANIC, T0, zone=0
    )


@pytest.mark.parametrize("which", [{"test": True}, {"drill": True}, {"test": True, "drill": True}])
def test_never_a_test_alarm_nor_a_drill(which: dict[str, bool]) -> None:
    assert alarm_report(view(escalated_to=("arc",), **which), ZONES) is None


# --- resolutions -------------------------------------------------------------------------


def test_the_resolution_of_an_alarm_the_arc_had_is_its_restore() -> None:
    assert resolved_report(resolved(), ZONES) == ArcEvent(
        SITE, str(ALARM), ArcKind.PANIC, at(90), zone=2, restore=True
    )


def test_the_restore_is_the_same_event_as_the_alarm() -> None:
    alarm = alarm_report(resolved(), ZONES)
    restore = resolved_report(resolved(), ZONES)
    assert alarm is not None
    assert restore is not None
    assert (restore.key, restore.kind, restore.zone, restore.site) == (
        alarm.key,
        alarm.kind,
        alarm.zone,
        alarm.site,
    )
    assert (alarm.unique, restore.unique) == (f"{ALARM}:panic:alarm", f"{ALARM}:panic:restore")


def test_a_silent_alarms_restore_keeps_its_kind() -> None:
    silent = resolved(level=AlarmLevel.ACUTE, source=AlarmSource.DESKTOP, device="rom-101")
    assert resolved_report(silent, ZONES) == ArcEvent(
        SITE, str(ALARM), ArcKind.SILENT, at(90), zone=1, restore=True
    )


def test_no_restore_for_an_alarm_the_arc_never_had() -> None:
    assert resolved_report(resolved(stage=1, escalated_to=("neighbours",)), ZONES) is None
    assert resolved_report(resolved(stage=0, escalated_to=()), ZONES) is None


@pytest.mark.parametrize("state", [AlarmState.RECEIVED, AlarmState.ACKNOWLEDGED])
def test_no_restore_while_the_alarm_is_not_resolved(state: AlarmState) -> None:
    assert resolved_report(resolved(state=state, resolved_at=None), ZONES) is None


@pytest.mark.parametrize("which", [{"test": True}, {"drill": True}])
def test_no_restore_for_a_test_or_a_drill_even_if_the_record_names_the_arc(
    which: dict[str, bool],
) -> None:
    assert resolved_report(resolved(**which), ZONES) is None


def test_no_restore_without_a_resolution_time() -> None:
    assert resolved_report(resolved(resolved_at=None), ZONES) is None


# --- announcements -----------------------------------------------------------------------


def test_evacuate_is_an_event_of_its_own() -> None:
    assert announcement_report(announcement(AnnouncementKind.EVACUATE), None) == ArcEvent(
        SITE, str(EVACUATION), ArcKind.EVACUATE, T0
    )


def test_lock_down_is_an_event_of_its_own() -> None:
    assert announcement_report(announcement(AnnouncementKind.LOCKDOWN), None) == ArcEvent(
        SITE, str(EVACUATION), ArcKind.LOCKDOWN, T0
    )


def test_the_fixed_zones_of_announcements() -> None:
    evacuate = announcement_report(announcement(AnnouncementKind.EVACUATE), None)
    lockdown = announcement_report(announcement(AnnouncementKind.LOCKDOWN), None)
    assert evacuate is not None
    assert lockdown is not None
    assert (evacuate.zone_number, lockdown.zone_number) == (901, 902)


def test_a_replacing_announcement_is_the_new_one_not_a_restore() -> None:
    lockdown = announcement(AnnouncementKind.LOCKDOWN)
    evacuate = announcement(AnnouncementKind.EVACUATE, CLEAR, seconds=30)
    assert announcement_report(evacuate, lockdown) == ArcEvent(
        SITE, str(CLEAR), ArcKind.EVACUATE, at(30)
    )


@pytest.mark.parametrize(
    ("ended", "kind"),
    [(AnnouncementKind.EVACUATE, ArcKind.EVACUATE), (AnnouncementKind.LOCKDOWN, ArcKind.LOCKDOWN)],
)
def test_all_clear_restores_the_announcement_it_ends(
    ended: AnnouncementKind, kind: ArcKind
) -> None:
    previous = announcement(ended)
    clear = announcement(AnnouncementKind.ALL_CLEAR, CLEAR, seconds=600)
    assert announcement_report(clear, previous) == ArcEvent(
        SITE, str(EVACUATION), kind, at(600), restore=True
    )


def test_all_clear_with_nothing_before_it_is_nothing() -> None:
    clear = announcement(AnnouncementKind.ALL_CLEAR, CLEAR)
    assert announcement_report(clear, None) is None


def test_all_clear_after_all_clear_is_nothing() -> None:
    first = announcement(AnnouncementKind.ALL_CLEAR, EVACUATION)
    assert announcement_report(announcement(AnnouncementKind.ALL_CLEAR, CLEAR, 9), first) is None


@pytest.mark.parametrize(
    ("before", "after", "ended"),
    [
        (AnnouncementKind.LOCKDOWN, AnnouncementKind.EVACUATE, ArcKind.LOCKDOWN),
        (AnnouncementKind.EVACUATE, AnnouncementKind.LOCKDOWN, ArcKind.EVACUATE),
    ],
)
def test_one_kind_replacing_the_other_restores_it(
    before: AnnouncementKind, after: AnnouncementKind, ended: ArcKind
) -> None:
    replacing = announcement(after, CLEAR, seconds=30)
    assert replaced_report(replacing, announcement(before)) == ArcEvent(
        SITE, str(EVACUATION), ended, at(30), restore=True
    )


@pytest.mark.parametrize("kind", [AnnouncementKind.EVACUATE, AnnouncementKind.LOCKDOWN])
def test_the_same_kind_again_keeps_its_zone_open(kind: AnnouncementKind) -> None:
    """One zone's evacuation become the whole site's: 901 stays open, all clear ends it."""
    assert replaced_report(announcement(kind, CLEAR, 30), announcement(kind)) is None


def test_nothing_is_replaced_by_a_first_announcement_or_by_all_clear() -> None:
    evacuate = announcement(AnnouncementKind.EVACUATE)
    clear = announcement(AnnouncementKind.ALL_CLEAR, CLEAR, 60)
    assert replaced_report(evacuate, None) is None
    assert replaced_report(clear, evacuate) is None  # all clear's restore: announcement_report
    assert replaced_report(evacuate, clear) is None
