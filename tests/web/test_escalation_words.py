"""The console says an escalation in the reader's language: the board's line and the timeline's
row, with the routine's group names (central.app puts them in the pages' environment)."""

from __future__ import annotations

import pytest

from central.escalation import SHIPPED_ESCALATION, load_escalation
from central.web.render import environment
from tests.desktop.fake_central import make_alarm
from trygg_i18n import translations

TEMPLATE = (
    "{{ escalation_summary(alarm) }}|{% set who, what = event_parts(event) %}{{ who }}: {{ what }}"
)


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "nb",
            "trinn 1 – også varslet: naboer, vektere|"
            "Sentralen: Eskalert til naboer, vektere – 20 s uten svar (trinn 1)",
        ),
        (
            "en",
            "stage 1 – also told: neighbouring sites, guards|"
            "Central: Escalated to neighbouring sites, guards – 20 s without an answer (stage 1)",
        ),
    ],
)
def test_the_board_and_the_timeline_say_the_stage(language: str, said: str) -> None:
    env = environment()
    env.globals["escalation_groups"] = load_escalation(SHIPPED_ESCALATION).group_names()
    alarm = make_alarm().model_copy(update={"stage": 1, "escalated_to": ("neighbours", "guards")})
    event = {
        "kind": "escalated",
        "actor": "central",
        "detail": "stage=1; to=neighbours,guards; reason=no_answer; after_s=20",
    }
    html = env.from_string(TEMPLATE).render(
        _=translations(language).gettext, lang=language, alarm=alarm, event=event
    )
    assert html == said
