"""Global hotkey sequences as written in the config file: ``Ctrl+Shift+F12``.

Parsed here, without Qt, so that ``trygg-desk validate-config`` can check a sequence on a
machine without a display, and each hotkey backend gets the same plain description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Modifier(StrEnum):
    CTRL = "Ctrl"
    ALT = "Alt"
    SHIFT = "Shift"
    META = "Meta"  # the Windows / Super key


_MODIFIER_NAMES = {
    "ctrl": Modifier.CTRL,
    "control": Modifier.CTRL,
    "alt": Modifier.ALT,
    "shift": Modifier.SHIFT,
    "meta": Modifier.META,
    "super": Modifier.META,
    "win": Modifier.META,
}

# Named keys with their canonical spelling; letters, digits and F1–F24 are accepted as well.
NAMED_KEYS = {
    name.lower(): name
    for name in (
        "Space",
        "Pause",
        "ScrollLock",
        "Insert",
        "Delete",
        "Home",
        "End",
        "PageUp",
        "PageDown",
        "Up",
        "Down",
        "Left",
        "Right",
    )
}


@dataclass(frozen=True, slots=True)
class Hotkey:
    modifiers: frozenset[Modifier]
    key: str  # "A".."Z", "0".."9", "F1".."F24" or a NAMED_KEYS value

    def __str__(self) -> str:
        order = [m for m in Modifier if m in self.modifiers]
        return "+".join([*order, self.key])


def _key(word: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9]", word):
        return word.upper()
    function = re.fullmatch(r"[Ff]([1-9]|1[0-9]|2[0-4])", word)
    if function:
        return f"F{function.group(1)}"
    return NAMED_KEYS.get(word.lower())


def parse_hotkey(text: str) -> Hotkey:
    """``Hotkey`` for ``text``, or ValueError with a reason a user can act on."""
    words = [w.strip() for w in text.split("+")]
    if not text.strip() or any(not w for w in words):
        raise ValueError(f"{text!r} is not a key sequence like 'Ctrl+Shift+F12'")
    *modifier_words, key_word = words
    modifiers: set[Modifier] = set()
    for word in modifier_words:
        modifier = _MODIFIER_NAMES.get(word.lower())
        if modifier is None:
            raise ValueError(f"{word!r} is not a modifier (Ctrl, Alt, Shift, Meta)")
        modifiers.add(modifier)
    key = _key(key_word)
    if key is None:
        raise ValueError(f"{key_word!r} is not a key this client can grab (A-Z, 0-9, F1-F24, …)")
    if not modifiers and not key.startswith("F"):
        # A bare letter as a global hotkey would fire on ordinary typing.
        raise ValueError(f"{key!r} alone would fire while typing; add Ctrl, Alt or Meta")
    if modifiers == {Modifier.SHIFT} and len(key) == 1:
        raise ValueError(f"Shift+{key} is ordinary typing; add Ctrl, Alt or Meta")
    if {Modifier.CTRL, Modifier.ALT} <= modifiers and re.fullmatch(r"F([1-9]|1[0-2])", key):
        # X and the Linux console take Ctrl+Alt+F1..F12 for switching terminals: the key never
        # reaches any program, so the silent alarm would silently never fire.
        raise ValueError(
            f"Ctrl+Alt+{key} switches the screen to another terminal on Linux; "
            "choose another key, e.g. Ctrl+Shift+F12"
        )
    return Hotkey(frozenset(modifiers), key)
