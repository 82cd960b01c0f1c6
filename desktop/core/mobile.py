"""What a desk says of an alarm raised from a phone (source ``mobile``): whose phone, and where
it last said it was — or that it said nothing ("no position").

Why apart from the window: the GUI's alarm window and the headless JSON lines say the same
words, and these words are what a colleague acts on (where to go), so they are tested here by
exact equality, without Qt. The texts come from the shared catalogue through ``gettext``; the
time zone is given, so that the words do not depend on the machine running the tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from protocol.messages import AlarmSource
from protocol.screen import AlarmView

Translate = Callable[[str], str]


def is_mobile(alarm: AlarmView) -> bool:
    return alarm.source is AlarmSource.MOBILE


def room_text(alarm: AlarmView, gettext: Translate) -> str:
    """The title's room: "Mobil – Kari Nordmann" for a phone's alarm (in the desk's language),
    the room central names for any other."""
    if not is_mobile(alarm):
        return alarm.room
    name = alarm.raised_by_name or alarm.raised_by or "?"
    return gettext("Mobile – {name}").format(name=name)


def position_text(alarm: AlarmView, gettext: Translate, tz: tzinfo | None) -> str | None:
    """The phone's last position as "Position 14:32:05: 59.91270, 10.74610 ± 13 m" (local
    time in ``tz``), or "no position"; None for an alarm that is not a phone's."""
    if not is_mobile(alarm):
        return None
    found = alarm.position
    if found is None:
        return gettext("no position")
    return gettext("Position {time}: {lat}, {lon} ± {accuracy} m").format(
        time=found.at.astimezone(tz).strftime("%H:%M:%S"),
        lat=f"{found.lat:.5f}",
        lon=f"{found.lon:.5f}",
        accuracy=f"{found.accuracy_m:.0f}",
    )
