"""Evacuation and lockdown at the edge as pure logic: messages and presses in, sounds and
requests out (exact equality, injected time and ids)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from edge.core.announce import PATTERNS, AnnounceCore, Sound, Tone
from protocol import AnnouncementKind, AnnounceMessage, AnnounceRequestMessage

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SITE, DEVICE = "oslo-sentrum", "resepsjon"
EVACUATE, LOCKDOWN, ALL_CLEAR = (
    AnnouncementKind.EVACUATE,
    AnnouncementKind.LOCKDOWN,
    AnnouncementKind.ALL_CLEAR,
)


def told(kind: AnnouncementKind, n: int = 1) -> AnnounceMessage:
    return AnnounceMessage(
        site=SITE, device=DEVICE, announcement_id=UUID(int=n), kind=kind, by="kari", at=T0
    )


def request(n: int, kind: AnnouncementKind, input_name: str) -> AnnounceRequestMessage:
    return AnnounceRequestMessage(
        site=SITE, device=DEVICE, request_id=UUID(int=n), kind=kind, input=input_name, at=T0
    )


def test_each_kind_sounds_its_own_pattern_until_all_clear() -> None:
    core = AnnounceCore(SITE, DEVICE, {})
    assert core.kind is ALL_CLEAR
    assert core.received(told(ALL_CLEAR)) is None  # a retained all clear: already silent
    assert core.received(told(EVACUATE)) == Sound(Tone(1.0, 0.5), EVACUATE)
    assert core.received(told(EVACUATE, 2)) is None  # the same state again (a reconnect)
    assert core.received(told(LOCKDOWN, 3)) == Sound(Tone(0.1, 0.3), LOCKDOWN)
    assert core.kind is LOCKDOWN
    assert core.received(told(ALL_CLEAR, 4)) == Sound(None, ALL_CLEAR)
    assert core.kind is ALL_CLEAR
    assert PATTERNS[EVACUATE] != PATTERNS[LOCKDOWN]


def test_a_press_of_an_announcing_input_asks_central() -> None:
    core = AnnounceCore(SITE, DEVICE, {"evac": EVACUATE, "clear": ALL_CLEAR})
    assert core.pressed("desk", T0, UUID(int=1), connected=True) is None
    assert core.pressed("evac", T0, UUID(int=2), connected=True) == request(2, EVACUATE, "evac")
    core.sent(request(2, EVACUATE, "evac"))  # the broker's PUBACK
    assert core.link_up() is None


def test_a_press_while_the_link_is_down_goes_when_it_is_back_newest_only() -> None:
    core = AnnounceCore(SITE, DEVICE, {"evac": EVACUATE, "clear": ALL_CLEAR})
    assert core.pressed("evac", T0, UUID(int=1), connected=False) is None
    assert core.pressed("clear", T0, UUID(int=2), connected=False) is None
    assert core.link_up() == request(2, ALL_CLEAR, "clear")
    core.sent(request(2, ALL_CLEAR, "clear"))
    assert core.link_up() is None


def test_a_press_whose_publish_failed_goes_at_the_next_link_up() -> None:
    """The link looked up, but the broker never confirmed the request (the link was going):
    kept, and sent again (the same request id) until the broker has it."""
    core = AnnounceCore(SITE, DEVICE, {"evac": EVACUATE, "clear": ALL_CLEAR})
    assert core.pressed("evac", T0, UUID(int=1), connected=True) == request(1, EVACUATE, "evac")
    assert core.link_up() == request(1, EVACUATE, "evac")  # no PUBACK came
    assert core.link_up() == request(1, EVACUATE, "evac")  # that publish failed too
    core.sent(request(1, EVACUATE, "evac"))
    assert core.link_up() is None


def test_a_newer_press_replaces_an_unconfirmed_one() -> None:
    core = AnnounceCore(SITE, DEVICE, {"evac": EVACUATE, "clear": ALL_CLEAR})
    core.pressed("evac", T0, UUID(int=1), connected=True)
    assert core.pressed("clear", T0, UUID(int=2), connected=True) == request(2, ALL_CLEAR, "clear")
    core.sent(request(1, EVACUATE, "evac"))  # the older one's PUBACK: the newer still waits
    assert core.link_up() == request(2, ALL_CLEAR, "clear")
    core.sent(request(2, ALL_CLEAR, "clear"))
    assert core.link_up() is None
