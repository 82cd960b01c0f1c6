"""A :class:`~desktop.core.keys.Hotkey` in each operating system's own numbers.

Every global-hotkey backend (desktop/gui/hotkeys.py) asks the OS for the same thing in the
OS's own terms: Windows wants a virtual-key code and ``MOD_*`` flags for ``RegisterHotKey``,
macOS a hardware key code and Carbon modifier bits for ``RegisterEventHotKey``, X11 a keysym
name and a modifier mask for ``XGrabKey``. The translation is kept here, as plain tables and
functions without ctypes, Qt or the OS, so that it is checked by unit tests on any machine,
including the Windows and macOS numbers that cannot be tried on the Linux machine the tests
run on. A key an OS has no code for (F21 on a Mac) gives ``None``: the backend then says so
instead of grabbing some other key.

Modifiers are taken literally: ``Ctrl`` is the Control key on every OS (on a Mac too, not
Command), ``Meta`` is the Windows key, Super, or Command on a Mac.
"""

from __future__ import annotations

from dataclasses import dataclass

from desktop.core.keys import Hotkey, Modifier

# -- Windows (winuser.h) ---------------------------------------------------------------------
MOD_ALT = 0x0001
MOD_CONTROL = 0x0002
MOD_SHIFT = 0x0004
MOD_WIN = 0x0008
MOD_NOREPEAT = 0x4000  # a held key fires once, not at the keyboard's repeat rate
WM_HOTKEY = 0x0312

_WINDOWS_MODIFIERS = {
    Modifier.ALT: MOD_ALT,
    Modifier.CTRL: MOD_CONTROL,
    Modifier.SHIFT: MOD_SHIFT,
    Modifier.META: MOD_WIN,
}
_WINDOWS_NAMED = {
    "Space": 0x20,  # VK_SPACE
    "Pause": 0x13,  # VK_PAUSE
    "ScrollLock": 0x91,  # VK_SCROLL
    "Insert": 0x2D,
    "Delete": 0x2E,
    "Home": 0x24,
    "End": 0x23,
    "PageUp": 0x21,  # VK_PRIOR
    "PageDown": 0x22,  # VK_NEXT
    "Left": 0x25,
    "Up": 0x26,
    "Right": 0x27,
    "Down": 0x28,
}


@dataclass(frozen=True, slots=True)
class WindowsHotkey:
    modifiers: int  # fsModifiers of RegisterHotKey, MOD_NOREPEAT included
    vk: int  # virtual-key code


def windows_hotkey(hotkey: Hotkey) -> WindowsHotkey | None:
    """``RegisterHotKey``'s arguments for ``hotkey``; every key the config accepts has one."""
    key = hotkey.key
    if len(key) == 1:  # A-Z and 0-9: the VK code is the character's ASCII code
        vk = ord(key)
    elif key.startswith("F") and key[1:].isdigit():
        vk = 0x70 + int(key[1:]) - 1  # VK_F1 = 0x70 ... VK_F24 = 0x87
    else:
        found = _WINDOWS_NAMED.get(key)
        if found is None:
            return None
        vk = found
    modifiers = MOD_NOREPEAT
    for modifier in hotkey.modifiers:
        modifiers |= _WINDOWS_MODIFIERS[modifier]
    return WindowsHotkey(modifiers, vk)


# -- macOS (Carbon: HIToolbox/Events.h) --------------------------------------------------------
CMD_KEY = 0x0100  # cmdKey
SHIFT_KEY = 0x0200  # shiftKey
OPTION_KEY = 0x0800  # optionKey
CONTROL_KEY = 0x1000  # controlKey

