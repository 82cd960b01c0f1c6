"""Central as a SIA DC-09 transmitter to each site's alarm receiving centre (ARC).

Public API (the service wires it; docs/arc.md is the operator's side)::

    link = ArcLink.from_settings(settings)      # the sites with an [sites.arc] section
    await link.start()                          # opens arc.db, resends what was never ACKed
    link.send(ArcEvent(site, key, ArcKind.PANIC, now, zone=15))          # never blocks
    link.send(ArcEvent(site, key, ArcKind.PANIC, now, zone=15, restore=True))  # resolved
    link.state(site)   # LinkState(status=unknown|up|down, since, reason), None: no ARC
    link.faults()      # {site: LinkState} of every site whose ARC is unreachable
    await link.stop()

``key`` makes an event unique (with its kind and restore flag): the alarm id for an alarm and
its resolution, the announcement id for an evacuation/lockdown; offering the same event again
(after a restart, a repeated escalation step) sends nothing. ``send`` for a site without an
ARC does nothing. Kinds and their codes: :data:`central.arc.events.CODES`.

Modules: ``events`` (the event and its Contact ID / SIA codes), ``frames`` (DC-09 frames, CRC,
AES, replies; pure), ``session`` (retries, fallback, link test, up/down; pure), ``outbox``
(SQLite ``arc_outbox``), ``link`` (the asyncio shell), ``probe`` (``trygg-central arc-test``).
"""

from central.arc.events import CODES, ArcEvent, ArcKind
from central.arc.link import ArcLink, SiteLink, default_db, sites_of
from central.arc.probe import arc_test
from central.arc.session import LinkState, Status

__all__ = [
    "CODES",
    "ArcEvent",
    "ArcKind",
    "ArcLink",
    "LinkState",
    "SiteLink",
    "Status",
    "arc_test",
    "default_db",
    "sites_of",
]
