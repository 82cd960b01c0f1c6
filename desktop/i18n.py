"""The desk client's texts: a standard gettext catalogue per language, read from the ``.po``.

``desktop/locale/<lang>/LC_MESSAGES/trygg.po`` is the source translators edit. It is compiled
in memory when the client starts (polib), so a clean clone runs without ``msgfmt`` and there is
no binary ``.mo`` to forget to rebuild. Message ids are English; Norwegian bokmål is the default
language, and an id missing from a catalogue falls back to its English text.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import polib

from desktop.config import Language

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "trygg"


def catalogue_path(language: Language) -> Path:
    return LOCALE_DIR / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(language: Language) -> gettext.NullTranslations:
    """The compiled catalogue for ``language``; fuzzy and empty entries are left out."""
    po = polib.pofile(str(catalogue_path(language)), encoding="utf-8")
    for entry in po.fuzzy_entries():
        po.remove(entry)  # a fuzzy guess must not reach a user in an emergency
    return gettext.GNUTranslations(io.BytesIO(po.to_binary()))
