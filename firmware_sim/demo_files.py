"""The configuration files ``trygg-sim demo`` writes, the way an operator would write them.

Kept apart from :mod:`firmware_sim.demo` (which runs processes) because they are plain text
made from the demo's settings: central's config with its sites, floor plans, device registry and
desk users; one edge config per room; one desk config per user. Each function writes one file
into the workdir and returns its path; none starts anything.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from firmware_sim.config import DemoSettings, PlanArea, SimRoom, SimSite, floor_plan

CENTRAL_USER = "central"
#: The escalation routine central uses unless told otherwise (central's ``[routines]`` default).
SHIPPED_ESCALATION = Path(__file__).resolve().parents[1] / "routines" / "escalation.toml"


def toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the demo's parts find each other (all on loopback)."""

    broker_host: str
    broker_port: int
    http_port: int


def outbox_path(workdir: Path, device: str) -> Path:
    """The edge's durable outbox: the same file across a power cut (``trygg-sim power-off``)."""
    return workdir / f"{device}-outbox.db"


def board_port(workdir: Path, room: SimRoom) -> Path:
    return workdir / f"{room.device}.tty"


def central_config(
    workdir: Path,
    settings: DemoSettings,
    at: Endpoints,
    password: str,
    tokens: dict[str, str],
) -> Path:
    lines = [
        "[mqtt]",
        f'host = "{at.broker_host}"',
        f"port = {at.broker_port}",
        f'username = "{CENTRAL_USER}"',
        f"password = {toml_str(password)}",
        "[http]",
        'host = "127.0.0.1"',
        f"port = {at.http_port}",
        "[store]",
        f"path = {toml_str(str(workdir / 'central.db'))}",
    ]
    if settings.escalate_after_s is not None:
        routine = escalation_routine(workdir, settings.escalate_after_s)
        lines += ["[routines]", f"escalation = {toml_str(str(routine))}"]
    for site in settings.sites:
        lines += ["[[sites]]", f'id = "{site.id}"', f"name = {toml_str(site.name)}"]
        # Every other office is a neighbour: an alarm nobody answers reaches them in time.
        others = [toml_str(s.id) for s in settings.sites if s.id != site.id]
        if others:
            lines.append(f"neighbours = [{', '.join(others)}]")
        lines += _plan_lines(site)
    for site in settings.sites:  # the device registry: rooms come from here
        for room in site.rooms:
            lines += [
                "[[devices]]",
                f'site = "{site.id}"',
                f'id = "{room.device}"',
                f"room = {toml_str(room.name)}",
            ]
            if room.announce is not None:  # what its announcing inputs may ask for
                lines.append(f"announces = [{', '.join(map(toml_str, room.announce.kinds))}]")
    for site in settings.sites:
        for desk in site.desks:
            lines += [
                "[[users]]",
                f'id = "{desk}"',
                f"name = {toml_str(desk.title())}",
                f'token = "{tokens[desk]}"',
                f'sites = ["{site.id}"]',
                # A facility manager's desk also hears of faults: a device powered off shows
                # offline there (and in the demo's output), not only on the console's board.
                'roles = ["responder", "facility_manager"]',
            ]
    path = workdir / "central.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def edge_config(workdir: Path, site_id: str, room: SimRoom, at: Endpoints, password: str) -> Path:
    lines = [
        f'site = "{site_id}"',
        f'device = "{room.device}"',
        f"room = {toml_str(room.name)}",
        "heartbeat_interval_s = 5.0",
        "[mqtt]",
        f'host = "{at.broker_host}"',
        f"port = {at.broker_port}",
        f"password = {toml_str(password)}",
        "[outbox]",
        f"path = {toml_str(str(outbox_path(workdir, room.device)))}",
    ]
    for button in room.buttons:
        lines += [
            "[[buttons]]",
            f'input = "{button.input}"',
            f"pin = {button.pin}",
            f'level = "{button.level}"',
        ]
        if button.led_pin is not None:
            lines.append(f"led_pin = {button.led_pin}")
        if button.buzzer_pin is not None:
            lines.append(f"buzzer_pin = {button.buzzer_pin}")
    if room.announce is not None:
        lines.append("[announce]")
        if room.announce.buzzer_pin is not None:
            lines.append(f"buzzer_pin = {room.announce.buzzer_pin}")
        for announcing in room.announce.inputs:
            lines += [
                "[[announce.inputs]]",
                f'input = "{announcing.input}"',
                f"pin = {announcing.pin}",
                f'kind = "{announcing.kind}"',
            ]
    if room.board is not None:
        lines += ["[sensor_board]", f"port = {toml_str(str(board_port(workdir, room)))}"]
        if room.board.sound_alarm_db is not None:
            lines.append(f"sound_alarm_db = {room.board.sound_alarm_db}")
    path = workdir / f"{room.device}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def first_escalation_s(routine: Path = SHIPPED_ESCALATION) -> float:
    """The delay of an acute alarm's first escalation stage in ``routine`` (for the banner)."""
    stages = tomllib.loads(routine.read_text(encoding="utf-8")).get("acute", {}).get("stages", [])
    return float(stages[0]["after_s"]) if stages else 0.0


def escalation_routine(workdir: Path, first_after_s: float) -> Path:
    """The shipped routine with each level's first stage after ``first_after_s`` and its later
    stages at their shipped ratio to the first (20 s, 60 s -> 2 s, 6 s). Rewritten line by line,
    so the comments and the groups stay as shipped."""
    text = SHIPPED_ESCALATION.read_text(encoding="utf-8")
    firsts = {
        level: float(table["stages"][0]["after_s"])
        for level, table in tomllib.loads(text).items()
        if isinstance(table, dict) and table.get("stages")
    }
    level, out = None, []
    for line in text.splitlines():
        if header := re.match(r"\[\[(\w+)\.stages\]\]", line.strip()):
            level = header[1]
        elif line.strip().startswith("["):
            level = None
        elif level in firsts and (delay := re.match(r"\s*after_s\s*=\s*([\d.]+)", line)):
            scaled = round(float(delay[1]) * first_after_s / firsts[level], 3)
            line = f"after_s = {scaled:g}"
        out.append(line)
    path = workdir / "escalation.toml"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def desk_config(workdir: Path, desk: str, http_port: int, token: str) -> Path:
    path = workdir / f"desk-{desk}.toml"
    path.write_text(f'server = "ws://127.0.0.1:{http_port}/ws"\ntoken = "{token}"\n')
    return path


def _area_lines(table: str, area: PlanArea) -> list[str]:
    lines = [
        f"[[sites.{table}]]",
        f'id = "{area.id}"',
        f"name = {toml_str(area.name)}",
        f"x = {area.x}",
        f"y = {area.y}",
        f"w = {area.w}",
        f"h = {area.h}",
    ]
    if area.zone is not None:
        lines.append(f'zone = "{area.zone}"')
    if area.devices:
        lines.append(f"devices = [{', '.join(toml_str(d) for d in area.devices)}]")
    if area.measures:
        lines.append(f"measures = [{', '.join(toml_str(m) for m in area.measures)}]")
    return lines


def _plan_lines(site: SimSite) -> list[str]:
    """The site's floor plan for the console's alarm board: the site's size, zones, rooms."""
    plan = floor_plan(site)
    lines = [f"width = {plan.width}", f"height = {plan.height}"]
    for zone in plan.zones:
        lines += _area_lines("zones", zone)
    for room in plan.rooms:
        lines += _area_lines("rooms", room)
    return lines
