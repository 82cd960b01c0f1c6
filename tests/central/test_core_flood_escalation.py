"""A flood card and escalation together, as pure logic (central.core.floodcards with
central.core.escalation and the book): the card carries every member's wider audience, answers
on the card are answers on every member, and one flood escalates (and reaches the ARC) once.
Fixed ids, an injected time, exact equality; no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from central.core import AlarmBook, AlarmEvent, EventKind, Persist, Person, Refusal
from central.core.alarms import reaches
from central.core.escalation import ARC, NEIGHBOURS, Escalate, Escalated, Escalation, Plan, Stage
from central.core.escalation import Reason as Why
from central.core.floodcards import FloodCards, Shown
from central.core.model import Broadcast
from protocol import AlarmLevel, AlarmSource
from protocol.screen import AlarmNew, AlarmState, AlarmUpdate, AlarmView, CommandKind
from tests.central.test_core_alarms import alarm, command, only

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
S = timedelta(seconds=1)
ROM = ("a", "rom-101", False)
PER = Person("per", "Per Hansen", "p" * 24, frozenset({"b"}))  # the neighbouring site's
PLAN = Plan(
    {
        AlarmLevel.ACUTE: (Stage(20 * S, (NEIGHBOURS,)), Stage(60 * S, (ARC,))),
        AlarmLevel.ASSIST: (Stage(45 * S, (NEIGHBOURS,)),),
    },
    unseen_after=10 * S,
)


def _id(n: int) -> UUID:
    return UUID(int=n)


def _view(n: int, level: AlarmLevel = AlarmLevel.ACUTE, **update: Any) -> AlarmView:
    view = AlarmView(
        alarm_id=_id(n),
        site="a",
        device="rom-101",
        room="Møterom 101",
        level=level,
        source=AlarmSource.BUTTON,
        input="panic",
        raised_at=T0 + n * S,
        state=AlarmState.RECEIVED,
    )
    return view.model_copy(update=update)


WIDE: dict[str, Any] = {"stage": 1, "escalated_to": (NEIGHBOURS,), "escalated_sites": ("b",)}


def _card(view: AlarmView, flood: int, presses: int, **update: object) -> AlarmView:
    return view.model_copy(update={"flood": flood, "presses": presses, **update})


def test_the_card_carries_every_member_s_wider_audience_and_keeps_it_while_merged() -> None:
    cards = FloodCards()
    one, two, three = _view(1), _view(2), _view(3)
    cards.start(ROM, T0, [one, two, three])
    # A member (not the card's alarm) escalated: the card is what its wider audience gets.
    wide_two = two.model_copy(update=WIDE | {"escalated_users": ("vakt",)})
    audience = WIDE | {"escalated_users": ("vakt",)}
    assert cards.changed(AlarmUpdate(alarm=wide_two)) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=_card(one, 3, 3, **audience))),)
    )
    assert reaches(PER, _card(one, 3, 3, **audience))
    # That member resolved: the card still reaches them (the flood is theirs to see to the end).
    done = {"state": AlarmState.RESOLVED}
    assert cards.changed(AlarmUpdate(alarm=wide_two.model_copy(update=done))) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=_card(one, 2, 2, **audience))),),
        merged_away=wide_two.alarm_id,  # resolved into its card (which asks for the report)
    )
    # The last resolution is told to them too: no card stays behind on a neighbour's screen.
    cards.changed(AlarmUpdate(alarm=three.model_copy(update=done)))
    last = one.model_copy(update=done)
    assert cards.changed(AlarmUpdate(alarm=last)) == Shown(
        (Broadcast("a", AlarmUpdate(alarm=last.model_copy(update=audience))),), ended=ROM
    )


def test_the_highest_stage_and_every_target_are_the_card_s() -> None:
    cards = FloodCards()
    one = _view(1, stage=1, escalated_to=("guards",), escalated_users=("vakt",))
    two = _view(2, stage=2, escalated_to=(NEIGHBOURS, ARC), escalated_sites=("b",))
    cards.start(ROM, T0, [one, two])
    [card] = cards.listed([one, two])
    assert (card.stage, card.escalated_to, card.escalated_sites, card.escalated_users) == (
        2,
        ("guards", NEIGHBOURS, ARC),
        ("b",),
        ("vakt",),
    )


def test_a_reader_reached_by_a_member_only_is_listed_the_card() -> None:
    cards = FloodCards()
    one, two = _view(1), _view(2, **WIDE)
    cards.start(ROM, T0, [one, two])
    # The neighbour's snapshot or board: of the flood only the escalated member reaches him.
    assert cards.listed([two]) == [_card(one, 2, 2, **WIDE)]
    assert cards.card(_id(1)) == _card(one, 2, 2, **WIDE)
    assert cards.card(_id(2)) is None  # not a card


def test_an_alarm_joining_a_card_says_which_card_screens_already_show() -> None:
    cards = FloodCards()
    cards.start(ROM, T0, [_view(1)])
    assert cards.changed(AlarmNew(alarm=_view(4))).joined == _id(1)
    assert cards.changed(AlarmUpdate(alarm=_view(4, presses=2))).joined is None  # not new


def test_only_the_flood_s_leader_escalates_the_oldest_at_the_highest_level() -> None:
    cards = FloodCards()
    assert cards.held() == frozenset()
    cards.start(ROM, T0, [_view(1, AlarmLevel.ASSIST), _view(2, AlarmLevel.ASSIST)])
    assert cards.held() == {_id(2)}  # the card's alarm leads
    cards.changed(AlarmNew(alarm=_view(3)))  # acute: it leads now
    cards.changed(AlarmNew(alarm=_view(4)))
    assert cards.held() == {_id(1), _id(2), _id(4)}
    # The leader resolved alone: the next oldest acute alarm leads.
    cards.changed(AlarmUpdate(alarm=_view(3, state=AlarmState.RESOLVED)))
    assert cards.held() == {_id(1), _id(2)}


def test_a_held_alarm_takes_no_stage_and_goes_on_when_released() -> None:
    core = Escalation(PLAN)
    for n in (1, 2):
        core.raised(_id(n), AlarmLevel.ACUTE, T0, covered=True)
        core.shown(_id(n))
    held = frozenset({_id(2)})
    assert core.tick(T0 + 20 * S, held) == [
        Escalate(_id(1), Escalated(1, (NEIGHBOURS,), Why.NO_ANSWER, 20 * S), T0 + 20 * S)
    ]
    assert core.tick(T0 + 30 * S, held) == []
    # Released (it stands alone again): its overdue stage is taken at once.
    assert core.tick(T0 + 31 * S) == [
        Escalate(_id(2), Escalated(1, (NEIGHBOURS,), Why.NO_ANSWER, 20 * S), T0 + 31 * S)
    ]


def test_an_unanswered_flood_escalates_once_per_stage_and_reaches_the_arc_once() -> None:
    """Eleven unanswered alarms of one device, none shown: one "not shown" stage and one ARC
    stage, both of the leader, instead of eleven of each."""
    cards = FloodCards()
    core = Escalation(PLAN)
    views = [_view(n) for n in range(1, 12)]
    for view in views:
        core.raised(view.alarm_id, view.level, T0, covered=True)
    cards.start(ROM, T0, views)
    taken = [
        action for second in range(0, 121, 5) for action in core.tick(T0 + second * S, cards.held())
    ]
    assert taken == [
        Escalate(_id(1), Escalated(1, (NEIGHBOURS,), Why.NOT_SHOWN, 10 * S), T0 + 10 * S),
        Escalate(_id(1), Escalated(2, (ARC,), Why.NO_ANSWER, 60 * S), T0 + 60 * S),
    ]


def _flood_book() -> tuple[AlarmBook, list[UUID]]:
    """Three stored alarms of one device; only the first escalated to the neighbour site."""
    book = AlarmBook()
    ids = [_id(n) for n in (1, 2, 3)]
    for alarm_id in ids:
        for persist in only(book.alarm(alarm(alarm_id, site="a"), T0), Persist):
            for follow in only(book.committed(persist, T0), Persist):
                book.committed(follow, T0)
    book.escalate(ids[0], 1, (NEIGHBOURS,), {"b"}, (), "stage=1", T0 + 20 * S)
    return book, ids


def test_the_card_s_audience_may_answer_every_alarm_of_its_flood() -> None:
    book, ids = _flood_book()
    cards = FloodCards()
    cards.start(ROM, T0, [v for v in book.active()])
    card = cards.card(ids[0])
    assert card is not None
    at = T0 + 30 * S
    # Not of the site and not escalated to: a member of the flood alone refuses him ...
    assert book.command(PER, command(CommandKind.COMING, ids[1]), at) == [
        Refusal(ids[1], "not_your_site")
    ]
    # ... the card he was shown lets him answer each (the shell gives it for every member).
    for alarm_id in cards.members(ids[0]):
        [persist] = book.command(PER, command(CommandKind.COMING, alarm_id), at, via=card)
        assert isinstance(persist, Persist)
        assert persist.alarm is not None
        assert [r.user for r in persist.alarm.responders] == ["per"]
        assert persist.events == (AlarmEvent(alarm_id, EventKind.COMING, at, "per", "Per Hansen"),)


def test_an_alarm_joining_a_shown_card_is_shown_by_the_same_people() -> None:
    book, ids = _flood_book()
    at = T0 + 5 * S
    kari = Person("kari", "Kari Nordmann", "k" * 24, frozenset({"a"}))
    book.command(kari, command(CommandKind.SHOWN, ids[0]), at)  # the card, on Kari's screen
    [persist] = book.shown_as(ids[2], ids[0], at + S)
    assert isinstance(persist, Persist)
    assert persist.alarm is not None
    assert persist.alarm.shown_at == at + S
    assert persist.events == (AlarmEvent(ids[2], EventKind.SHOWN, at + S, "kari"),)
    assert persist.ack_after_commit  # its device hears a colleague has it
    assert book.shown_as(ids[2], ids[0], at + 2 * S) == []  # once per person
    assert book.shown_as(ids[2], ids[1], at) == []  # nobody showed that one
