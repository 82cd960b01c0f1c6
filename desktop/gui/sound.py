"""The alarm sound: loops while any alarm window wants attention.

The same code on every platform: QtMultimedia's :class:`QSoundEffect` plays the WAV on the
default audio output, looping until the ringing stops (PySide6-Addons ships it for Windows,
macOS and Linux, so nothing depends on which command-line players a PC happens to have).

A PC with no audio output (a thin client, a muted docking station, a broken driver) must not
break the alarm: the window, the taskbar flash and the tray message still come, and the sound
falls back to the system beep every 1.5 s. The fallback is logged once per reason, so the
support desk finds "no audio output device" in the log instead of a silent mystery. The next
alarm tries the audio output again (a headset may have been plugged in since).

A :class:`QSoundEffect` is bound to the output it was made for. Colleagues plug headsets in and
out and undock laptops, so the effect is made again whenever the default output is no longer
the one it plays on: at the next alarm, and at once while one rings (QMediaDevices tells of
every change). Otherwise an alarm could ring into a headset lying in a drawer, or into an
output that no longer exists.

The built-in tone is a WAV written on first use to a file of this process's own.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import struct
import tempfile
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtMultimedia import QAudioDevice, QMediaDevices, QSoundEffect
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

RATE = 22050
BEEP_MS = 1500


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


def _own_tone_file() -> Path:
    """A fresh file (mkstemp: never another user's file, never a planted symlink), removed at
    exit."""
    handle, name = tempfile.mkstemp(prefix="trygg-desk-alarm-", suffix=".wav")
    os.close(handle)
    path = Path(name)
    atexit.register(lambda: path.unlink(missing_ok=True))
    return write_tone(path)


class Player(Protocol):
    description: str

    def start(self) -> None: ...
    def stop(self) -> None: ...


class BeepPlayer(QObject):
    """The system beep, again every 1.5 s: what is left when there is no audio output."""

    description = "system beep"

    def __init__(self) -> None:
        super().__init__()
        self._timer = QTimer(self)
        self._timer.setInterval(BEEP_MS)
        self._timer.timeout.connect(QApplication.beep)

    @property
    def beeping(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        QApplication.beep()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()


class SoundEffectPlayer(QObject):
    """The WAV through QtMultimedia on the default output, looping; the beep where it cannot.

    ``outputs`` is Qt's list of audio outputs (QMediaDevices); a test may pass another list
    to stand for a PC without any."""

    def __init__(
        self,
        wav: Path,
        outputs: Callable[[], Sequence[QAudioDevice]] = QMediaDevices.audioOutputs,
    ) -> None:
        super().__init__()
        self.wav = wav
        self._outputs = outputs
        self.effect: QSoundEffect | None = None
        self.beep = BeepPlayer()
        self.fallback_reason: str | None = None
        self._ringing = False
        self.description = f"QtMultimedia (QSoundEffect) {wav}; the system beep if it cannot play"
        self._devices = QMediaDevices(self)
        self._devices.audioOutputsChanged.connect(self._outputs_changed)

    @property
    def playing(self) -> bool:
        """Whether the WAV is playing now (not the beep)."""
        return self.effect is not None and self.effect.isPlaying()

    def start(self) -> None:
        self._ringing = True
        if not self._outputs():
            self._fall_back("no audio output device")
            return
        if self._on_another_output():
            self._drop_effect()  # the default output changed since it was made
        if self.effect is None:
            self.effect = self._make_effect()
        self.beep.stop()
        self.effect.play()

    def stop(self) -> None:
        self._ringing = False
        if self.effect is not None:
            self.effect.stop()
        self.beep.stop()

    def _make_effect(self) -> QSoundEffect:
        device = QMediaDevices.defaultAudioOutput()
        effect = QSoundEffect(device, self)
        effect.setSource(QUrl.fromLocalFile(str(self.wav)))
        effect.setLoopCount(QSoundEffect.Loop.Infinite.value)
        effect.statusChanged.connect(self._status_changed)
        log.info("alarm sound on %s", device.description() or "the default audio output")
        return effect

    def _on_another_output(self) -> bool:
        effect = self.effect
        return effect is not None and effect.audioDevice() != QMediaDevices.defaultAudioOutput()

    def _drop_effect(self) -> None:
        effect, self.effect = self.effect, None
        if effect is not None:
            effect.statusChanged.disconnect(self._status_changed)
            effect.stop()
            effect.deleteLater()

    def _outputs_changed(self) -> None:
        """An output came or went, or another became the default: a ringing alarm moves to
        the default output now; an idle effect is made again at the next alarm."""
        if not self._on_another_output():
            return
        log.info("the default audio output changed: the alarm sound moves to it")
        self._drop_effect()
        if self._ringing:
            self.start()

    def _status_changed(self) -> None:
        effect = self.effect
        if effect is None or effect.status() is not QSoundEffect.Status.Error:
            return
        device = effect.audioDevice().description() or "the default audio output"
        # Dropped: the next alarm makes a new one on whatever output there is then.
        self.effect = None
        effect.deleteLater()
        if self._ringing:
            self._fall_back(f"cannot play {self.wav.name} on {device}")

    def _fall_back(self, reason: str) -> None:
        if reason != self.fallback_reason:
            log.warning("alarm sound: %s; using the system beep (the window still shows)", reason)
            self.fallback_reason = reason
        if self._ringing and not self.beep.beeping:
            self.beep.start()


def choose_player(sound_file: str) -> Player:
    wav = Path(sound_file).expanduser() if sound_file else _own_tone_file()
    return SoundEffectPlayer(wav)


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
