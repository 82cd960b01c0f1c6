"""Every text the desk client shows is in the catalogue, in Norwegian and English alike."""

from __future__ import annotations

import ast
from pathlib import Path
from string import Formatter

import polib
import pytest

from desktop.config import Language
from desktop.i18n import catalogue_path, load_translations

DESKTOP = Path(__file__).parents[2] / "desktop"


def message_ids() -> set[str]:
    """Every string literal passed to ``_(…)`` or ``gettext(…)`` in the desktop package."""
    found: set[str] = set()
    for source in DESKTOP.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in ("_", "gettext") and isinstance(first, ast.Constant):
                found.add(str(first.value))
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def test_the_code_has_texts_to_translate() -> None:
    assert {"ACUTE ALARM", "I'm coming", "Silent alarm"} <= message_ids()


@pytest.mark.parametrize("language", list(Language))
def test_every_text_is_translated_with_the_same_placeholders(language: Language) -> None:
    po = polib.pofile(str(catalogue_path(language)))
    translated = {e.msgid: e.msgstr for e in po.translated_entries() if not e.fuzzy}
    missing = message_ids() - set(translated)
    assert not missing, f"not in {language.value}: {sorted(missing)}"
    for msgid, msgstr in translated.items():
        assert fields(msgstr) == fields(msgid), msgid


def test_norwegian_is_norwegian_and_unknown_ids_fall_back_to_english() -> None:
    nb = load_translations(Language.NB)
    assert nb.gettext("I'm coming") == "Jeg kommer"
    assert nb.gettext("Something new") == "Something new"
    assert load_translations(Language.EN).gettext("I'm coming") == "I'm coming"
