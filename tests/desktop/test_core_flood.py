"""desktop.core and a flood card (central.core.floodcards): an alarm ``merged_into`` a card is
withdrawn like a resolved one, and the card is an alarm like any other. No I/O."""

from __future__ import annotations

from desktop.core import AlarmEvent, DeskCore, EventKind
from protocol.screen import AlarmNew, AlarmUpdate, Command, CommandKind, Hello, Snapshot
from tests.desktop.fake_central import make_alarm


def connected() -> DeskCore:
    core = DeskCore()
    core.connection_opened()
    core.receive(Hello(user="kari", name="Kari", sites=("oslo-sentrum",)))
    return core


def test_a_merged_alarm_leaves_the_screen_and_the_card_carries_the_count() -> None:
    core = connected()
    first, second = make_alarm(), make_alarm()
    core.receive(AlarmNew(alarm=first))
    core.receive(AlarmNew(alarm=second))
    card = first.model_copy(update={"flood": 2, "presses": 2})
    merged = second.model_copy(update={"merged_into": first.alarm_id})
    assert core.receive(AlarmUpdate(alarm=card)).events == (AlarmEvent(EventKind.UPDATE, card),)
    reaction = core.receive(AlarmUpdate(alarm=merged))
    assert (reaction.events, reaction.commands) == ((AlarmEvent(EventKind.UPDATE, merged),), ())
    assert dict(core.active) == {first.alarm_id: card}


def test_a_snapshot_with_a_card_lists_it_and_delivers_it_once() -> None:
    core = connected()
    card = make_alarm().model_copy(update={"flood": 37})
    reaction = core.receive(Snapshot(alarms=(card,)))
    assert reaction.events == (AlarmEvent(EventKind.ACTIVE, card),)
    assert reaction.commands == (Command(type=CommandKind.DELIVERED, alarm_id=card.alarm_id),)
    assert dict(core.active) == {card.alarm_id: card}
