"""The hub sends a meeting's standby colleagues an alarm first, in the same fan-out: everyone
else still gets it, in the order they would have, and nobody later than the chunk allows."""

from __future__ import annotations

from central.core import Person
from central.push.hub import Hub, Screen
from central.push.wire import Prepared
from tests.central.helpers import SITE
from tests.central.test_push import RecordingOutlet


def test_standby_screens_come_first_and_a_colleague_of_another_site_is_added() -> None:
    log: list[tuple[str, str]] = []
    hub = Hub(chunk=100)
    for name, site in (("s0", SITE), ("s1", SITE), ("kari", "bergen"), ("s2", SITE)):
        hub.join(
            Screen(Person(name, name, f"t-{name}", frozenset({site})), RecordingOutlet(name, log))
        )
    assert hub.broadcast(SITE, Prepared("A"), users=("kari",), first=("kari",)) == 4
    assert log == [("kari", "A"), ("s0", "A"), ("s1", "A"), ("s2", "A")]
    log.clear()
    assert hub.broadcast(SITE, Prepared("B"), first=("s2",)) == 3  # first adds nobody
    assert log == [("s2", "B"), ("s0", "B"), ("s1", "B")]
