"""Rings the desk's real player once, in a process of its own, and prints what it did as JSON.

QtMultimedia looks for audio outputs once per process, so a PC without any is a process
started without any: tests/desktop/test_sound.py runs this with no sound server to find.

    python -m tests.desktop.sound_probe
"""

from __future__ import annotations

import json
import logging
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QDeadlineTimer
from PySide6.QtWidgets import QApplication

from desktop.gui.sound import SoundEffectPlayer, choose_player


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s: %(message)s")
    app = QApplication(sys.argv[:1])
    player = choose_player("")
    if not isinstance(player, SoundEffectPlayer):
        raise TypeError(f"the desk's player is {type(player).__name__}, not SoundEffectPlayer")
    player.start()
    deadline = QDeadlineTimer(10_000)
    while not (player.beep.beeping or player.playing) and not deadline.hasExpired():
        app.processEvents()
    ringing = {
        "fallback_reason": player.fallback_reason,
        "beeping": player.beep.beeping,
        "playing": player.playing,
    }
    player.stop()
    stopped = {"beeping": player.beep.beeping, "playing": player.playing}
    print(json.dumps({"ringing": ringing, "stopped": stopped}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
