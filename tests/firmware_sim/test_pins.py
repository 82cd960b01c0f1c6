"""SimFactory: gpiozero devices on pins worked through the control socket, faults included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero import LED, Button, Buzzer

from firmware_sim.control import request
from firmware_sim.errors import SimError
from firmware_sim.pins import SimFactory
from tests.firmware_sim.conftest import wait_until


class Room:
    def __init__(self, workdir: Path) -> None:
        self.sock = workdir / "rom-101.sock"
        self.factory = SimFactory(control_path=str(self.sock))
        self.button = Button(17, pin_factory=self.factory, bounce_time=None)
        self.led = LED(27, pin_factory=self.factory)
        self.buzzer = Buzzer(22, pin_factory=self.factory)
        self.presses = 0

        def pressed() -> None:
            self.presses += 1

        self.button.when_pressed = pressed

    def send(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return request(self.sock, cmd=cmd, pin=17, **fields)

    def close(self) -> None:
        for device in (self.button, self.led, self.buzzer):
            device.close()
        self.factory.close()


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    r = Room(tmp_path)
    try:
        yield r
    finally:
        r.close()


def test_press_tap_hold_release_bounce(room: Room) -> None:
    room.send("press")
    assert room.presses == 1
    assert not room.button.is_pressed
    room.send("tap", hold_s=0.01)
    assert room.presses == 2
    room.send("hold")
    assert room.button.is_pressed
    assert room.presses == 3
    room.send("release")
    assert not room.button.is_pressed
    room.send("bounce", count=4)
    assert room.presses == 7
    assert not room.button.is_pressed


def test_stuck_contact_stays_closed_until_fixed(room: Room) -> None:
    assert room.send("stuck") == {"ok": True, "fault": "stuck"}
    assert room.button.is_pressed
    for cmd in ("release", "tap", "bounce", "press"):
        assert room.send(cmd)["ignored"] == "stuck"
        assert room.button.is_pressed
    assert room.presses == 1
    assert room.send("fix")["cleared"] == "stuck"
    assert not room.button.is_pressed
    room.send("tap")
    assert room.presses == 2


def test_cut_wire_reads_released_and_ignores_presses(room: Room) -> None:
    room.send("hold")
    room.send("cut")
    assert not room.button.is_pressed  # the wire broke while it was held
    for cmd in ("hold", "tap", "press", "bounce"):
        assert room.send(cmd)["ignored"] == "cut"
    assert not room.button.is_pressed
    assert room.presses == 1
    inputs = request(room.sock, cmd="outputs")["pins"]
    assert inputs["GPIO17"] == {"function": "input", "pressed": False, "fault": "cut"}
    room.send("fix")
    room.send("hold")
    assert room.button.is_pressed
    assert room.presses == 2


def test_outputs_read_back_with_their_pattern(room: Room) -> None:
    def pattern(pin: str) -> str:
        return str(request(room.sock, cmd="outputs")["pins"][pin]["pattern"])

    assert pattern("GPIO27") == "off"
    room.led.on()
    assert pattern("GPIO27") == "on"
    room.led.blink(on_time=0.05, off_time=0.05)
    wait_until(lambda: pattern("GPIO27") == "fast-blink", what="fast blink")
    room.led.blink(on_time=0.3, off_time=0.3)
    wait_until(lambda: pattern("GPIO27") == "slow-blink", what="slow blink")
    room.led.off()
    wait_until(lambda: pattern("GPIO27") == "off", what="off again")
    room.buzzer.on()
    assert request(room.sock, cmd="outputs")["pins"]["GPIO22"]["state"] is True


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"cmd": "press", "pin": 4}, "no such pin"),
        ({"cmd": "press", "pin": 27}, "output"),
        ({"cmd": "smash", "pin": 17}, "unknown command"),
    ],
)
def test_bad_requests_are_errors_not_crashes(
    room: Room, fields: dict[str, Any], error: str
) -> None:
    with pytest.raises(SimError, match=error):
        request(room.sock, **fields)
    room.send("tap")
    assert room.presses == 1


def test_a_press_on_a_device_still_being_set_up_is_refused_and_let_go(room: Room) -> None:
    """gpiozero's Button takes its pin's edges before it is whole (its hold thread comes last),
    so a press in between fails in its callback: as the chaos rig's tap the moment a restarted
    edge's pins answered. The pin must not stay pressed (the edge would read a held contact),
    and the caller is told to press again."""
    pin = room.factory.pin(17)
    whole = pin.when_changed

    def half_built(_ticks: int, _state: bool) -> None:
        raise AttributeError("'NoneType' object has no attribute 'holding'")

    pin.when_changed = half_built
    with pytest.raises(SimError, match="not ready"):
        room.send("tap")
    pin.when_changed = whole
    assert not room.button.is_pressed
    room.send("tap")
    assert room.presses == 1


def test_without_a_control_path_it_is_plain_mock_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRYGG_SIM_CONTROL", raising=False)
    factory = SimFactory()
    button = Button(17, pin_factory=factory)
    factory.pin(17).drive_low()
    assert button.is_pressed
    button.close()
    factory.close()
