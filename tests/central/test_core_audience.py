"""Who may connect (tokens) and which screens hear an alarm of a site. Pure, no sockets."""

from __future__ import annotations

from central.core import Audience, Directory, Person

OSLO, BERGEN = "oslo-sentrum", "bergen"
KARI = Person("kari", "Kari", "kari-secret-token-0123456789", frozenset({OSLO}))
PER = Person("per", "Per", "per-secret-token-01234567890", frozenset({BERGEN, OSLO}))
OLA = Person("ola", "Ola", "ola-secret-token-01234567890", frozenset({"*"}))


def test_directory_finds_people_by_token_only() -> None:
    directory = Directory([KARI, PER, OLA])
    assert len(directory) == 3
    assert directory.authenticate(KARI.token) is KARI
    assert directory.authenticate(OLA.token) is OLA
    assert directory.authenticate(None) is None
    assert directory.authenticate("") is None
    assert directory.authenticate(KARI.token + "x") is None


def test_person_covers_its_sites_and_never_shows_its_token() -> None:
    assert KARI.covers(OSLO)
    assert not KARI.covers(BERGEN)
    assert OLA.everywhere
    assert OLA.covers("anywhere")
    assert KARI.token not in repr(KARI)
    assert "kari" in repr(KARI)


def test_recipients_are_the_screens_of_the_site_and_of_everywhere_people() -> None:
    audience: Audience[str] = Audience()
    audience.add("kari-1", KARI)
    audience.add("kari-2", KARI)
    audience.add("per-1", PER)
    audience.add("ola-1", OLA)
    audience.add("kari-1", KARI)  # adding twice changes nothing
    assert len(audience) == 4
    assert "kari-2" in audience
    assert audience.recipients(OSLO) == ("kari-1", "kari-2", "per-1", "ola-1")
    assert audience.recipients(BERGEN) == ("per-1", "ola-1")
    assert audience.recipients("trondheim") == ("ola-1",)


def test_discarded_screens_hear_nothing_and_empty_groups_vanish() -> None:
    audience: Audience[str] = Audience()
    audience.add("kari-1", KARI)
    audience.add("per-1", PER)
    audience.add("ola-1", OLA)
    audience.discard("per-1")
    audience.discard("ola-1")
    audience.discard("never-added")
    assert audience.recipients(BERGEN) == ()
    assert audience.recipients(OSLO) == ("kari-1",)
    audience.discard("kari-1")
    assert len(audience) == 0
    assert audience.recipients(OSLO) == ()
