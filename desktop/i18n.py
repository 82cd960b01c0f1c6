"""The desk client's texts come from Trygg's one message catalogue (:mod:`trygg_i18n`), shared
with central's web console, so a word is translated once for both."""

from __future__ import annotations

import gettext
from pathlib import Path

import trygg_i18n
from desktop.config import Language

DOMAIN = trygg_i18n.DOMAIN


def catalogue_path(language: Language) -> Path:
    return trygg_i18n.catalogue_path(language.value)


def load_translations(language: Language) -> gettext.NullTranslations:
    """The compiled catalogue for ``language``; fuzzy and empty entries are left out."""
    return trygg_i18n.load_translations(language.value)
