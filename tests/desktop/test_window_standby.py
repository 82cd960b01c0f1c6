"""The window desk shows a colleague's standby request as a notice with two answers; a press
sends the answer to central, and central's copy with the answer replaces the notice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytestqt.qtbot import QtBot

from protocol.screen import StandbyAnswer, encode_frame
from tests.desktop.desk_app import Desk
from tests.desktop.qt_support import CentralThread
from tests.desktop.test_core_standby import FRAME, MEETING


@pytest.fixture
def desk(qtbot: QtBot, central: CentralThread) -> Iterator[Desk]:
    made = Desk(qtbot, central)
    made.connected()
    yield made
    made.app.stop()


def test_a_standby_request_is_a_notice_answered_with_a_press(
    desk: Desk, central: CentralThread
) -> None:
    central.run(central.central.send_raw(encode_frame(FRAME)))
    desk.wait(lambda: MEETING in desk.app.standby_notices, "the notice shown")
    notice = desk.app.standby_notices[MEETING]
    assert notice.windowTitle() == "Trygg – beredskap"
    start = FRAME.start.astimezone(datetime.now().astimezone().tzinfo or UTC)
    assert notice.text() == (
        "Anne Ansatt ber deg være i beredskap under et møte.\n"
        f"Møterom 101 · {start:%d.%m %H:%M}–{FRAME.end.astimezone(start.tzinfo):%H:%M}\n"
        "Bekymring: høy\nearlier threats\nDitt svar: spurt"
    )
    assert (notice.yes.text(), notice.no.text()) == ("Jeg er i beredskap", "Jeg kan ikke")
    notice.yes.click()
    desk.wait(lambda: central.central.standby_answers, "the answer sent")
    assert central.central.standby_answers == [
        ("kari", StandbyAnswer(meeting_id=MEETING, confirm=True))
    ]
    confirmed = FRAME.model_copy(update={"answer": "confirmed"})
    central.run(central.central.send_raw(encode_frame(confirmed)))
    desk.wait(
        lambda: desk.app.standby_notices[MEETING].frame.answer == "confirmed", "central's copy"
    )
    assert desk.app.standby_notices[MEETING].text().endswith("Ditt svar: bekreftet")
    assert desk.app.windows == {}  # a request is no alarm: no window, no sound
    assert not desk.player.playing
