"""The alarm sound through QtMultimedia, for real: the desk's own player (QSoundEffect) plays
into a real PulseAudio server (a null sink: nothing reaches the speakers), loops for as long
as the alarm waits, and stops when the colleague answers "I'm coming". And a PC with no audio
output at all still rings: the system beep, said once in the log.

QtMultimedia looks for audio outputs once per process, so the sound server is set in the
environment before anything in this process asks (these are the only tests that use the real
player; the others pass a recording one); the no-output case runs in a process of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from pydantic import SecretStr
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from desktop.config import DeskSettings, Language
from desktop.core import Backoff, Presence
from desktop.gui.app import DeskApp
from desktop.gui.sound import SoundEffectPlayer, choose_player
from desktop.i18n import load_translations
from protocol.screen import CommandKind
from tests.desktop.desk_app import WAIT_MS
from tests.desktop.fake_central import make_alarm
from tests.desktop.qt_support import TOKEN, CentralThread, Clock
from tests.desktop.sound_server import SoundServer

ROOT = Path(__file__).resolve().parents[2]
BLIP_S = 0.2  # the test's sound: short, so that a few loops pass in a second


@pytest.fixture(scope="module")
def sound_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoundServer]:
    server = SoundServer(tmp_path_factory.mktemp("sound"))
    server.start()
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in server.env().items():
                patch.setenv(name, value)
            yield server
    finally:
        server.stop()


def blip(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(b"\x00\x10" * int(22050 * BLIP_S))
    return path


@pytest.fixture
def desk(
    qtbot: QtBot, central: CentralThread, sound_server: SoundServer, tmp_path: Path
) -> Iterator[DeskApp]:
    assert os.environ["PULSE_SERVER"] == sound_server.address  # set before QtMultimedia looks
    outputs = [d.description() for d in QMediaDevices.audioOutputs()]
    assert outputs, (
        "QtMultimedia sees no audio output although the test's sound server runs: something "
        "in this process used QtMultimedia before the server was set (it does not look again)"
    )
    settings = DeskSettings.model_validate(
        {
            "server": central.central.url,
            "token": SecretStr(TOKEN),
            "sound": {"file": str(blip(tmp_path / "blip.wav"))},
        }
    )
    app = DeskApp(
        settings,
        load_translations(Language.NB),
        trigger_name=f"trygg-desk-sound-{tmp_path.name}",
        backoff=Backoff(initial_s=0.05, maximum_s=0.2),
        player=choose_player(settings.sound.file),  # the desk's own choice: QtMultimedia
        clock=Clock(),
    )
    app.start()
    qtbot.waitUntil(lambda: app.presence.state is Presence.CONNECTED, timeout=WAIT_MS)
    yield app
    app.stop()


def test_the_alarm_plays_through_the_sound_server_loops_and_stops_when_answered(
    qtbot: QtBot, central: CentralThread, sound_server: SoundServer, desk: DeskApp
) -> None:
    player = desk.ringer.player
    assert isinstance(player, SoundEffectPlayer)
    alarm = make_alarm()
    central.run(central.central.raise_alarm(alarm))
    qtbot.waitUntil(lambda: alarm.alarm_id in desk.windows, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: player.playing, timeout=WAIT_MS)
    effect = player.effect
    assert effect is not None
    assert effect.status() is QSoundEffect.Status.Ready
    assert effect.loopCount() == QSoundEffect.Loop.Infinite.value
    assert effect.loopsRemaining() == QSoundEffect.Loop.Infinite.value
    assert player.fallback_reason is None
    assert not player.beep.beeping
    # Sound really leaves this process: a stream of ours, playing, at the sound server.
    qtbot.waitUntil(lambda: sound_server.playing_from(os.getpid()), timeout=WAIT_MS)

    qtbot.wait(int(BLIP_S * 5 * 1000))  # five times the sound's length
    assert effect.isPlaying()  # it loops: a single play would have ended by now
    assert effect.loopsRemaining() == QSoundEffect.Loop.Infinite.value
    assert sound_server.playing_from(os.getpid())

    window = desk.windows[alarm.alarm_id]
    QTest.mouseClick(window.coming_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(central.central.received(CommandKind.COMING, alarm.alarm_id)))
    qtbot.waitUntil(lambda: not player.playing, timeout=WAIT_MS)
    assert not desk.ringer.ringing
    assert not player.beep.beeping
    qtbot.waitUntil(lambda: not sound_server.playing_from(os.getpid()), timeout=WAIT_MS)


def _answer(qtbot: QtBot, central: CentralThread, desk: DeskApp, alarm_id: UUID) -> None:
    QTest.mouseClick(desk.windows[alarm_id].coming_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(central.central.received(CommandKind.COMING, alarm_id)))


def _default_output_is(qtbot: QtBot, name: str) -> None:
    qtbot.waitUntil(
        lambda: QMediaDevices.defaultAudioOutput().id() == name.encode(), timeout=WAIT_MS
    )


def test_the_alarm_sound_follows_the_default_output_as_headsets_come_and_go(
    qtbot: QtBot, central: CentralThread, sound_server: SoundServer, desk: DeskApp
) -> None:
    """A QSoundEffect is bound to the output it was made for: the player makes a new one on
    the default output at the next alarm after a headset came or went, and at once while an
    alarm rings. (PulseAudio itself moves a stream to a new default, so where the sound plays
    is checked as well as which output the effect is bound to: on Windows and macOS an effect
    bound to a gone or idle headset would stay there.)"""
    player = desk.ringer.player
    assert isinstance(player, SoundEffectPlayer)
    pid = os.getpid()

    def bound_to(name: str) -> bool:
        effect = player.effect
        return effect is not None and effect.audioDevice().id() == name.encode()

    def rings_on(name: str) -> None:
        qtbot.waitUntil(lambda: bound_to(name) and player.playing, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: sound_server.playing_on(pid) == {name}, timeout=WAIT_MS)
        assert not player.beep.beeping

    headset = sound_server.plug_in("trygg-headset")
    try:
        _default_output_is(qtbot, "trygg-headset")
        first = make_alarm()
        central.run(central.central.raise_alarm(first))
        rings_on("trygg-headset")
        _answer(qtbot, central, desk, first.alarm_id)
        qtbot.waitUntil(lambda: not sound_server.playing_from(pid), timeout=WAIT_MS)
    finally:
        sound_server.unplug(headset)
    _default_output_is(qtbot, "trygg-test")

    second = make_alarm()  # the next alarm after the headset went: on what is left
    central.run(central.central.raise_alarm(second))
    rings_on("trygg-test")

    headset = sound_server.plug_in("trygg-headset")  # plugged in while it rings: moves there
    try:
        _default_output_is(qtbot, "trygg-headset")
        rings_on("trygg-headset")
    finally:
        sound_server.unplug(headset)  # and back when it goes, still ringing
    rings_on("trygg-test")
    _answer(qtbot, central, desk, second.alarm_id)
    qtbot.waitUntil(lambda: not sound_server.playing_from(pid), timeout=WAIT_MS)
    assert player.fallback_reason is None


def test_a_pc_without_audio_output_beeps_instead_and_says_so_once(tmp_path: Path) -> None:
    runtime = tmp_path / "runtime"  # no sound server lives here
    runtime.mkdir(mode=0o700)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PULSE", "PIPEWIRE"))},
        "PULSE_SERVER": f"unix:{runtime / 'none'}",
        "QT_AUDIO_BACKEND": "pulseaudio",
        "XDG_RUNTIME_DIR": str(runtime),
        "QT_QPA_PLATFORM": "offscreen",
    }
    probe = subprocess.run(
        [sys.executable, "-m", "tests.desktop.sound_probe"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    said = json.loads(probe.stdout)
    assert said["ringing"] == {
        "fallback_reason": "no audio output device",
        "beeping": True,
        "playing": False,
    }
    assert said["stopped"] == {"beeping": False, "playing": False}
    warning = "alarm sound: no audio output device; using the system beep (the window still shows)"
    assert probe.stderr.count(warning) == 1
