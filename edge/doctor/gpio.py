"""The doctor's pins: which factory gpiozero gives (and why), and every configured pin claimed
through gpiozero and released again.

Pins are claimed with the same gpiozero classes the agent uses (``Button`` for inputs, ``LED``
and ``Buzzer`` for outputs), so a pin the agent could not take fails here first. Outputs are
claimed *off* (``initial_value=False``): a buzzer must never sound because someone checked the
installation. All pins are held together until the last is claimed, so two spellings of one
GPIO (``17`` and ``"BOARD11"``) are caught as a clash, then all are released.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from gpiozero import LED, Button, Buzzer, Device

from edge.config import EdgeSettings
from edge.core.doctor import FactoryFacts, PinClaim

FACTORY_ENV = "GPIOZERO_PIN_FACTORY"
MODEL_FILES = (Path("/proc/device-tree/model"), Path("/sys/firmware/devicetree/base/model"))


def board_model() -> str | None:
    """The Raspberry Pi's model from its device tree (None on any other machine)."""
    for path in MODEL_FILES:
        with contextlib.suppress(OSError):
            return path.read_bytes().rstrip(b"\0").decode("utf-8", "replace").strip() or None
    return None


def factory_name(factory: Any) -> str:
    """The entry-point name gpiozero knows this factory by (``lgpio``, ``mock``, ``trygg-sim``)."""
    cls = type(factory)
    value = f"{cls.__module__}:{cls.__qualname__}"
    for ep in entry_points(group="gpiozero_pin_factories"):
        if ep.value == value:
            return ep.name
    return cls.__name__


def load_factory(injected: Any, expected: str | None) -> tuple[Any, FactoryFacts]:
    """The factory the agent would get: ``GPIOZERO_PIN_FACTORY`` if set, else gpiozero's own
    order (lgpio, rpigpio, pigpio, native), with the reasons it fell back past each."""
    model = board_model()
    if injected is not None:
        facts = FactoryFacts(
            factory_name(injected), "given by the caller", (), None, model, expected
        )
        return injected, facts
    asked = os.environ.get(FACTORY_ENV)
    chosen_by = f"{FACTORY_ENV}={asked}" if asked else "gpiozero's default order"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            factory = Device._default_pin_factory()
        except Exception as exc:  # lgpio.error, ImportError, BadPinFactory: all are reasons
            fallbacks = _fallbacks(caught)
            return None, FactoryFacts(None, chosen_by, fallbacks, str(exc), model, expected)
    chip = getattr(factory, "chip", None)  # LGPIOFactory: which /dev/gpiochipN it opened
    facts = FactoryFacts(
        factory_name(factory),
        chosen_by,
        _fallbacks(caught),
        None,
        model,
        expected,
        chip if isinstance(chip, int) else None,
    )
    return factory, facts


def _fallbacks(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    prefix = "Falling back from "
    return tuple(
        str(w.message).removeprefix(prefix) for w in caught if str(w.message).startswith(prefix)
    )


@dataclass(frozen=True, slots=True)
class _Wanted:
    owner: str
    spec: int | str
    role: str  # input | output
    pull_up: bool = True
    bounce_ms: int = 0
    buzzer: bool = False


def _wanted(settings: EdgeSettings) -> Iterator[_Wanted]:
    for b in settings.buttons:
        yield _Wanted(f"{b.input} button", b.pin, "input", b.pull_up, b.bounce_ms)
        if b.led_pin is not None:
            yield _Wanted(f"{b.input} LED", b.led_pin, "output")
        if b.buzzer_pin is not None:
            yield _Wanted(f"{b.input} buzzer", b.buzzer_pin, "output", buzzer=True)
    if settings.announce.buzzer_pin is not None:
        yield _Wanted("announce buzzer", settings.announce.buzzer_pin, "output", buzzer=True)
    for i in settings.announce.inputs:
        yield _Wanted(f"{i.input} input ({i.kind})", i.pin, "input", i.pull_up, i.bounce_ms)


def _resolve(factory: Any, spec: int | str) -> str | None:
    """gpiozero's own name for a pin spec ("GPIO17"); None if the board cannot say."""
    try:
        for _header, info in factory.board_info.find_pin(spec):
            return str(info.name)
    except Exception:  # a factory without board information: gpiozero decides on claim
        return None
    return None


def _open(factory: Any, want: _Wanted) -> Any:
    if want.role == "input":
        return Button(
            want.spec,
            pull_up=want.pull_up,
            bounce_time=want.bounce_ms / 1000 or None,
            pin_factory=factory,
        )
    kind = Buzzer if want.buzzer else LED
    return kind(want.spec, initial_value=False, pin_factory=factory)  # off: never a sound


def claim_pins(settings: EdgeSettings, factory: Any) -> list[PinClaim]:
    user, in_gpio = user_name(), in_group("gpio")
    claims: list[PinClaim] = []
    held: list[Any] = []
    taken: dict[str, str] = {}  # gpio name -> owner
    try:
        for want in _wanted(settings):
            spec = str(want.spec)
            gpio = _resolve(factory, want.spec)
            base = PinClaim(want.owner, spec, want.role, gpio, user=user, in_gpio_group=in_gpio)
            if gpio is not None and gpio in taken:
                claims.append(_with(base, clash_with=taken[gpio]))
                continue
            if gpio is not None and not gpio.startswith("GPIO"):
                claims.append(_with(base, error=f"{spec} is the header's {gpio} pin, not a GPIO"))
                continue
            try:
                device = _open(factory, want)
            except Exception as exc:  # gpiozero's errors and the driver's own (lgpio.error)
                claims.append(_with(base, error=_claim_error(gpio or spec, exc)))
                continue
            held.append(device)
            if gpio is not None:
                taken[gpio] = want.owner
            closed = bool(device.is_pressed) if want.role == "input" else None
            claims.append(_with(base, closed=closed))
    finally:
        for device in reversed(held):
            with contextlib.suppress(Exception):
                device.close()
    return claims


def _claim_error(pin: str, exc: Exception) -> str:
    text = str(exc)
    if "already in use" in text or "busy" in text.lower():
        return f"{pin} is in use ({text})"
    return f"{pin} cannot be claimed: {text}"


def _with(claim: PinClaim, **changes: Any) -> PinClaim:
    return replace(claim, **changes)


def close_factory(factory: Any, injected: Any) -> None:
    if factory is not None and factory is not injected:
        with contextlib.suppress(Exception):
            factory.close()


def user_name() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def in_group(name: str) -> bool | None:
    """Whether this process has group ``name`` (None: no such group on this machine)."""
    try:
        gid = grp.getgrnam(name).gr_gid
    except KeyError:
        return None
    return gid == os.getegid() or gid in os.getgroups()
