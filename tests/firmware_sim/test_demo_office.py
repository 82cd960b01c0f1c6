"""The demo's office for escalation and evacuation: the files it writes are accepted by the real
``trygg-central``/``trygg-edge validate-config``, the sites are each other's neighbours, the
reception's announcing inputs are worked by ``trygg-sim`` like any button, a shortened
escalation routine keeps the shipped one's shape, and the demo prints escalations and
announcements readably. (The processes themselves: tests/e2e/test_demo.py.)"""

from __future__ import annotations

import json
import secrets
import subprocess
import tomllib
from pathlib import Path

import pytest
from gpiozero import Button, Buzzer

from firmware_sim import demo_files
from firmware_sim.cli import main
from firmware_sim.config import DEFAULT_DEMO, DemoSettings
from firmware_sim.demo import desk_line
from firmware_sim.pins import SimFactory
from firmware_sim.scenario import check_against, load_scenario
from tests.support.stack import script

EVACUATION = Path(__file__).parents[2] / "firmware_sim" / "scenarios" / "evacuation.toml"
AT = demo_files.Endpoints("127.0.0.1", 1883, 8080)


def write_office(workdir: Path, settings: DemoSettings) -> Path:
    tokens = {desk: secrets.token_urlsafe(24) for s in settings.sites for desk in s.desks}
    central = demo_files.central_config(workdir, settings, AT, secrets.token_urlsafe(18), tokens)
    for site, room in settings.rooms():
        demo_files.edge_config(workdir, site.id, room, AT, secrets.token_urlsafe(18))
    return central


