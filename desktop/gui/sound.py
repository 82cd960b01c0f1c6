"""The alarm sound: loops while any alarm window wants attention.

PySide6-Essentials has no QtMultimedia, so the sound is played by what the system has: on
Windows ``winsound`` (looping, asynchronous); elsewhere the first of ``pw-play``, ``paplay``,
``aplay`` and ``afplay`` found on PATH, restarted each time it finishes while ringing; failing
all of those, the system beep every 1.5 s. The built-in tone is a WAV written on first use.
"""

from __future__ import annotations

import logging
import math
import shutil
import struct
import sys
import tempfile
import wave
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QProcess, QTimer
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

PLAYERS = ("pw-play", "paplay", "aplay", "afplay")
RATE = 22050


def write_tone(path: Path) -> Path:
    """Two alternating tones (880/660 Hz), 1.2 s, then a short pause: hard to ignore, and
    unlike any notification chime."""
    frames = bytearray()
    for n in range(int(RATE * 1.6)):
        t = n / RATE
        if t < 1.2:
            frequency = 880.0 if int(t * 5) % 2 == 0 else 660.0
            fade = min(1.0, (1.2 - t) * 50, t * 50)  # no clicks at the edges
            value = int(0.6 * 32767 * fade * math.sin(2 * math.pi * frequency * t))
        else:
            value = 0
        frames += struct.pack("<h", value)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    return path


class Player(Protocol):
    description: str

    def start(self) -> None: ...
    def stop(self) -> None: ...


class WinsoundPlayer:
    def __init__(self, wav: Path) -> None:
        self.wav = wav
        self.description = f"winsound {wav}"

    def start(self) -> None:
        if sys.platform == "win32":  # also tells type checkers on other systems to skip this
            import winsound

            flags = winsound.SND_FILENAME | winsound.SND_ASYNC | winsound.SND_LOOP
            winsound.PlaySound(str(self.wav), flags)

    def stop(self) -> None:
        if sys.platform == "win32":
            import winsound

            winsound.PlaySound(None, 0)


class CommandPlayer(QObject):
    def __init__(self, program: str, wav: Path) -> None:
        super().__init__()
        self.program, self.wav = program, wav
        self.description = f"{Path(program).name} {wav}"
        self._process = QProcess(self)
        self._process.finished.connect(self._again)
        self._looping = False

    def start(self) -> None:
        self._looping = True
        if self._process.state() is QProcess.ProcessState.NotRunning:
            self._process.start(self.program, [str(self.wav)])

    def _again(self) -> None:
        if self._looping:
            self._process.start(self.program, [str(self.wav)])

    def stop(self) -> None:
        self._looping = False
        if self._process.state() is not QProcess.ProcessState.NotRunning:
            self._process.kill()


class BeepPlayer(QObject):
    description = "system beep"

    def __init__(self) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.setInterval(1500)
        self._timer.timeout.connect(QApplication.beep)

    def start(self) -> None:
        QApplication.beep()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()


def choose_player(sound_file: str) -> Player:
    wav = Path(sound_file).expanduser() if sound_file else None
    if wav is None:
        wav = write_tone(Path(tempfile.gettempdir()) / "trygg-desk-alarm.wav")
    if sys.platform == "win32":
        return WinsoundPlayer(wav)
    for name in PLAYERS:
        program = shutil.which(name)
        if program:
            return CommandPlayer(program, wav)
    return BeepPlayer()


class Ringer:
    """Rings while :meth:`set_ringing` says so; starting and stopping are idempotent."""

    def __init__(self, player: Player) -> None:
        self.player = player
        self.ringing = False
        log.info("alarm sound: %s", player.description)

    def alert_again(self) -> None:
        """Start the sound over (an escalated alarm): a sound the user stopped hearing, or that
        had stopped, comes back; :meth:`set_ringing` still decides when it ends."""
        if self.ringing:
            self.player.stop()
        self.ringing = True
        self.player.start()

    def set_ringing(self, ringing: bool) -> None:
        if ringing == self.ringing:
            return
        self.ringing = ringing
        if ringing:
            self.player.start()
        else:
            self.player.stop()
