"""GPIO shells on gpiozero's MockFactory: button edges reach the loop, LED patterns, pin errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from gpiozero.pins.mock import MockFactory

from edge.config import ButtonConfig
from edge.core import LedState
from edge.errors import EdgeError, HardwareError
from edge.hw import ButtonInputs, Indicators
from edge.hw.outputs import PATTERNS, Blink
from protocol import AlarmLevel
from tests.edge.busy_pins import DriverError, busy_factory, failing_outputs
from tests.edge.helpers import poll

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.reset()


def button(input_name: str, pin: int | str, **extra: object) -> ButtonConfig:
    return ButtonConfig.model_validate(
        {"input": input_name, "pin": pin, "level": AlarmLevel.ACUTE, **extra}
    )


async def test_edges_are_handed_to_the_loop_with_the_time_of_the_edge(pins: MockFactory) -> None:
    seen: list[tuple[str, bool, datetime]] = []
    loop = asyncio.get_running_loop()
    inputs = ButtonInputs(
        [button("desk", 17), button("door", 23, pull_up=False)],
        lambda name, closed, at: seen.append((name, closed, at)),
        clock=lambda: AT,
        loop=loop,
        pin_factory=pins,
    )
    try:
        pins.pin(17).drive_low()  # pull-up: pressed pulls low
        pins.pin(23).drive_high()  # pull-down: pressed drives high
        assert seen == []  # delivered via the loop, never on the driver's thread
        assert sorted(inputs.closed_now()) == ["desk", "door"]
        await poll(lambda: len(seen) == 2)
        pins.pin(17).drive_high()
        await poll(lambda: len(seen) == 3)
        assert seen == [("desk", True, AT), ("door", True, AT), ("desk", False, AT)]
        assert inputs.closed_now() == ["door"]
    finally:
        inputs.close()
    pins.pin(17).drive_low()
    await asyncio.sleep(0)
    assert len(seen) == 3  # closed inputs deliver nothing


def test_edge_after_the_loop_closed_is_ignored(pins: MockFactory) -> None:
    loop = asyncio.new_event_loop()
    inputs = ButtonInputs([button("desk", 17)], lambda *_a: None, lambda: AT, loop, pins)
    loop.close()
    try:
        pins.pin(17).drive_low()  # must not raise on the driver's thread
        assert inputs.closed_now() == ["desk"]
    finally:
        inputs.close()


def test_pin_in_use_is_a_hardware_error_and_releases_what_was_opened(pins: MockFactory) -> None:
    loop = asyncio.new_event_loop()
    try:
        # BOARD11 is GPIO17 on a Pi header: only gpiozero can tell.
        with pytest.raises(HardwareError, match="'b'") as raised:
            ButtonInputs(
                [button("a", 17), button("b", "BOARD11")], lambda *_a: None, lambda: AT, loop, pins
            )
        assert isinstance(raised.value, EdgeError)
        again = ButtonInputs([button("a", 17)], lambda *_a: None, lambda: AT, loop, pins)
        again.close()
    finally:
        loop.close()


async def test_led_patterns_and_buzzer_chirp(pins: MockFactory) -> None:
    outputs = Indicators([button("desk", 17, led_pin=27, buzzer_pin=22)], pins)
    led, buzzer = pins.pin(27), pins.pin(22)
    try:
        outputs.show("desk", LedState.SENDING)
        await poll(lambda: len(led.states) >= 5, what="fast blink toggles the LED")
        assert not any(s.state for s in buzzer.states)  # silent while sending

        outputs.show("desk", LedState.RECEIVED)
        await poll(lambda: any(s.state for s in buzzer.states), what="chirp")
        await poll(lambda: buzzer.state == 0, what="chirp ends")

        outputs.show("desk", LedState.HELP_COMING)
        assert led.state == 1
        outputs.show("desk", LedState.RESOLVED)
        await poll(lambda: led.state == 0 and outputs_idle(outputs), what="blinks then off")
        outputs.show("desk", LedState.OFF)
        assert led.state == 0
        outputs.show("nobody", LedState.SENDING)  # an input without outputs: nothing happens
    finally:
        outputs.close()


def test_every_led_state_has_its_own_pattern() -> None:
    """The person in the room must tell each state apart, "stored" (nobody has it on screen
    yet) from "received" (a colleague has it) above all."""
    assert set(PATTERNS) == set(LedState)
    assert len({repr(p) for p in PATTERNS.values()}) == len(LedState)
    assert PATTERNS[LedState.STORED] == Blink(0.3, 0.9)  # short flash, long dark


async def test_stored_blinks_on_the_pin_and_does_not_chirp(pins: MockFactory) -> None:
    outputs = Indicators([button("desk", 17, led_pin=27, buzzer_pin=22)], pins)
    led, buzzer = pins.pin(27), pins.pin(22)
    try:
        outputs.show("desk", LedState.STORED)
        await poll(lambda: len(led.states) >= 3, within=5, what="the stored pattern blinks")
        assert not any(s.state for s in buzzer.states)  # the chirp says "a colleague has it"
    finally:
        outputs.close()


def outputs_idle(outputs: Indicators) -> bool:
    led = outputs._by_input["desk"].led
    assert led is not None
    return led._blink_thread is None or not led._blink_thread.is_alive()


def test_button_without_led_or_buzzer(pins: MockFactory) -> None:
    outputs = Indicators([button("desk", 17)], pins)
    outputs.show("desk", LedState.RECEIVED)
    outputs.close()


def test_bad_output_pin_is_a_hardware_error(pins: MockFactory) -> None:
    with pytest.raises(HardwareError, match="outputs of 'b'"):
        Indicators(
            [button("a", 17, led_pin=27), button("b", 18, led_pin="GPIO27")],
            pins,
        )
    with pytest.raises(HardwareError):
        Indicators([button("a", 17, led_pin=9999)], pins)
    # Everything opened before the failure was released again.
    Indicators([button("a", 17, led_pin=27)], pins).close()


def test_a_pin_the_driver_refuses_is_a_hardware_error_naming_pin_and_driver() -> None:
    """lgpio's own ``'GPIO busy'`` (another process holds the line) is no GPIOZeroError: it
    must still end as the agent's HardwareError naming the pin, not as a traceback."""
    pins = busy_factory(22, 24)
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(HardwareError) as raised:
            ButtonInputs(
                [button("a", 17), button("b", 22)], lambda *_a: None, lambda: AT, loop, pins
            )
        assert str(raised.value) == (
            "button 'b' on pin 22: GPIO busy (tests.edge.busy_pins.DriverError from the pin driver)"
        )
        assert isinstance(raised.value.__cause__, DriverError)
        with pytest.raises(HardwareError, match=r"outputs of 'a': GPIO busy \(.*DriverError"):
            Indicators([button("a", 17, led_pin=24)], pins)
        # What was claimed before the refusal was let go again.
        ButtonInputs([button("a", 17)], lambda *_a: None, lambda: AT, loop, pins).close()
    finally:
        loop.close()
        pins.reset()


def test_an_led_the_driver_cannot_drive_is_logged_and_the_alarm_path_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pins = failing_outputs(27)
    outputs = Indicators([button("desk", 17, led_pin=27), button("wall", 22, led_pin=23)], pins)
    try:
        outputs.show("desk", LedState.HELP_COMING)  # must not raise into the alarm path
        outputs.show("wall", LedState.HELP_COMING)
        assert pins.pin(23).state == 1
        assert "led input=desk state=help_coming failed: GPIO not allocated" in caplog.text
    finally:
        outputs.close()
        pins.reset()
