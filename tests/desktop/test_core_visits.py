"""The visit timer's notice on a desk (protocol.screen.VisitNotice): decoded among the other
frames, handed on by the core, said in words (Norwegian and English), printed headless."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from desktop.config import Language
from desktop.core.alarms import DeskCore, Reaction
from desktop.core.visits import visit_text
from desktop.headless import visit_line
from desktop.i18n import load_translations
from protocol.screen import VisitNotice, decode_server_frame, encode_frame

NOTICE = VisitNotice(
    visit_id=UUID("11111111-2222-4333-8444-555555555555"),
    site="oslo",
    user="kari",
    name="Kari Nordmann",
    address="Storgata 1",
    until=datetime(2026, 12, 2, 13, 30, tzinfo=UTC),
    at=datetime(2026, 12, 2, 13, 40, tzinfo=UTC),
)
OSLO = timezone(timedelta(hours=1))


def test_the_frame_is_a_server_frame_and_the_core_hands_it_on() -> None:
    assert decode_server_frame(encode_frame(NOTICE)) == NOTICE
    assert DeskCore().receive(NOTICE) == Reaction(visits=(NOTICE,))


def test_the_notice_in_words() -> None:
    english = load_translations(Language.EN).gettext
    assert visit_text(NOTICE, english, OSLO) == (
        "Kari Nordmann has not checked out of the home visit (Storgata 1, until 14:30) — call them."
    )
    norwegian = load_translations(Language.NB).gettext
    no_address = NOTICE.model_copy(update={"address": ""})
    assert visit_text(no_address, norwegian, UTC) == (
        "Kari Nordmann har ikke sjekket ut av hjemmebesøket (til 13:30) – ring vedkommende."
    )


def test_the_headless_line() -> None:
    line = json.loads(visit_line(NOTICE))
    assert line == {
        "event": "visit_overdue",
        "visit_id": "11111111-2222-4333-8444-555555555555",
        "site": "oslo",
        "user": "kari",
        "name": "Kari Nordmann",
        "address": "Storgata 1",
        "until": "2026-12-02T13:30:00Z",
        "at": "2026-12-02T13:40:00Z",
        "text": "Kari Nordmann has not checked out of the home visit (Storgata 1, until 13:30)"
        " — call them.",
    }
