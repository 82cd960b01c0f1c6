"""desktop.core: the open faults a facility manager's desk keeps, and which ones are news."""

from __future__ import annotations

from datetime import UTC, datetime

from desktop.core import DeskCore, FaultEvent, OpenFaults, fault_key
from protocol.screen import Hello, Snapshot, encode_frame
from tests.desktop.fake_central import make_alarm, make_fault

LATER = datetime(2024, 5, 2, 11, 0, tzinfo=UTC)


def manager() -> DeskCore:
    core = DeskCore()
    core.connection_opened()
    core.receive(Hello(user="fm", name="Frida", sites=("oslo-sentrum",)))
    core.receive(Snapshot(alarms=()))
    return core


def test_a_fault_frame_opens_a_fault_and_is_news() -> None:
    core = manager()
    offline = make_fault()
    reaction = core.receive(offline)
    assert reaction.faults == FaultEvent(offline, (offline,), new=True)
    assert reaction.events == ()
    assert reaction.commands == ()
    assert reaction.problem is None
    assert dict(core.faults) == {("oslo-sentrum", "rom-101", "offline"): offline}


def test_faults_are_kept_by_site_device_and_kind() -> None:
    core = manager()
    offline, tamper = make_fault(), make_fault(kind="tamper", reason="lid open")
    whole_site = make_fault(device="", kind="no_screen", reason="nobody connected")
    core.receive(offline)
    core.receive(tamper)
    reaction = core.receive(whole_site)
    assert reaction.faults is not None
    assert reaction.faults.open == (offline, tamper, whole_site)
    assert ("oslo-sentrum", "", "no_screen") in core.faults


def test_a_changed_reason_replaces_the_fault_without_news() -> None:
    core = manager()
    core.receive(make_fault())
    changed = make_fault(reason="last will")
    reaction = core.receive(changed)
    assert reaction.faults == FaultEvent(changed, (changed,), new=False)


def test_cleared_removes_the_fault_and_is_no_news() -> None:
    core = manager()
    offline, tamper = make_fault(), make_fault(kind="tamper")
    core.receive(offline)
    core.receive(tamper)
    cleared = make_fault(cleared=True, at=LATER)
    reaction = core.receive(cleared)
    assert reaction.faults == FaultEvent(cleared, (tamper,), new=False)
    assert list(core.faults) == [fault_key(tamper)]


def test_clearing_an_unknown_fault_changes_nothing() -> None:
    core = manager()
    tamper = make_fault(kind="tamper")
    core.receive(tamper)
    cleared = make_fault(cleared=True, at=LATER)
    reaction = core.receive(cleared)
    assert reaction.faults == FaultEvent(cleared, (tamper,))


def test_a_new_snapshot_starts_the_list_afresh_and_resent_faults_are_not_news() -> None:
    core = manager()
    offline, tamper = make_fault(), make_fault(kind="tamper")
    core.receive(offline)
    core.receive(tamper)
    core.connection_opened()
    reaction = core.receive(Snapshot(alarms=()))
    assert reaction.faults == FaultEvent(None, ())
    assert dict(core.faults) == {}
    # Central re-sends what is still open; the tamper fault cleared while we were away.
    again = core.receive(offline)
    assert again.faults == FaultEvent(offline, (offline,), new=False)
    assert dict(core.faults) == {fault_key(offline): offline}


def test_a_fault_that_came_back_while_away_is_news_again() -> None:
    core = manager()
    core.receive(make_fault())
    core.receive(Snapshot(alarms=()))
    back = make_fault(at=LATER)  # cleared and raised again: a new `at`
    reaction = core.receive(back)
    assert reaction.faults is not None
    assert reaction.faults.new


def test_a_fault_cleared_after_the_snapshot_is_news_when_raised_again() -> None:
    core = manager()
    offline = make_fault()
    core.receive(offline)
    core.receive(Snapshot(alarms=()))
    core.receive(make_fault(cleared=True, at=LATER))
    reaction = core.receive(offline)
    assert reaction.faults is not None
    assert reaction.faults.new


def test_a_snapshot_without_faults_says_nothing_of_faults() -> None:
    core = manager()
    reaction = core.receive(Snapshot(alarms=(make_alarm(),)))
    assert reaction.faults is None


def test_receive_text_decodes_a_fault_frame_instead_of_calling_it_bad() -> None:
    core = manager()
    offline = make_fault()
    reaction = core.receive_text(encode_frame(offline))
    assert reaction.problem is None
    assert reaction.faults == FaultEvent(offline, (offline,), new=True)
    assert core.counters == {}


def test_open_faults_alone() -> None:
    faults = OpenFaults()
    assert faults.snapshot() is None
    offline = make_fault()
    assert faults.receive(offline).new
    assert not faults.receive(offline).new
    assert dict(faults.open) == {fault_key(offline): offline}
