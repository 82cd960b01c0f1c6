"""Central's details in words (central/web/details.py), fed by central's real producers.

The alarm book (every event kind, every note it writes), the self-test judges and the places
that write a test alarm's closing detail or a run's reason: whatever they write must be said
in words in both languages. A new format fails here, not on a page in front of a person.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from central.core import Action, AlarmBook, AlarmEvent, EventKind, Persist, Person
from central.core.alarms import CENTRAL_ACTOR
from central.core.escalation import Escalated, Reason
from central.core.selftests import E2ETrial, RunResult, judge_device
from central.web import details
from protocol import AlarmLevel, AlarmMessage, AlarmSource, CheckName, CheckResult
from protocol.screen import Command, CommandKind, RaiseRequest
from trygg_i18n import LANGUAGES, translations

CENTRAL = Path(__file__).parents[2] / "central"
EDGE = Path(__file__).parents[2] / "edge"
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
SITE = "oslo-sentrum"
KARI = Person("kari", "Kari Nordmann", "k" * 24, frozenset({SITE}))
OLA = Person("ola", "Ola Nordmann", "o" * 24, frozenset({"*"}))


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _alarm(alarm_id: UUID, presses: int = 1, **extra: object) -> AlarmMessage:
    return AlarmMessage.model_validate(
        {
            "site": SITE,
            "device": "rom-101",
            "alarm_id": alarm_id,
            "level": AlarmLevel.ACUTE,
            "room": 'Kari\'s "rom"; 2',
            "source": AlarmSource.BUTTON,
            "input": "desk",
            "raised_at": T0,
            "presses": presses,
            **extra,
        }
    )


def _closing_details() -> list[str]:
    """Every detail central passes when it closes a test alarm itself (read from its code):
    ``close_test(..., detail)`` calls and ``_close_when_stored[...] = detail``."""
    found: list[str] = []
    for source in CENTRAL.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            detail: ast.expr | None = None
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name in ("close_test", "_close_test") and len(node.args) >= 2:
                    detail = node.args[-1]
            if isinstance(node, ast.Assign):
                target = node.targets[0]
                if (
                    isinstance(target, ast.Subscript)
                    and getattr(target.value, "attr", None) == "_close_when_stored"
                ):
                    detail = node.value
            if isinstance(detail, ast.Constant):
                found.append(str(detail.value))
            elif isinstance(detail, ast.JoinedStr):
                fixed = "".join(
                    str(p.value) if isinstance(p, ast.Constant) else "{}" for p in detail.values
                )
                found += [fixed.format(result) for result in RunResult]
    return found


def _escalations() -> list[Escalated]:
    """One of each reason the escalation core gives, as its stages write them."""
    return [
        Escalated(1, ("guards",), Reason.NO_SCREEN, timedelta(0)),
        Escalated(2, ("neighbours", "guards"), Reason.NO_ANSWER, timedelta(seconds=20)),
        Escalated(3, ("arc",), Reason.NOT_SHOWN, timedelta(seconds=10)),
    ]


def _every_event() -> list[AlarmEvent]:
    """Drive the alarm book through every path that writes an event."""
    book = AlarmBook(site_names={SITE: "NAV Oslo sentrum"})
    events: list[AlarmEvent] = []

    def run(actions: list[Action], now: datetime) -> None:
        pending = [a for a in actions if isinstance(a, Persist)]
        while pending:
            persist = pending.pop(0)
            events.extend(persist.events)
            pending += [a for a in book.committed(persist, now) if isinstance(a, Persist)]

    first = uuid4()
    run(book.alarm(_alarm(first), _at(0)), _at(0.1))
    for stage, escalated in enumerate(_escalations(), 1):  # nobody answered: wider
        escalate = book.escalate(
            first, stage, escalated.targets, (), (), escalated.detail(), _at(1)
        )
        run(escalate, _at(1.1))
    run(book.alarm(_alarm(first, presses=2), _at(1)), _at(1.1))
    for n, kind in enumerate(CommandKind):
        person = OLA if kind is CommandKind.CANT_COME else KARI
        if kind is not CommandKind.RESOLVE:
            run(book.command(person, Command(type=kind, alarm_id=first), _at(2 + n)), _at(3 + n))
    run(book.command(KARI, Command(type=CommandKind.RESOLVE, alarm_id=first), _at(20)), _at(21))
    run(book.alarm(_alarm(first, presses=3), _at(30)), _at(31))  # its successor
    held = _alarm(uuid4(), held_at_start=True, drill=True, source=AlarmSource.SENSOR)
    run(book.alarm(held, _at(40)), _at(41))
    run(book.end_drill(held.alarm_id, _at(42)), _at(43))  # its room's drill mode ended
    for detail in _closing_details():
        test = uuid4()
        run(book.alarm(_alarm(test, test=True), _at(50), frozenset({"kari"})), _at(51))
        run(book.close_test(test, _at(52), detail), _at(53))
    desk = RaiseRequest(
        alarm_id=uuid4(),
        level=AlarmLevel.ASSIST,
        site=SITE,
        room="Resepsjon",
        raised_at=T0,
        test=True,
    )
    run(book.raise_from_screen(KARI, desk, _at(60)), _at(61))
    return events


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_alarm_event_central_writes_is_said_in_words(language: str) -> None:
    _ = translations(language).gettext
    events = _every_event()
    assert {e.kind for e in events} == set(EventKind)
    assert {"button tested in a test round", "test screen has it"} <= set(_closing_details())
    unknown = [e for e in events if details.event_words(e.kind, e.actor, e.detail, _) is None]
    assert not unknown, unknown
    groups = {"guards": "vektere" if language == "nb" else "guards"}
    said = [details.event_words(e.kind, e.actor, e.detail, _, groups) for e in events]
    if language == "nb":
        text = " | ".join(f"{who}: {what}" for who, what in said if what)  # type: ignore[misc]
        assert "Akutt alarm fra knapp «desk» i «Kari&#39;s &#34;rom&#34;; 2»" in text
        assert "utløst 06.01.2025 10:00:00 etter enhetens klokke" in text
        assert "2 trykk i alt" in text
        assert 'trykket igjen etter at <a href="/alarms/' in text
        assert "kontakten var allerede sluttet da enheten startet" in text
        assert "øvelse – ikke en ekte alarm" in text
        assert "test – ikke en ekte alarm" in text
        assert "Bistandsalarm fra skrivebordsappen «hotkey» i «Resepsjon»" in text
        assert "Sentralen: knappen ble testet i en testrunde" in text
        assert "Sentralen: øvelsesmodus avsluttet" in text
        assert "Sentralen: ende-til-ende-test: Bestått" in text
        assert "Sentralen: Eskalert til naboer, vektere – 20 s uten svar (trinn 2)" in text
        assert "Eskalert til vektere – ingen skjerm på stedet var tilkoblet (trinn 1)" in text
        assert "Eskalert til alarmsentralen – ikke vist på noen skjerm innen 10 s (trinn 3)" in text


def test_a_detail_central_does_not_write_is_not_passed_off_as_known() -> None:
    _ = translations("nb").gettext
    assert (
        details.event_words("raised", "rom-1", "acute button:desk in 'R', raised_at x", _) is None
    )
    assert details.event_words("pressed", "rom-1", "presses=two", _) is None
    assert details.event_words("resolved", CENTRAL_ACTOR, "closed by magic", _) is None
    assert details.event_words("delivered", "kari", "something new", _) is None
    assert details.event_words("coming", "kari", "Kari Nordmann", _) == ("Kari Nordmann", "")
    assert details.run_words("a reason central never wrote", _) is None


def _reasons_in_code() -> list[str]:
    """Fixed run reasons central writes: ``reason="..."`` and ``abandon_open_runs(_, "...")``."""
    found = []
    for source in (CENTRAL / "selftests").glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant):
                    found.append(str(keyword.value.value))
            if getattr(node.func, "attr", None) == "abandon_open_runs":
                found += [str(a.value) for a in node.args if isinstance(a, ast.Constant)]
    return found


def _edge_details() -> list[str]:
    """The fixed failure details of the edge's checks (edge/core/selftest.py, edge/selftest.py)."""
    found = []
    for source in (EDGE / "core" / "selftest.py", EDGE / "selftest.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "CheckResult":
                words = {k.arg: k.value for k in node.keywords}
                ok, detail = words.get("ok"), words.get("detail")
                failed = isinstance(ok, ast.Constant) and ok.value is False
                if failed and isinstance(detail, ast.Constant):
                    found.append(str(detail.value))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_run_reason_central_writes_is_said_in_words(language: str) -> None:
    _ = translations(language).gettext
    reasons = [*_reasons_in_code(), judge_device(None).reason, judge_device([]).reason]
    assert len(_reasons_in_code()) >= 3
    edge = _edge_details()
    assert "no PUBACK from the broker" in edge
    failing = [CheckResult(name=CheckName.CLOCK, ok=False, detail=d) for d in edge]
    reasons.append(judge_device(failing).reason)
    reasons.append(judge_device([CheckResult(name=CheckName.DISK, ok=False)]).reason)
    trial = E2ETrial(uuid4(), uuid4(), SITE, "rom-101", _at(60))
    reasons.append(trial.verdict().reason)
    trial.seen(T0, _at(1))
    reasons.append(trial.verdict().reason)
    reasons += [
        "3 tested, 0 not tested, 1 failed",
        "expired after 5 min (closed by itself); 0 tested, 2 not tested, 0 failed",
    ]
    said = {reason: details.run_words(reason, _) for reason in reasons}
    assert None not in said.values(), said
    if language == "nb":
        assert said["3 tested, 0 not tested, 1 failed"] == "3 testet, 0 ikke testet, 1 feilet"
        assert said[judge_device(None).reason] == "intet svar"
        clock = said[judge_device(failing).reason]
        assert clock is not None
        assert "Klokke: meldingsformidleren bekreftet ikke" in clock
        assert said[trial.verdict().reason] == (
            "Lagret: ble aldri lagret; Til testskjermen: testskjermen bekreftet den aldri;"
            " Kvittert på enheten: intet svar"
        )
