"""A site's announcement as pure logic: requests and ``now`` in, outcomes out (exact equality)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from central.core.alarms import RETRY_FIRST, RETRY_MAX
from central.core.announcements import (
    Announced,
    Announcement,
    Announcements,
    Origin,
    Refused,
    Request,
    Unchanged,
)
from protocol import AnnouncementKind

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SITE = "oslo-sentrum"
OTHER = "bergen"
ZONES = {SITE: ("nord", "sor"), OTHER: ()}
EVACUATE, LOCKDOWN, ALL_CLEAR = (
    AnnouncementKind.EVACUATE,
    AnnouncementKind.LOCKDOWN,
    AnnouncementKind.ALL_CLEAR,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def uid(n: int) -> UUID:
    return UUID(int=n)


def ask(
    n: int,
    kind: AnnouncementKind,
    site: str = SITE,
    zone: str | None = None,
    by: str = "kari",
    origin: Origin = Origin.CONSOLE,
) -> Request:
    return Request(uid(n), site, kind, zone, by, by.title(), origin)


def entry(
    n: int,
    kind: AnnouncementKind,
    when: datetime,
    site: str = SITE,
    zone: str | None = None,
    by: str = "kari",
    origin: Origin = Origin.CONSOLE,
) -> Announcement:
    return Announcement(uid(n), site, kind, zone, by, by.title(), origin, when)


def test_evacuate_then_all_clear() -> None:
    book = Announcements(ZONES)
    assert book.current(SITE) is None
    assert book.last(SITE) is None

    started = book.request(ask(1, EVACUATE), at(0))
    assert started == Announced(entry(1, EVACUATE, at(0)), None)
    assert started.now.active
    assert book.current(SITE) == entry(1, EVACUATE, at(0))
    assert book.active() == [entry(1, EVACUATE, at(0))]

    ended = book.request(ask(2, ALL_CLEAR, by="ola"), at(60))
    assert ended == Announced(entry(2, ALL_CLEAR, at(60), by="ola"), entry(1, EVACUATE, at(0)))
    assert not ended.now.active
    assert book.current(SITE) is None
    assert book.active() == []
    assert book.last(SITE) == entry(2, ALL_CLEAR, at(60), by="ola")
    assert book.history(SITE) == [
        entry(2, ALL_CLEAR, at(60), by="ola"),
        entry(1, EVACUATE, at(0)),
    ]


def test_the_same_announcement_again_changes_nothing() -> None:
    book = Announcements(ZONES)
    book.request(ask(1, LOCKDOWN, origin=Origin.DEVICE, by="device:resepsjon"), at(0))
    again = book.request(ask(2, LOCKDOWN, origin=Origin.DESK), at(5))
    first = entry(1, LOCKDOWN, at(0), by="device:resepsjon", origin=Origin.DEVICE)
    assert again == Unchanged(first)
    assert book.history() == [first]


def test_a_new_kind_or_zone_replaces_the_current_one() -> None:
    book = Announcements(ZONES)
    book.request(ask(1, EVACUATE, zone="nord"), at(0))
    wider = book.request(ask(2, EVACUATE), at(10))
    assert wider == Announced(entry(2, EVACUATE, at(10)), entry(1, EVACUATE, at(0), zone="nord"))
    locked = book.request(ask(3, LOCKDOWN), at(20))
    assert locked == Announced(entry(3, LOCKDOWN, at(20)), entry(2, EVACUATE, at(10)))
    assert book.current(SITE) == entry(3, LOCKDOWN, at(20))


def test_all_clear_ends_a_zone_announcement_whatever_zone_it_names() -> None:
    book = Announcements(ZONES)
    book.request(ask(1, EVACUATE, zone="sor"), at(0))
    ended = book.request(ask(2, ALL_CLEAR, zone="nord"), at(30))
    assert ended == Announced(
        entry(2, ALL_CLEAR, at(30), zone="sor"), entry(1, EVACUATE, at(0), zone="sor")
    )


def test_all_clear_with_nothing_on_is_accepted_recorded_and_told() -> None:
    """An evacuation whose record was lost (central killed before the commit) may still sound
    out there: "All clear" must always be possible, and it ends the whole site."""
    book = Announcements(ZONES)
    cleared = book.request(ask(1, ALL_CLEAR, zone="nord", by="ola"), at(0))
    assert cleared == Announced(entry(1, ALL_CLEAR, at(0), by="ola"), None)
    assert book.current(SITE) is None
    assert book.last(SITE) == entry(1, ALL_CLEAR, at(0), by="ola")
    again = book.request(ask(2, ALL_CLEAR, origin=Origin.DEVICE, by="device:resepsjon"), at(5))
    assert again == Announced(
        entry(2, ALL_CLEAR, at(5), by="device:resepsjon", origin=Origin.DEVICE), None
    )
    assert book.history(SITE) == [
        entry(2, ALL_CLEAR, at(5), by="device:resepsjon", origin=Origin.DEVICE),
        entry(1, ALL_CLEAR, at(0), by="ola"),
    ]


def test_a_failed_write_is_offered_again_with_a_backoff_until_stored() -> None:
    book = Announcements(ZONES)
    book.request(ask(1, EVACUATE), at(0))
    book.request(ask(2, LOCKDOWN, site=OTHER), at(0))
    assert book.unstored == 2
    assert book.due(at(0)) == []  # both with the store now
    book.stored(uid(2))
    book.write_failed(uid(1), at(1))  # a full disk
    assert book.unstored == 1
    first = RETRY_FIRST.total_seconds()
    assert book.due(at(1 + first / 2)) == []
    assert book.due(at(1 + first)) == [entry(1, EVACUATE, at(0))]
    assert book.due(at(1 + first)) == []  # in flight again
    # Each failure doubles the wait (1 s, 2 s, 4 s), up to RETRY_MAX (5 s), until stored.
    now = 1 + first
    for wait in (1.0, 2.0, 4.0, 5.0, 5.0):
        book.write_failed(uid(1), at(now))
        assert book.due(at(now + wait - 0.01)) == []
        assert book.due(at(now + wait)) == [entry(1, EVACUATE, at(0))]
        now += wait
    assert (RETRY_FIRST.total_seconds(), RETRY_MAX.total_seconds()) == (0.5, 5.0)
    book.stored(uid(1))
    assert book.unstored == 0
    assert book.due(at(now + 3600)) == []
    # A repeat changes nothing and writes nothing; an all clear is written.
    assert book.request(ask(3, EVACUATE), at(now)) == Unchanged(entry(1, EVACUATE, at(0)))
    assert book.unstored == 0
    book.request(ask(4, ALL_CLEAR), at(now))
    assert book.unstored == 1
    book.write_failed(uid(999), at(now))  # not one of ours: nothing
    book.stored(uid(4))
    assert book.unstored == 0


def test_refusals_change_nothing() -> None:
    book = Announcements(ZONES)
    assert book.request(ask(2, EVACUATE, site="tromso"), at(0)) == Refused("tromso", "unknown_site")
    assert book.request(ask(3, EVACUATE, zone="vest"), at(0)) == Refused(SITE, "unknown_zone")
    assert book.request(ask(4, LOCKDOWN, site=OTHER, zone="nord"), at(0)) == Refused(
        OTHER, "unknown_zone"
    )
    assert book.history() == []
    assert book.active() == []
    assert book.unstored == 0


def test_sites_are_independent_and_history_is_newest_first_and_bounded() -> None:
    book = Announcements(ZONES)
    book.request(ask(1, EVACUATE), at(0))
    book.request(ask(2, LOCKDOWN, site=OTHER, by="per"), at(1))
    assert book.active() == [
        entry(2, LOCKDOWN, at(1), site=OTHER, by="per"),
        entry(1, EVACUATE, at(0)),
    ]
    book.request(ask(3, ALL_CLEAR), at(2))
    assert book.current(OTHER) == entry(2, LOCKDOWN, at(1), site=OTHER, by="per")
    assert book.history(OTHER) == [entry(2, LOCKDOWN, at(1), site=OTHER, by="per")]
    assert book.history(limit=2) == [
        entry(3, ALL_CLEAR, at(2)),
        entry(2, LOCKDOWN, at(1), site=OTHER, by="per"),
    ]


def test_restore_from_stored_changes_in_any_order() -> None:
    stored = [
        entry(3, ALL_CLEAR, at(20)),
        entry(1, EVACUATE, at(0)),
        entry(4, LOCKDOWN, at(30), site=OTHER),
        entry(2, LOCKDOWN, at(10)),
    ]
    book = Announcements.restore(ZONES, stored)
    assert book.current(SITE) is None
    assert book.current(OTHER) == entry(4, LOCKDOWN, at(30), site=OTHER)
    assert book.last(SITE) == entry(3, ALL_CLEAR, at(20))
    assert book.history(SITE) == [
        entry(3, ALL_CLEAR, at(20)),
        entry(2, LOCKDOWN, at(10)),
        entry(1, EVACUATE, at(0)),
    ]
    # After a restart a repeat is still recognised, and all clear still ends it.
    assert book.request(ask(5, LOCKDOWN, site=OTHER), at(40)) == Unchanged(
        entry(4, LOCKDOWN, at(30), site=OTHER)
    )
