"""One card per flooding source (central.core.floodcards), by exact equality: containment may
merge cards, never hide a room. Fixed ids and an injected time; no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from central.core import Broadcast
from central.core.alarms import DESK_DEVICE
from central.core.floodcards import FloodCards, Shown
from protocol import AlarmLevel, AlarmSource
from protocol.messages import Responder
from protocol.screen import AlarmNew, AlarmState, AlarmUpdate, AlarmView

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)
ROM = ("a", "rom-101", False)


def _id(n: int) -> UUID:
    return UUID(int=n)


def _view(
    n: int,
    device: str = "rom-101",
    level: AlarmLevel = AlarmLevel.ASSIST,
    raised_by: str | None = None,
    **update: object,
) -> AlarmView:
    view = AlarmView(
        alarm_id=_id(n),
        site="a",
        device=device,
        room="Kontor 3.12" if raised_by else "Møterom 101",
        level=level,
        source=AlarmSource.DESKTOP if raised_by else AlarmSource.BUTTON,
        input="hotkey" if raised_by else "panic",
        raised_at=T0 + n * S,
        state=AlarmState.RECEIVED,
        raised_by=raised_by,
    )
    return view.model_copy(update=update)


def _card(view: AlarmView, flood: int, presses: int, level: AlarmLevel) -> AlarmView:
    return view.model_copy(update={"flood": flood, "presses": presses, "level": level})


def _merged(view: AlarmView, into: int) -> AlarmView:
    return view.model_copy(update={"merged_into": _id(into)})


def test_a_flood_start_merges_the_cards_screens_show_into_the_oldest() -> None:
    cards = FloodCards()
    shown = [_view(1), _view(2, level=AlarmLevel.ACUTE), _view(3)]
    other = _view(9, device="rom-102")
    assert cards.start(ROM, T0, [*shown, other]) == [
        Broadcast("a", AlarmUpdate(alarm=_card(shown[0], 3, 3, AlarmLevel.ACUTE))),
        Broadcast("a", AlarmUpdate(alarm=_merged(shown[1], 1))),
        Broadcast("a", AlarmUpdate(alarm=_merged(shown[2], 1))),
    ]
    assert cards.merging() == {ROM: T0}
    assert cards.start(ROM, T0 + S, shown) == []  # once
    # Another room is not merged: told as it is.
    assert cards.changed(AlarmNew(alarm=other)) == Shown(None)


def test_every_change_of_a_flood_alarm_updates_the_one_card() -> None:
    cards = FloodCards()
    first = _view(1)
    cards.start(ROM, T0, [first])
    new = _view(11, state=AlarmState.RAISED)
    # The 11th alarm: not a card of its own, the card's count goes up.
    assert cards.changed(AlarmNew(alarm=new)) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=_card(first, 2, 2, AlarmLevel.ASSIST))),),
        joined=_id(1),  # screens already show the card: its "shown" is this alarm's too
    )
    # Its state changes (stored, a re-press, acute) reach the screens as the card.
    pressed = new.model_copy(update={"presses": 3, "level": AlarmLevel.ACUTE})
    assert cards.changed(AlarmUpdate(alarm=pressed)) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=_card(first, 2, 4, AlarmLevel.ACUTE))),)
    )
    # "I'm coming" on the card is the card's own alarm: shown on the card.
    kari = Responder(user="kari", name="Kari", at=T0)
    coming = first.model_copy(update={"state": AlarmState.ACKNOWLEDGED, "responders": (kari,)})
    assert cards.changed(AlarmUpdate(alarm=coming)) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=_card(coming, 2, 4, AlarmLevel.ACUTE))),)
    )


def test_resolve_on_the_card_names_all_its_alarms_card_last_and_the_merge_ends() -> None:
    cards = FloodCards()
    views = [_view(1), _view(2), _view(3)]
    cards.start(ROM, T0, views)
    assert cards.members(_id(1)) == (_id(2), _id(3), _id(1))
    assert cards.members(_id(2)) == (_id(2),)  # not a card: only itself
    done = {"state": AlarmState.RESOLVED, "resolved_by": "kari"}
    two, three, one = (v.model_copy(update=done) for v in (views[1], views[2], views[0]))
    # The merged alarms are resolved "away" into the card: the card stands for them (one
    # incident report per flood, asked when the card itself resolves).
    assert cards.changed(AlarmUpdate(alarm=two)) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=_card(views[0], 2, 2, AlarmLevel.ASSIST))),),
        merged_away=_id(2),
    )
    assert cards.changed(AlarmUpdate(alarm=three)) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=_card(views[0], 1, 1, AlarmLevel.ASSIST))),),
        merged_away=_id(3),
    )
    assert cards.changed(AlarmUpdate(alarm=one)) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=one)),), ended=ROM
    )
    assert cards.merging() == {}
    # Merged no more: the device's next alarm is told as it is.
    assert cards.changed(AlarmNew(alarm=_view(4))) == Shown(None)


def test_when_the_card_s_own_alarm_is_resolved_the_next_oldest_becomes_the_card() -> None:
    cards = FloodCards()
    views = [_view(1), _view(2), _view(3)]
    cards.start(ROM, T0, views)
    one = views[0].model_copy(update={"state": AlarmState.RESOLVED})
    assert cards.changed(AlarmUpdate(alarm=one)) == Shown(
        (
            Broadcast("a", AlarmUpdate(alarm=one)),
            Broadcast("a", AlarmNew(alarm=_card(views[1], 2, 2, AlarmLevel.ASSIST))),
        )
    )
    assert cards.members(_id(2)) == (_id(3), _id(2))


def test_snapshots_and_the_board_list_one_card_per_flooding_source() -> None:
    cards = FloodCards()
    flood = [_view(n) for n in range(1, 51)]
    other = _view(60, device="rom-102")
    test = _view(61, test=True)
    cards.start(ROM, T0, flood[:10])
    for view in flood[10:]:
        cards.changed(AlarmNew(alarm=view))
    listed = cards.listed([other, *flood, test])
    assert listed == [other, _card(flood[0], 50, 50, AlarmLevel.ASSIST), test]


def test_a_desk_s_silent_alarms_merge_per_person_and_the_raiser_sees_its_own_stored() -> None:
    cards = FloodCards()
    kari = ("a", "kari", True)
    mine = [_view(n, device=DESK_DEVICE, raised_by="kari") for n in range(1, 4)]
    ola = _view(9, device=DESK_DEVICE, raised_by="ola")
    cards.start(kari, T0, [*mine, ola])
    fourth = _view(4, device=DESK_DEVICE, raised_by="kari", level=AlarmLevel.ACUTE)
    assert cards.changed(AlarmNew(alarm=fourth)) == Shown(
        (
            Broadcast("a", AlarmUpdate(alarm=_card(mine[0], 4, 4, AlarmLevel.ACUTE))),
            Broadcast("a", AlarmUpdate(alarm=_merged(fourth, 1)), only=frozenset({"kari"})),
        ),
        joined=_id(1),
    )
    assert cards.changed(AlarmNew(alarm=ola)) == Shown(None)  # another person: as it is


def test_a_restart_restores_the_merge_and_forgets_sources_without_active_alarms() -> None:
    cards = FloodCards()
    quiet = ("a", "rom-103", False)
    ended = cards.restore({ROM: T0, quiet: T0}, [_view(1), _view(2), _view(9, "rom-102")])
    assert ended == [quiet]
    assert cards.merging() == {ROM: T0}
    assert cards.listed([_view(1), _view(2)]) == [_card(_view(1), 2, 2, AlarmLevel.ASSIST)]


def test_an_empty_merge_shows_the_next_alarm_as_a_new_card() -> None:
    cards = FloodCards()
    assert cards.start(ROM, T0, []) == []
    first = _view(1)
    assert cards.changed(AlarmNew(alarm=first)) == Shown(
        (Broadcast("a", AlarmNew(alarm=_card(first, 1, 1, AlarmLevel.ASSIST))),)
    )
