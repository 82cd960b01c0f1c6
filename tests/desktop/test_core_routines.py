"""The desk's routines ask (desktop.core.routines): asked once per version whatever central
sends again at a reconnect, withdrawn when central says the person confirmed, asked again for
a new version; a confirmed person is never asked; the hello and the frame through the desk's
core as they come off the wire (and a hello from a central that does not say); the words in
both languages; what the headless desk says."""

from __future__ import annotations

import json

import pytest

from desktop.config import Language
from desktop.core import DeskCore
from desktop.core.routines import DeskRoutines, RoutinesEvent, routines_text
from desktop.headless import describe
from desktop.i18n import load_translations
from protocol.screen import Hello, RoutinesStatus, encode_frame

VERSION = "3f9a1c07d2b4e681"
ASK = RoutinesStatus(version=VERSION, read=False, changed=True)
READ = RoutinesStatus(version=VERSION, read=True)
FIRST = RoutinesStatus(version=VERSION, read=False)  # never confirmed any version


def test_an_ask_is_shown_once_and_withdrawn_when_confirmed() -> None:
    routines = DeskRoutines()
    event = routines.receive(ASK)
    assert event == RoutinesEvent(ASK)
    assert event.ask
    assert routines.asking == ASK
    assert routines.receive(ASK) is None  # sent again after a reconnect: no second ask
    withdrawn = routines.receive(READ)
    assert withdrawn == RoutinesEvent(READ)
    assert not withdrawn.ask
    assert routines.asking is None
    assert routines.receive(READ) is None  # the next reconnect's copy: nothing to withdraw


def test_a_person_who_has_confirmed_is_never_asked() -> None:
    routines = DeskRoutines()
    assert routines.receive(READ) is None
    assert routines.asking is None


def test_a_new_version_asks_again() -> None:
    routines = DeskRoutines()
    routines.receive(ASK)
    routines.receive(READ)
    newer = RoutinesStatus(version="b7e2c44a0f1d9e35", read=False, changed=True)
    assert routines.receive(newer) == RoutinesEvent(newer)
    # Changed again while the ask was up (the desk missed the confirmation): the newest.
    newest = newer.model_copy(update={"version": "0a1b2c3d4e5f6071"})
    assert routines.receive(newest) == RoutinesEvent(newest)
    assert routines.asking == newest


def test_the_hello_and_the_frame_off_the_wire_reach_the_desks_core() -> None:
    core = DeskCore()
    hello = Hello(user="eva", name="Eva Ansatt", sites=("oslo-sentrum",), routines_read=ASK)
    reaction = core.receive_text(encode_frame(hello))
    assert reaction.hello == hello
    assert reaction.routines == RoutinesEvent(ASK)
    assert reaction.problem is None
    assert core.receive_text(encode_frame(hello)).routines is None  # the next connection's
    assert core.receive_text(encode_frame(ASK)).routines is None
    assert core.receive_text(encode_frame(READ)).routines == RoutinesEvent(READ)
    # A central that sends fields this desk does not know: read all the same.
    extra = json.dumps({"type": "routines", "version": VERSION, "read": False, "new": 1})
    assert core.receive_text(extra).routines is not None
    # A frame with a broken version is counted and ignored, never raised.
    broken = core.receive_text(json.dumps({"type": "routines", "version": "x" * 65}))
    assert broken.routines is None
    assert broken.problem is not None


def test_a_hello_from_a_central_that_does_not_say_asks_nothing() -> None:
    older = {"type": "hello", "user": "eva", "name": "Eva Ansatt", "sites": ["oslo-sentrum"]}
    reaction = DeskCore().receive_text(json.dumps(older))
    assert reaction.hello is not None
    assert reaction.routines is None


@pytest.mark.parametrize(
    ("language", "frame", "headline"),
    [
        (Language.NB, ASK, "Rutinene er endret – les og bekreft"),
        (Language.NB, FIRST, "Les rutinene og bekreft"),
        (Language.EN, ASK, "The routines have changed – read and confirm"),
        (Language.EN, FIRST, "Read the routines and confirm"),
    ],
)
def test_the_words(language: Language, frame: RoutinesStatus, headline: str) -> None:
    text = routines_text(frame, load_translations(language).gettext)
    assert text.splitlines()[0] == headline
    how = "bekreft nederst på siden" if language is Language.NB else "confirm at the bottom"
    assert how in text


def test_the_headless_desk_says_it_on_stderr_with_where_to_read_and_confirm() -> None:
    server = "wss://trygg.nav.example/ws"
    assert describe(RoutinesEvent(ASK), server) == (
        "routines not confirmed (version 3f9a1c07d2b4e681): The routines have changed – read"
        " and confirm; read them and confirm at https://trygg.nav.example/routines"
    )
    assert describe(RoutinesEvent(READ), server) == (
        "routines confirmed (version 3f9a1c07d2b4e681): no longer asked"
    )
