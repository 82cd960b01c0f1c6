"""Trygg's one message catalogue, shared by the desk client and central's web console.

``locale/<lang>/LC_MESSAGES/trygg.po`` is the source translators edit; it is compiled in
memory on load (polib), so there is no binary ``.mo`` to forget to rebuild. Message ids are
English; Norwegian bokmål is the default language; an id missing from a catalogue falls back
to its English text. This package imports nothing of Trygg's own.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "trygg"
LANGUAGES = ("nb", "en")
DEFAULT_LANGUAGE = "nb"


def catalogue_path(language: str) -> Path:
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for language {language!r}")
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``language``; fuzzy and empty entries are left out."""
    po = polib.pofile(str(catalogue_path(language)), encoding="utf-8")
    for entry in po.fuzzy_entries():
        po.remove(entry)  # a fuzzy guess must not reach a user in an emergency
    return gettext.GNUTranslations(io.BytesIO(po.to_binary()))


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Loaded once per process and language (the files do not change while it runs)."""
    return load_translations(language)
