"""The hotkey in each OS's own numbers (desktop/core/keycodes.py): checked against the values
in the OS headers (winuser.h, HIToolbox/Events.h, X.h), for every key the config accepts."""

from __future__ import annotations

import pytest

from desktop.core import parse_hotkey
from desktop.core.keycodes import (
    CMD_KEY,
    CONTROL_KEY,
    HOTKEY_SIGNATURE,
    K_EVENT_CLASS_KEYBOARD,
    K_EVENT_PARAM_DIRECT_OBJECT,
    MOD_ALT,
    MOD_CONTROL,
    MOD_NOREPEAT,
    MOD_SHIFT,
    MOD_WIN,
    OPTION_KEY,
    SHIFT_KEY,
    TYPE_EVENT_HOT_KEY_ID,
    X_CONTROL_MASK,
    X_LOCK_COMBINATIONS,
    X_MOD1_MASK,
    X_MOD4_MASK,
    X_SHIFT_MASK,
    MacHotkey,
    WindowsHotkey,
    X11Hotkey,
    four_char_code,
    mac_hotkey,
    windows_hotkey,
    x11_hotkey,
)
from desktop.core.keys import NAMED_KEYS

EVERY_KEY = [
    *(chr(c) for c in range(ord("A"), ord("Z") + 1)),
    *(str(d) for d in range(10)),
    *(f"F{n}" for n in range(1, 25)),
    *NAMED_KEYS.values(),
]


def test_the_default_silent_alarm_key_on_windows() -> None:
    # Ctrl+Shift+F12: VK_F12 = 0x7B; a held key fires once (MOD_NOREPEAT).
    assert windows_hotkey(parse_hotkey("Ctrl+Shift+F12")) == WindowsHotkey(
        MOD_CONTROL | MOD_SHIFT | MOD_NOREPEAT, 0x7B
    )
    assert (MOD_ALT, MOD_CONTROL, MOD_SHIFT, MOD_WIN, MOD_NOREPEAT) == (1, 2, 4, 8, 0x4000)


@pytest.mark.parametrize(
    ("sequence", "vk"),
    [
        ("Ctrl+A", 0x41),
        ("Ctrl+Z", 0x5A),
        ("Ctrl+0", 0x30),
        ("Ctrl+9", 0x39),
        ("F1", 0x70),
        ("F24", 0x87),
        ("Ctrl+Space", 0x20),
        ("Ctrl+Pause", 0x13),
        ("Ctrl+ScrollLock", 0x91),
        ("Ctrl+PageUp", 0x21),
        ("Ctrl+PageDown", 0x22),
        ("Ctrl+Insert", 0x2D),
        ("Ctrl+Delete", 0x2E),
        ("Ctrl+Home", 0x24),
        ("Ctrl+End", 0x23),
        ("Ctrl+Left", 0x25),
        ("Ctrl+Up", 0x26),
        ("Ctrl+Right", 0x27),
        ("Ctrl+Down", 0x28),
    ],
)
def test_windows_virtual_key_codes(sequence: str, vk: int) -> None:
    found = windows_hotkey(parse_hotkey(sequence))
    assert found is not None
    assert found.vk == vk


def test_windows_modifiers_are_literal() -> None:
    found = windows_hotkey(parse_hotkey("Meta+Alt+F9"))
    assert found == WindowsHotkey(MOD_WIN | MOD_ALT | MOD_NOREPEAT, 0x78)


def test_every_key_the_config_accepts_has_a_windows_code() -> None:
    codes = {key: windows_hotkey(parse_hotkey(f"Ctrl+{key}")) for key in EVERY_KEY}
    assert all(code is not None for code in codes.values())
    assert len({code.vk for code in codes.values() if code}) == len(EVERY_KEY)  # none shared


def test_the_default_silent_alarm_key_on_a_mac() -> None:
    # kVK_F12 = 0x6F; Ctrl is the Control key on a Mac too (controlKey), Meta is Command.
    assert mac_hotkey(parse_hotkey("Ctrl+Shift+F12")) == MacHotkey(CONTROL_KEY | SHIFT_KEY, 0x6F)
    assert mac_hotkey(parse_hotkey("Meta+Alt+F11")) == MacHotkey(CMD_KEY | OPTION_KEY, 0x67)
    assert (CMD_KEY, SHIFT_KEY, OPTION_KEY, CONTROL_KEY) == (0x100, 0x200, 0x800, 0x1000)


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("A", 0x00),
        ("S", 0x01),
        ("Z", 0x06),
        ("Q", 0x0C),
        ("M", 0x2E),
        ("1", 0x12),
        ("5", 0x17),
        ("0", 0x1D),
        ("F1", 0x7A),
        ("F5", 0x60),
        ("F13", 0x69),
        ("F20", 0x5A),
        ("Space", 0x31),
        ("Delete", 0x75),
        ("PageDown", 0x79),
        ("Up", 0x7E),
    ],
)
def test_mac_key_codes(key: str, code: int) -> None:
    found = mac_hotkey(parse_hotkey(f"Ctrl+{key}"))
    assert found is not None
    assert found.key_code == code


def test_mac_has_no_f21_to_f24_and_says_so_with_none() -> None:
    missing = [k for k in EVERY_KEY if mac_hotkey(parse_hotkey(f"Ctrl+{k}")) is None]
    assert missing == ["F21", "F22", "F23", "F24"]


def test_every_mac_code_but_the_pc_aliases_is_a_different_key() -> None:
    codes = {k: mac_hotkey(parse_hotkey(f"Ctrl+{k}")) for k in EVERY_KEY}
    found = {k: c.key_code for k, c in codes.items() if c is not None}
    # A PC keyboard's Scroll Lock and Pause arrive on a Mac as F14 and F15: the same codes.
    assert found["ScrollLock"] == found["F14"]
    assert found["Pause"] == found["F15"]
    rest = [c for k, c in found.items() if k not in ("ScrollLock", "Pause")]
    assert len(set(rest)) == len(rest)


def test_carbon_four_character_codes() -> None:
    assert K_EVENT_CLASS_KEYBOARD == 0x6B657962  # 'keyb'
    assert TYPE_EVENT_HOT_KEY_ID == 0x686B6964  # 'hkid'
    assert K_EVENT_PARAM_DIRECT_OBJECT == 0x2D2D2D2D  # '----'
    assert four_char_code("TRYG") == HOTKEY_SIGNATURE
    with pytest.raises(ValueError, match="four characters"):
        four_char_code("toolong")


def test_x11_keysym_names_and_masks() -> None:
    assert x11_hotkey(parse_hotkey("Ctrl+Shift+F12")) == X11Hotkey(
        "F12", X_CONTROL_MASK | X_SHIFT_MASK
    )
    assert x11_hotkey(parse_hotkey("Meta+Alt+PageUp")) == X11Hotkey(
        "Prior", X_MOD4_MASK | X_MOD1_MASK
    )
    assert x11_hotkey(parse_hotkey("Ctrl+ScrollLock")).keysym == "Scroll_Lock"
    assert x11_hotkey(parse_hotkey("Ctrl+Space")).keysym == "space"
    # The X.h values; and a grab for each Caps Lock / Num Lock combination.
    assert (X_SHIFT_MASK, X_CONTROL_MASK, X_MOD1_MASK, X_MOD4_MASK) == (1, 4, 8, 64)
    assert X_LOCK_COMBINATIONS == (0, 2, 16, 18)
