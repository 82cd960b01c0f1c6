"""desktop.core: an alarm already shown that escalates alerts again; other changes do not."""

from __future__ import annotations

from desktop.core import AlarmEvent, DeskCore, EventKind
from protocol.screen import AlarmNew, AlarmState, AlarmUpdate, Hello, Snapshot
from tests.desktop.fake_central import make_alarm


def connected() -> DeskCore:
    core = DeskCore()
    core.connection_opened()
    core.receive(Hello(user="kari", name="Kari", sites=("oslo-sentrum",)))
    return core


def test_a_rising_stage_of_a_shown_alarm_alerts_again_once() -> None:
    core = connected()
    alarm = make_alarm()
    core.receive(AlarmNew(alarm=alarm))
    wider = alarm.model_copy(update={"stage": 1, "escalated_to": ("neighbours", "guards")})
    assert core.receive(AlarmUpdate(alarm=wider)).events == (
        AlarmEvent(EventKind.ESCALATED, wider),
    )
    # The same stage again (a repeat, a press) is an update; the next stage alerts again.
    pressed = wider.model_copy(update={"presses": 2})
    assert core.receive(AlarmUpdate(alarm=pressed)).events == (
        AlarmEvent(EventKind.UPDATE, pressed),
    )
    arc = pressed.model_copy(update={"stage": 2})
    assert core.receive(AlarmUpdate(alarm=arc)).events == (AlarmEvent(EventKind.ESCALATED, arc),)


def test_an_escalated_alarm_new_to_this_desk_pops_up_as_an_alarm() -> None:
    # The neighbour site's desk: the escalation is its first sight of the alarm.
    core = connected()
    alarm = make_alarm().model_copy(update={"stage": 1})
    assert core.receive(AlarmUpdate(alarm=alarm)).events == (AlarmEvent(EventKind.ALARM, alarm),)


def test_a_resolution_is_an_update_even_with_a_stage_and_a_snapshot_is_active() -> None:
    core = connected()
    alarm = make_alarm()
    core.receive(Snapshot(alarms=(alarm,)))
    done = alarm.model_copy(update={"stage": 1, "state": AlarmState.RESOLVED})
    assert core.receive(AlarmUpdate(alarm=done)).events == (AlarmEvent(EventKind.UPDATE, done),)
    assert core.active == {}
