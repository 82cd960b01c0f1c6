"""The demo's description of the office it simulates (TOML, validated like every config)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
InputName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]


PendantId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,16}$")]


class SimButton(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: InputName
    level: Literal["assist", "acute"]
    pin: int = Field(ge=2, le=27)
    led_pin: int | None = Field(default=None, ge=2, le=27)
    buzzer_pin: int | None = Field(default=None, ge=2, le=27)


class SimAnnounceInput(BaseModel):
    """A button that announces for the whole site (a reception's evacuation button)."""

    model_config = ConfigDict(extra="forbid")

    input: InputName
    pin: int = Field(ge=2, le=27)
    kind: Literal["evacuate", "lockdown", "all_clear"]


class SimAnnounce(BaseModel):
    """The edge's ``[announce]``: its inputs, and a sounder of its own for evacuation and
    lockdown. Central's registry entry allows exactly the kinds of these inputs."""

    model_config = ConfigDict(extra="forbid")

    buzzer_pin: int | None = Field(default=None, ge=2, le=27)
    inputs: list[SimAnnounceInput] = Field(min_length=1)

    @property
    def kinds(self) -> list[str]:
        return sorted({i.kind for i in self.inputs})


class SimBoard(BaseModel):
    """The room's sensor board (firmware_sim.board), served on ``<workdir>/<device>.tty``."""

    model_config = ConfigDict(extra="forbid")

    pendants: list[PendantId] = Field(default_factory=list, description="pendants paired with it")
    sound_alarm_db: int | None = Field(
        default=None, ge=30, le=150, description="the edge's sound alarm threshold; none = off"
    )


class SimRoom(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: Id
    name: str = Field(min_length=1, max_length=120)
    buttons: list[SimButton] = Field(min_length=1)
    board: SimBoard | None = None
    announce: SimAnnounce | None = None
    measures: list[Annotated[str, StringConstraints(min_length=1, max_length=300)]] = Field(
        default_factory=list, description="security measures besides the simulated hardware"
    )

    @property
    def inputs(self) -> list[str]:
        """Every input's name: the alarm buttons', then the announcing ones'."""
        announcing = self.announce.inputs if self.announce is not None else []
        return [b.input for b in self.buttons] + [a.input for a in announcing]

    @model_validator(mode="after")
    def _one_use_per_pin_and_name(self) -> SimRoom:
        pins = [p for b in self.buttons for p in (b.pin, b.led_pin, b.buzzer_pin) if p is not None]
        if self.announce is not None:
            pins += [a.pin for a in self.announce.inputs]
            pins += [self.announce.buzzer_pin] if self.announce.buzzer_pin is not None else []
        if len(pins) != len(set(pins)):
            raise ValueError(f"room {self.device}: a GPIO pin is used twice")
        if len(self.inputs) != len(set(self.inputs)):
            raise ValueError(f"room {self.device}: an input name is used twice")
        return self


class SimSite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    name: str = Field(min_length=1, max_length=120)
    rooms: list[SimRoom] = Field(min_length=1)
    desks: list[Id] = Field(min_length=1, description="one headless desk per user id")
    answers: bool = Field(
        default=True,
        description="the site's desks answer 'I'm coming' to every alarm (--ack-all); false: "
        "nobody answers, so the site's alarms escalate to the other sites (its neighbours)",
    )


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRYGG_SIM_", extra="forbid")

    sites: list[SimSite] = Field(min_length=1)
    escalate_after_s: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="the first escalation stage's delay (later stages keep their ratio to it); "
        "none: the shipped routine (routines/escalation.toml) as it is",
    )

    @model_validator(mode="after")
    def _unique_ids(self) -> DemoSettings:
        devices = [room.device for site in self.sites for room in site.rooms]
        if len(devices) != len(set(devices)):
            raise ValueError("device ids must be unique across sites (they are MQTT usernames)")
        return self

    def rooms(self) -> list[tuple[SimSite, SimRoom]]:
        return [(site, room) for site in self.sites for room in site.rooms]

    def without_boards(self) -> DemoSettings:
        """The same office with no sensor boards (for an edge that does not read them)."""
        sites = [
            site.model_copy(
                update={"rooms": [r.model_copy(update={"board": None}) for r in site.rooms]}
            )
            for site in self.sites
        ]
        return self.model_copy(update={"sites": sites})


# The floor plan central draws on its alarm board, in metres. The demo lays it out itself:
# meeting rooms in rows along the public zone's waiting area, the staff zone beside it.
ROOM_W, ROOM_H, GAP, WAITING, STAFF_W = 8.0, 6.0, 1.0, 4.0, 10.0
_LEVEL_WORDS = {"acute": "akutt alarm", "assist": "be om bistand"}
_PLACES = {"desk": "under bordet", "wall": "på veggen ved døra"}
_ANNOUNCE_WORDS = {"evacuate": "evakuering", "lockdown": "innelåsing", "all_clear": "faren over"}


@dataclass(frozen=True, slots=True)
class PlanArea:
    id: str
    name: str
    x: float
    y: float
    w: float
    h: float
    zone: str | None = None
    devices: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FloorPlan:
    width: float
    height: float
    zones: tuple[PlanArea, ...]
    rooms: tuple[PlanArea, ...]


def room_measures(room: SimRoom) -> tuple[str, ...]:
    """What protects the room, as the console's routines page lists it (bokmål, like the
    demo's room names): its buttons, its board's pendants and sound alarm, then the rest."""
    found = [
        f"Alarmknapp {_PLACES.get(b.input, f'«{b.input}»')}: {_LEVEL_WORDS[b.level]}"
        for b in room.buttons
    ]
    if room.announce is not None:
        found += [f"Knapp «{a.input}»: {_ANNOUNCE_WORDS[a.kind]}" for a in room.announce.inputs]
    if room.board is not None:
        found += [f"Personlig alarmanheng {p}" for p in room.board.pendants]
        if room.board.sound_alarm_db is not None:
            found.append(f"Lydalarm over {room.board.sound_alarm_db} dB")
    return (*found, *room.measures)


def floor_plan(site: SimSite) -> FloorPlan:
    """One row of rooms (two for more than four), facing the waiting area; any number fits."""
    count = len(site.rooms)
    cols = count if count <= 4 else math.ceil(count / 2)
    rows = math.ceil(count / cols)
    public_w = GAP + cols * (ROOM_W + GAP)
    height = GAP + ROOM_H + WAITING + (rows - 1) * (ROOM_H + GAP)
    rooms = tuple(
        PlanArea(
            id=room.device,
            name=room.name,
            x=GAP + (i % cols) * (ROOM_W + GAP),
            y=GAP if i < cols else GAP + ROOM_H + WAITING,
            w=ROOM_W,
            h=ROOM_H,
            zone="publikum",
            devices=(room.device,),
            measures=room_measures(room),
        )
        for i, room in enumerate(site.rooms)
    )
    zones = (
        PlanArea("publikum", "Publikumssone og venterom", 0, 0, public_w, height),
        PlanArea("ansatte", "Ansattsone (kontorer)", public_w, 0, STAFF_W, height),
    )
    return FloorPlan(public_w + STAFF_W, height, zones, rooms)


def _room(device: str, name: str, number: int, sound_alarm_db: int | None = None) -> SimRoom:
    """A meeting room as the demo furnishes it: two buttons with LEDs, a buzzer, a board."""
    return SimRoom(
        device=device,
        name=name,
        buttons=[
            SimButton(input="desk", level="acute", pin=17, led_pin=27, buzzer_pin=22),
            SimButton(input="wall", level="assist", pin=5, led_pin=6),
        ],
        board=SimBoard(pendants=[f"p-{number}"], sound_alarm_db=sound_alarm_db),
        measures=["Den ansatte sitter nærmest døra", "Resepsjonen er nærmeste kollega"],
    )


def _reception(device: str) -> SimRoom:
    """A reception: an alarm button, and the site's evacuation and all-clear buttons with a
    sounder of their own (no sensor board)."""
    return SimRoom(
        device=device,
        name="Resepsjon",
        buttons=[SimButton(input="desk", level="acute", pin=17, led_pin=27, buzzer_pin=22)],
        announce=SimAnnounce(
            buzzer_pin=25,
            inputs=[
                SimAnnounceInput(input="evacuate", pin=23, kind="evacuate"),
                SimAnnounceInput(input="all_clear", pin=24, kind="all_clear"),
            ],
        ),
        measures=["Resepsjonen ser hele venterommet"],
    )


# Oslo's desk answers every alarm; Bergen's does not (Ola is away from his screen), so a press
# in Bergen shows how escalation reaches the neighbouring office.
DEFAULT_DEMO = DemoSettings(
    sites=[
        SimSite(
            id="oslo-sentrum",
            name="NAV Oslo sentrum",
            desks=["kari"],
            rooms=[
                _room("rom-101", "Møterom 101", 101, sound_alarm_db=80),
                _room("rom-102", "Møterom 102", 102),
                _room("rom-103", "Samtalerom 103", 103),
            ],
        ),
        SimSite(
            id="bergen",
            name="NAV Bergen",
            desks=["ola"],
            answers=False,
            rooms=[
                _reception("brg-200"),
                _room("brg-201", "Møterom 201", 201, sound_alarm_db=80),
                _room("brg-202", "Møterom 202", 202),
                _room("brg-203", "Samtalerom 203", 203),
            ],
        ),
    ]
)
