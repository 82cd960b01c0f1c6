"""The drill plan is data (routines/drills.toml): validated against central's sites and rooms,
every problem with file, line and reason, at start and by `trygg-central validate-config`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from central.config import CentralSettings
from central.drillplan import SHIPPED_DRILLS, check_drill_plan, load_drill_plan
from configfile import ConfigError
from protocol import AlarmLevel
from tests.support.stack import script

ROOMS = [
    {"id": "m101", "name": "Møterom 101", "x": 0, "y": 0, "w": 5, "h": 5, "devices": ["rom-101"]},
    {"id": "mottak", "name": "Mottak", "x": 5, "y": 0, "w": 5, "h": 5},
]


def settings(drills: Path, **extra: Any) -> CentralSettings:
    return CentralSettings.model_validate(
        {
            "mqtt": {"password": "a-central-password-1"},
            "sites": [
                {"id": "oslo", "name": "Oslo", "rooms": ROOMS},
                {"id": "bergen", "name": "Bergen"},
            ],
            "devices": [
                {"site": "oslo", "id": "rom-101", "room": "Møterom 101"},
                {"site": "bergen", "id": "brg-201", "room": "Samtalerom 201"},
            ],
            "routines": {"drills": str(drills)},
            **extra,
        }
    )


def test_the_shipped_plan_covers_every_site_and_every_room() -> None:
    plans = check_drill_plan(settings(SHIPPED_DRILLS))
    assert set(plans) == {"oslo", "bergen"}
    oslo, bergen = plans["oslo"], plans["bergen"]
    assert oslo.per_year == 2
    assert {s.level for s in oslo.scenarios} == {AlarmLevel.ASSIST, AlarmLevel.ACUTE}
    for scenario in oslo.scenarios:
        assert scenario.rooms == ("Møterom 101", "Mottak")
        assert set(scenario.risk) == {"nb", "en"}  # 4.2: each names the risk it rehearses
    # A site without a floor plan: its rooms are the ones its registered devices name.
    assert bergen.scenarios[0].rooms == ("Samtalerom 201",)
    assert load_drill_plan(SHIPPED_DRILLS).plan[0].grace_days == 14


PLAN = """\
[[plan]]
sites = ["oslo"]
per_year = 4

[[scenario]]
id = "trussel"
sites = ["oslo"]
level = "assist"
rooms = ["m101"]
risk.nb = "Trusler"
risk.en = "Threats"
title.nb = "Trussel"
title.en = "Threat"
"""


def test_a_plan_for_one_site_names_its_rooms(tmp_path: Path) -> None:
    path = tmp_path / "drills.toml"
    path.write_text(PLAN)
    plans = check_drill_plan(settings(path))
    assert set(plans) == {"oslo"}  # bergen has no plan: nothing overdue there
    [scenario] = plans["oslo"].scenarios
    assert scenario.rooms == ("Møterom 101",)
    assert scenario.every.days == 365


def _problems(tmp_path: Path, text: str) -> tuple[dict[str, tuple[int | None, str]], list[str]]:
    path = tmp_path / "drills.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        check_drill_plan(settings(path))
    found = {p.where: (p.line, p.reason) for p in info.value.problems}
    return found, text.splitlines()


def _line(lines: list[str], start: str, nth: int = 1) -> int:
    return [i for i, line in enumerate(lines, 1) if line.startswith(start)][nth - 1]


def test_unknown_sites_and_rooms_are_named_with_their_line(tmp_path: Path) -> None:
    text = PLAN.replace('sites = ["oslo"]', 'sites = ["oslo", "tromso"]', 1).replace(
        'rooms = ["m101"]', 'rooms = ["m101", "kjeller"]'
    )
    found, lines = _problems(tmp_path, text)
    assert found["plan.0.sites"] == (_line(lines, "sites"), "unknown site(s): tromso")
    line, reason = found["scenario.0.rooms"]
    assert line == _line(lines, "rooms")
    assert reason == "site oslo has no room(s) kjeller"


def test_a_site_in_two_plans_and_a_room_no_site_has(tmp_path: Path) -> None:
    again = '[[plan]]\nsites = ["bergen", "oslo"]\nper_year = 1\n'
    star = PLAN.split("[[scenario]]")[1].replace('sites = ["oslo"]', 'sites = ["*"]')
    star = "[[scenario]]" + star.replace('"m101"', '"kjeller"').replace('"trussel"', '"t2"')
    found, lines = _problems(tmp_path, PLAN + "\n" + again + "\n" + star)
    assert found["plan.1.sites"] == (_line(lines, 'sites = ["bergen'), "oslo is in plan 1 too")
    assert found["scenario.1.rooms"] == (_line(lines, "rooms", 2), "no site has room(s) kjeller")


def test_bad_values_are_refused_with_their_line(tmp_path: Path) -> None:
    text = PLAN.replace("per_year = 4", "per_year = 0").replace('level = "assist"', 'level = "x"')
    found, lines = _problems(tmp_path, text)
    assert found["plan.0.per_year"][0] == _line(lines, "per_year")
    assert found["scenario.0.level"][0] == _line(lines, "level")
    missing_risk = PLAN.replace('risk.nb = "Trusler"\nrisk.en = "Threats"\n', "")
    found, _ = _problems(tmp_path, missing_risk)
    assert "scenario.0.risk" in found  # 4.2: no scenario without the risk it rehearses


def test_validate_config_checks_the_drill_plan(tmp_path: Path) -> None:
    plan = tmp_path / "drills.toml"
    plan.write_text(PLAN.replace('rooms = ["m101"]', 'rooms = ["kjeller"]'))
    config = tmp_path / "central.toml"
    config.write_text(
        '[mqtt]\npassword = "a-central-password-1"\n'
        '[[sites]]\nid = "oslo"\nname = "Oslo"\n'
        '[[devices]]\nsite = "oslo"\nid = "rom-101"\nroom = "Møterom 101"\n'
        f'[routines]\ndrills = "{plan}"\n'
    )
    result = subprocess.run(
        [script("trygg-central"), "validate-config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 2
    line = _line(PLAN.splitlines(), "rooms")
    assert f"{plan}:{line}: [scenario.0.rooms]" in result.stderr
    assert "site oslo has no room(s) kjeller" in result.stderr
