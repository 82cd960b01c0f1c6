"""Pictures of the alarm window, the silent-alarm countdown and an evacuation, for the README.

    python -m desktop.screenshot [--language nb|en] [--out docs/img]

Runs Qt offscreen (no display needed) with an example alarm and the repository's routine files,
and saves ``desk-alarm.png``, ``desk-countdown.png`` and ``desk-evacuation.png`` (the full-screen
window of an evacuation announced from a reception's button).
"""

from __future__ import annotations

import argparse
import gettext
import json
import os
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
ROUTINES = ROOT / "routines" / "alarm-response.toml"
EVACUATION = ROOT / "routines" / "evacuation.toml"
FULL_HD = {
    "name": "desk",
    "x": 0,
    "y": 0,
    "width": 1920,
    "height": 1080,
    "logicalDpi": 96,
    "logicalBaseDpi": 96,
    "dpr": 1,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m desktop.screenshot", description=__doc__)
    parser.add_argument("--language", choices=("nb", "en"), default="nb")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    # A full-HD offscreen screen, so the window is placed and sized as on a real desk.
    screens = args.out / ".screen.json"
    args.out.mkdir(parents=True, exist_ok=True)
    screens.write_text(json.dumps({"screens": [FULL_HD]}), encoding="utf-8")
    os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={screens}")

    from PySide6.QtWidgets import QApplication

    from desktop.config import Language
    from desktop.gui.alarm_window import AlarmWindow
    from desktop.gui.discreet import CountdownBox
    from desktop.i18n import load_translations
    from protocol.messages import AlarmLevel, AlarmSource, Responder
    from protocol.screen import AlarmState, AlarmView, RoutineText

    app = QApplication.instance() or QApplication(sys.argv[:1])
    raised = datetime(2024, 5, 2, 9, 30, tzinfo=UTC)
    alarm = AlarmView(
        alarm_id=UUID("5d2c1f3e-8a4b-4c6d-9e0f-123456789abc"),
        site="oslo-sentrum",
        site_name="NAV Oslo sentrum",
        device="rom-101",
        room="Møterom 101",
        floor="1. etasje",
        level=AlarmLevel.ACUTE,
        source=AlarmSource.BUTTON,
        input="desk",
        raised_at=raised,
        state=AlarmState.ACKNOWLEDGED,
        responders=(Responder(user="ola", name="Ola Nordmann", at=raised + timedelta(seconds=25)),),
    )
    table = tomllib.loads(ROUTINES.read_text(encoding="utf-8"))
    translations = load_translations(Language(args.language))
    window = AlarmWindow(
        alarm,
        translations=translations,
        language=args.language,
        routine=RoutineText.model_validate(table["acute"]),
        site_name=None,
        user="kari",
        focus_hotkey="Ctrl+Shift+F11",
        clock=lambda: raised + timedelta(seconds=47),
    )
    window.place_on_screen()
    window.show()
    app.processEvents()
    alarm_png = args.out / "desk-alarm.png"
    window.grab().save(str(alarm_png))
    countdown = CountdownBox(translations)
    countdown.show_remaining(3)
    app.processEvents()
    countdown_png = args.out / "desk-countdown.png"
    countdown.grab().save(str(countdown_png))
    evacuation_png = _evacuation(args.out, args.language, translations, raised)
    screens.unlink()
    print(alarm_png)
    print(countdown_png)
    print(evacuation_png)
    window.dismiss()
    countdown.close()
    return 0


def _evacuation(
    out: Path, language: str, translations: gettext.NullTranslations, at: datetime
) -> Path:
    """The announcement window as every desk of the site shows it, full screen."""
    from PySide6.QtWidgets import QApplication

    from desktop.gui.announcement_window import AnnouncementWindow
    from protocol import AnnouncementKind
    from protocol.screen import AnnouncementFrame, RoutineText

    frame = AnnouncementFrame(
        site="bergen",
        kind=AnnouncementKind.EVACUATE,
        by="device:brg-200",
        by_name="Resepsjon",
        at=at + timedelta(minutes=2),
        routine=RoutineText.model_validate(
            tomllib.loads(EVACUATION.read_text(encoding="utf-8"))["evacuate"]
        ),
    )
    window = AnnouncementWindow(
        frame,
        translations=translations,
        language=language,
        site_name="NAV Bergen",
    )
    window.show_over_everything()
    QApplication.processEvents()
    path = out / "desk-evacuation.png"
    window.grab().save(str(path))
    window.end()
    return path


if __name__ == "__main__":
    raise SystemExit(main())