def test_the_files_pass_the_real_validators(tmp_path: Path) -> None:
    central = write_office(tmp_path, DEFAULT_DEMO.model_copy(update={"escalate_after_s": 2}))
    for path, tool in [(central, "trygg-central")] + [
        (tmp_path / f"{room.device}.toml", "trygg-edge") for _s, room in DEFAULT_DEMO.rooms()
    ]:
        done = subprocess.run(
            [script(tool), "validate-config", str(path)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip() == f"{path}: ok"


def test_sites_are_neighbours_and_the_reception_may_announce(tmp_path: Path) -> None:
    config = tomllib.loads(write_office(tmp_path, DEFAULT_DEMO).read_text())
    assert {s["id"]: s["neighbours"] for s in config["sites"]} == {
        "oslo-sentrum": ["bergen"],
        "bergen": ["oslo-sentrum"],
    }
    announcing = {d["id"]: d["announces"] for d in config["devices"] if "announces" in d}
    assert announcing == {"brg-200": ["all_clear", "evacuate"]}
    assert "routines" not in config  # the shipped escalation routine, as it is
    edge = tomllib.loads((tmp_path / "brg-200.toml").read_text())
    assert edge["announce"] == {
        "buzzer_pin": 25,
        "inputs": [
            {"input": "evacuate", "pin": 23, "kind": "evacuate"},
            {"input": "all_clear", "pin": 24, "kind": "all_clear"},
        ],
    }
    assert "announce" not in tomllib.loads((tmp_path / "brg-201.toml").read_text())


def test_a_shortened_escalation_keeps_the_routine_s_shape(tmp_path: Path) -> None:
    shipped = tomllib.loads(demo_files.SHIPPED_ESCALATION.read_text())
    settings = DEFAULT_DEMO.model_copy(update={"escalate_after_s": 2})
    config = tomllib.loads(write_office(tmp_path, settings).read_text())
    routine = Path(config["routines"]["escalation"])
    assert routine == tmp_path / "escalation.toml"
    short = tomllib.loads(routine.read_text())
    assert [s["after_s"] for s in short["acute"]["stages"]] == [2, 6]  # shipped: 20, 60
    assert [s["after_s"] for s in short["assist"]["stages"]] == [2]  # shipped: 45
    for level in ("acute", "assist"):  # the targets and groups are the shipped ones
        assert [s["notify"] for s in short[level]["stages"]] == [
            s["notify"] for s in shipped[level]["stages"]
        ]
    assert short["groups"] == shipped["groups"]
    assert demo_files.first_escalation_s() == shipped["acute"]["stages"][0]["after_s"]
    assert demo_files.first_escalation_s(routine) == 2


def test_trygg_sim_works_an_announcing_input(tmp_path: Path) -> None:
    room = next(r for _s, r in DEFAULT_DEMO.rooms() if r.device == "brg-200")
    demo_files.edge_config(tmp_path, "bergen", room, AT, "pw")
    factory = SimFactory(control_path=str(tmp_path / "brg-200.sock"))
    evacuate = Button(23, pin_factory=factory)
    all_clear = Button(24, pin_factory=factory)
    sounder = Buzzer(25, pin_factory=factory)
    try:
        assert main(["--workdir", str(tmp_path), "hold", "brg-200", "evacuate"]) == 0
        assert evacuate.is_pressed
        assert not all_clear.is_pressed
        assert main(["--workdir", str(tmp_path), "release", "brg-200", "evacuate"]) == 0
        assert not evacuate.is_pressed
        assert main(["--workdir", str(tmp_path), "hold", "brg-200", "all_clear"]) == 0
        assert all_clear.is_pressed
    finally:
        for device in (evacuate, all_clear, sounder):
            device.close()
        factory.close()


def test_outputs_show_the_reception_s_sounder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = next(r for _s, r in DEFAULT_DEMO.rooms() if r.device == "brg-200")
    demo_files.edge_config(tmp_path, "bergen", room, AT, "pw")
    factory = SimFactory(control_path=str(tmp_path / "brg-200.sock"))
    parts = [Button(17, pin_factory=factory), Button(23, pin_factory=factory)]
    parts += [Button(24, pin_factory=factory), Buzzer(25, pin_factory=factory)]
    try:
        parts[3].on()
        capsys.readouterr()
        assert main(["--workdir", str(tmp_path), "outputs", "brg-200"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert sorted(shown) == ["all_clear", "announce", "desk", "evacuate"]
        assert shown["announce"]["buzzer"]["state"] is True
        assert shown["evacuate"]["button"]["pressed"] is False
    finally:
        for part in parts:
            part.close()
        factory.close()


def test_the_evacuation_scenario() -> None:
    scenario = load_scenario(EVACUATION)
    assert check_against(scenario, EVACUATION, DEFAULT_DEMO) == []
    steps = [(s.at_s, s.action, s.device, s.input) for s in scenario.step]
    assert steps == [
        (3, "press", "brg-201", "desk"),
        (30, "tap", "brg-200", "evacuate"),
        (60, "tap", "brg-200", "all_clear"),
    ]
    # The press is in a site whose desks do not answer, so it escalates.
    [bergen] = [s for s in DEFAULT_DEMO.sites if s.id == "bergen"]
    assert not bergen.answers
    # Against an office whose reception has no evacuation button, the step names its line.
    plain = DEFAULT_DEMO.model_copy(deep=True)
    plain.sites[1].rooms[0].announce = None
    problems = [str(p) for p in check_against(scenario, EVACUATION, plain)]
    assert problems == [
        f"{EVACUATION}:18: [step.1.input] brg-200 has no input 'evacuate' (its inputs: desk)",
        f"{EVACUATION}:25: [step.2.input] brg-200 has no input 'all_clear' (its inputs: desk)",
    ]


def test_the_demo_prints_escalations_and_announcements() -> None:
    alarm = {
        "event": "alarm",
        "level": "acute",
        "room": "Møterom 201",
        "site": "bergen",
        "state": "received",
        "responders": [],
        "stage": 1,
        "escalated_to": ["neighbours"],
        "escalated_sites": ["oslo-sentrum"],
        "escalated_users": [],
    }
    assert desk_line("kari", json.dumps(alarm).encode()) == (
        "[desk kari] alarm  ACUTE  Møterom 201 (bergen) state=received coming=-"
        " escalated: stage 1 told neighbours (oslo-sentrum)"
    )
    assert desk_line("kari", json.dumps({**alarm, "stage": 0}).encode()) == (
        "[desk kari] alarm  ACUTE  Møterom 201 (bergen) state=received coming=-"
    )
    announcement = {
        "event": "announcement",
        "site": "bergen",
        "kind": "evacuate",
        "zone": None,
        "by": "device:brg-200",
        "by_name": "Resepsjon",
        "at": "2026-12-02T07:00:00Z",
        "active": True,
    }
    assert desk_line("ola", json.dumps(announcement).encode()) == (
        "[desk ola] announcement EVACUATE bergen by Resepsjon (on)"
    )
    ended = {**announcement, "kind": "all_clear", "zone": "publikum", "active": False}
    assert desk_line("ola", json.dumps(ended).encode()) == (
        "[desk ola] announcement ALL_CLEAR bergen zone publikum by Resepsjon (ended)"
    )
    assert desk_line("ola", b"not json\n") == "[desk ola] not json"


def test_escalate_after_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["demo", "--escalate-after", "0"])
    assert caught.value.code == 2
    assert "must be more than 0" in capsys.readouterr().err
