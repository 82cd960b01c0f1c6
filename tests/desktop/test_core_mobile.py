"""What a desk says of a phone's alarm: whose phone and where (or "no position"), in bokmål
and English, in the GUI's window and on the headless JSON line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

from pytestqt.qtbot import QtBot

from desktop.config import Language
from desktop.core import AlarmEvent, EventKind
from desktop.core.mobile import position_text, room_text
from desktop.headless import json_line
from desktop.i18n import load_translations
from protocol.messages import AlarmSource
from protocol.screen import AlarmView, Position
from tests.desktop.fake_central import make_alarm
from tests.desktop.test_window import window_for

OSLO = timezone(timedelta(hours=1))
HERE = Position(
    lat=59.912734, lon=10.746101, accuracy_m=12.6, at=datetime(2024, 5, 2, 9, 31, 5, tzinfo=UTC)
)


def phone_alarm(position: Position | None = HERE) -> AlarmView:
    return make_alarm(
        device="mobile",
        room="Mobil – Kari Nordmann",
        source=AlarmSource.MOBILE,
        input="phone",
        raised_by="kari",
        raised_by_name="Kari Nordmann",
        position=position,
    )


def test_a_phone_alarm_names_the_phone_and_its_position_in_bokmal_and_english() -> None:
    nb = load_translations(Language.NB).gettext
    en = load_translations(Language.EN).gettext
    alarm = phone_alarm()
    assert [room_text(alarm, nb), room_text(alarm, en)] == [
        "Mobil – Kari Nordmann",
        "Mobile – Kari Nordmann",
    ]
    assert [position_text(alarm, t, OSLO) for t in (nb, en)] == [
        "Posisjon 10:31:05: 59.91273, 10.74610 ± 13 m",
        "Position 10:31:05: 59.91273, 10.74610 ± 13 m",
    ]
    nowhere = phone_alarm(position=None)
    assert [position_text(nowhere, t, OSLO) for t in (nb, en)] == [
        "uten posisjon",
        "no position",
    ]


def test_other_alarms_keep_their_room_and_have_no_position_line() -> None:
    button = make_alarm()
    assert (room_text(button, str), position_text(button, str, UTC)) == ("Møterom 101", None)


def test_the_headless_line_says_where_the_phone_is() -> None:
    line = json.loads(json_line(AlarmEvent(EventKind.ALARM, phone_alarm())))
    assert (line["room"], line["source"], line["where"]) == (
        "Mobil – Kari Nordmann",
        "mobile",
        "Position 09:31:05: 59.91273, 10.74610 ± 13 m",
    )
    assert line["position"] == {
        "lat": 59.912734,
        "lon": 10.746101,
        "accuracy_m": 12.6,
        "at": "2024-05-02T09:31:05Z",
    }
    assert "where" not in json.loads(json_line(AlarmEvent(EventKind.ALARM, make_alarm())))


def test_the_window_shows_the_phone_and_follows_its_position(qtbot: QtBot) -> None:
    window = window_for(phone_alarm(position=None), qtbot)
    assert window.room.text() == "Mobile – Kari Nordmann"
    assert window.position.text() == "no position"
    assert not window.position.isHidden()
    moved = phone_alarm()
    window.update_alarm(moved)
    assert window.position.text().startswith("Position ")
    assert window.position.text().endswith(": 59.91273, 10.74610 ± 13 m")
    assert window_for(make_alarm(), qtbot).position.isHidden()