_MAC_MODIFIERS = {
    Modifier.CTRL: CONTROL_KEY,
    Modifier.ALT: OPTION_KEY,
    Modifier.SHIFT: SHIFT_KEY,
    Modifier.META: CMD_KEY,
}
# kVK_ANSI_*: positions on the ANSI keyboard, not characters (Carbon hotkeys are by position).
_MAC_KEYS = {
    "A": 0x00,
    "S": 0x01,
    "D": 0x02,
    "F": 0x03,
    "H": 0x04,
    "G": 0x05,
    "Z": 0x06,
    "X": 0x07,
    "C": 0x08,
    "V": 0x09,
    "B": 0x0B,
    "Q": 0x0C,
    "W": 0x0D,
    "E": 0x0E,
    "R": 0x0F,
    "Y": 0x10,
    "T": 0x11,
    "1": 0x12,
    "2": 0x13,
    "3": 0x14,
    "4": 0x15,
    "6": 0x16,
    "5": 0x17,
    "9": 0x19,
    "7": 0x1A,
    "8": 0x1C,
    "0": 0x1D,
    "O": 0x1F,
    "U": 0x20,
    "I": 0x22,
    "P": 0x23,
    "L": 0x25,
    "J": 0x26,
    "K": 0x28,
    "N": 0x2D,
    "M": 0x2E,
    "F1": 0x7A,
    "F2": 0x78,
    "F3": 0x63,
    "F4": 0x76,
    "F5": 0x60,
    "F6": 0x61,
    "F7": 0x62,
    "F8": 0x64,
    "F9": 0x65,
    "F10": 0x6D,
    "F11": 0x67,
    "F12": 0x6F,
    "F13": 0x69,
    "F14": 0x6B,
    "F15": 0x71,
    "F16": 0x6A,
    "F17": 0x40,
    "F18": 0x4F,
    "F19": 0x50,
    "F20": 0x5A,
    "Space": 0x31,
    "Insert": 0x72,  # kVK_Help: where a PC keyboard's Insert arrives on a Mac
    "Delete": 0x75,  # kVK_ForwardDelete
    "Home": 0x73,
    "End": 0x77,
    "PageUp": 0x74,
    "PageDown": 0x79,
    "Left": 0x7B,
    "Right": 0x7C,
    "Down": 0x7D,
    "Up": 0x7E,
    # A PC keyboard's Scroll Lock and Pause reach macOS as F14 and F15.
    "ScrollLock": 0x6B,
    "Pause": 0x71,
}


def four_char_code(text: str) -> int:
    """A Carbon ``OSType`` ('keyb', 'hkid', '----') as the big-endian number Carbon takes."""
    raw = text.encode("ascii")
    if len(raw) != 4:
        raise ValueError(f"a four-character code has four characters, not {text!r}")
    return int.from_bytes(raw, "big")


K_EVENT_CLASS_KEYBOARD = four_char_code("keyb")
K_EVENT_HOT_KEY_PRESSED = 5
K_EVENT_PARAM_DIRECT_OBJECT = four_char_code("----")
TYPE_EVENT_HOT_KEY_ID = four_char_code("hkid")
HOTKEY_SIGNATURE = four_char_code("TRYG")  # ours, in every EventHotKeyID we register


@dataclass(frozen=True, slots=True)
class MacHotkey:
    modifiers: int  # Carbon modifier bits for RegisterEventHotKey
    key_code: int  # kVK_* virtual key code


def mac_hotkey(hotkey: Hotkey) -> MacHotkey | None:
    """``RegisterEventHotKey``'s key code and modifiers, or None (F21–F24: no Mac key)."""
    key_code = _MAC_KEYS.get(hotkey.key)
    if key_code is None:
        return None
    modifiers = 0
    for modifier in hotkey.modifiers:
        modifiers |= _MAC_MODIFIERS[modifier]
    return MacHotkey(modifiers, key_code)


# -- X11 (X.h, keysymdef.h) -------------------------------------------------------------------
X_SHIFT_MASK = 1 << 0
X_LOCK_MASK = 1 << 1  # Caps Lock
X_CONTROL_MASK = 1 << 2
X_MOD1_MASK = 1 << 3  # Alt
X_MOD2_MASK = 1 << 4  # Num Lock on common keymaps
X_MOD4_MASK = 1 << 6  # Super / the Windows key
X_RELEVANT = X_SHIFT_MASK | X_CONTROL_MASK | X_MOD1_MASK | X_MOD4_MASK
# Caps Lock and Num Lock are modifiers to X: a grab must be made with each combination of them,
# or the hotkey stops working while Num Lock is on.
X_LOCK_COMBINATIONS = (0, X_LOCK_MASK, X_MOD2_MASK, X_LOCK_MASK | X_MOD2_MASK)

_X_MODIFIERS = {
    Modifier.CTRL: X_CONTROL_MASK,
    Modifier.ALT: X_MOD1_MASK,
    Modifier.SHIFT: X_SHIFT_MASK,
    Modifier.META: X_MOD4_MASK,
}
_X_NAMES = {
    "Space": "space",
    "ScrollLock": "Scroll_Lock",
    "PageUp": "Prior",
    "PageDown": "Next",
}


@dataclass(frozen=True, slots=True)
class X11Hotkey:
    keysym: str  # a keysym name for XStringToKeysym
    mask: int  # modifier mask, without the lock modifiers


def x11_hotkey(hotkey: Hotkey) -> X11Hotkey:
    """The keysym name and modifier mask to grab; the keycode is the X server's to say."""
    mask = 0
    for modifier in hotkey.modifiers:
        mask |= _X_MODIFIERS[modifier]
    return X11Hotkey(_X_NAMES.get(hotkey.key, hotkey.key), mask)
