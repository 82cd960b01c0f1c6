"""The desk's incident-report prompts (desktop.core.reports): asked once per alarm whatever
central sends again at a reconnect, withdrawn when filed elsewhere, a new report told once; the
console's address from the desk's own server setting; the words; the headless line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID

import pytest

from desktop.config import Language
from desktop.core import DeskCore
from desktop.core.reports import DeskReports, ReportEvent, console_url, report_text
from desktop.headless import report_line
from desktop.i18n import load_translations
from protocol.screen import ReportAsk, ReportFiled, encode_frame

ALARM = UUID("00000000-0000-4000-8000-0000000000a1")
REPORT = UUID("00000000-0000-4000-8000-0000000000b2")
ASK = ReportAsk(
    alarm_id=ALARM,
    site="oslo-sentrum",
    site_name="NAV Oslo sentrum",
    room="Møterom 101",
    level="acute",
    raised_at=datetime(2025, 3, 3, 9, 41, tzinfo=UTC),
    resolved_at=datetime(2025, 3, 3, 9, 50, tzinfo=UTC),
    why="raiser",
    path=f"/reports/new?alarm={ALARM}",
)
FILED = ReportFiled(
    report_id=REPORT,
    site="oslo-sentrum",
    site_name="NAV Oslo sentrum",
    filed_at=datetime(2025, 3, 3, 10, 5, tzinfo=UTC),
    path=f"/reports/{REPORT}",
)


def test_an_ask_prompts_once_and_a_closed_one_withdraws_it() -> None:
    reports = DeskReports()
    assert reports.receive(ASK) == ReportEvent(ASK)
    assert reports.receive(ASK) is None  # sent again after a reconnect: no second prompt
    assert reports.open == (ASK,)
    closed = ASK.model_copy(update={"closed": True})
    event = reports.receive(closed)
    assert event is not None
    assert event.withdrawn
    assert not reports.open
    assert reports.receive(ASK) is None  # filed: never again
    assert reports.receive(closed) is None


def test_a_new_report_is_told_once() -> None:
    reports = DeskReports()
    assert reports.receive(FILED) == ReportEvent(FILED)
    assert reports.receive(FILED) is None


def test_the_frames_go_through_the_desk_core() -> None:
    core = DeskCore()
    first = core.receive_text(encode_frame(ASK))
    assert first.reports == (ReportEvent(ASK),)
    assert first.problem is None
    assert core.receive_text(encode_frame(ASK)).reports == ()
    assert core.receive_text(encode_frame(FILED)).reports == (ReportEvent(FILED),)


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ("wss://trygg.nav.no/ws", "https://trygg.nav.no/reports/new?alarm=x"),
        ("ws://127.0.0.1:8080/ws", "http://127.0.0.1:8080/reports/new?alarm=x"),
    ],
)
def test_the_console_address_comes_from_the_desks_server(server: str, expected: str) -> None:
    assert console_url(server, "/reports/new?alarm=x") == expected


@pytest.mark.parametrize("path", ["https://evil.example/x", "//evil.example/x", "reports"])
def test_a_path_that_leaves_central_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="not a path on central"):
        console_url("wss://trygg.nav.no/ws", path)


def test_the_words_in_norwegian() -> None:
    _ = load_translations(Language.NB).gettext
    assert report_text(ASK, _, UTC) == (
        "Alarmen i Møterom 101 kl. 09:41 er over. Skriv en hendelsesrapport til lederen din"
        " og verneombudet."
    )
    assert report_text(FILED, _, UTC) == (
        "Det er levert en ny hendelsesrapport ved NAV Oslo sentrum. Åpne den i konsollen."
    )


def test_the_headless_lines() -> None:
    asked = json.loads(report_line(ReportEvent(ASK), "wss://trygg.nav.no/ws"))
    assert asked["event"] == "report_ask"
    assert asked["url"] == f"https://trygg.nav.no/reports/new?alarm={ALARM}"
    assert (asked["alarm_id"], asked["room"], asked["closed"]) == (str(ALARM), "Møterom 101", False)
    told = json.loads(report_line(ReportEvent(FILED), "wss://trygg.nav.no/ws"))
    assert told["event"] == "report_filed"
    assert told["url"] == f"https://trygg.nav.no/reports/{REPORT}"
