"""The demo's description of the office it simulates (TOML, validated like every config)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
InputName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]


class SimButton(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: InputName
    level: Literal["assist", "acute"]
    pin: int = Field(ge=2, le=27)
    led_pin: int | None = Field(default=None, ge=2, le=27)


class SimRoom(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: Id
    name: str = Field(min_length=1, max_length=120)
    buttons: list[SimButton] = Field(min_length=1)


class SimSite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Id
    name: str = Field(min_length=1, max_length=120)
    rooms: list[SimRoom] = Field(min_length=1)
    desks: list[Id] = Field(min_length=1, description="one headless desk per user id")


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRYGG_SIM_", extra="forbid")

    sites: list[SimSite] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> DemoSettings:
        devices = [room.device for site in self.sites for room in site.rooms]
        if len(devices) != len(set(devices)):
            raise ValueError("device ids must be unique across sites (they are MQTT usernames)")
        return self


DEFAULT_DEMO = DemoSettings(
    sites=[
        SimSite(
            id="oslo-sentrum",
            name="NAV Oslo sentrum",
            desks=["kari"],
            rooms=[
                SimRoom(
                    device="rom-101",
                    name="Møterom 101",
                    buttons=[
                        SimButton(input="desk", level="acute", pin=17, led_pin=27),
                        SimButton(input="wall", level="assist", pin=22, led_pin=23),
                    ],
                )
            ],
        )
    ]
)
