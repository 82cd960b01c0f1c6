"""Which site an audit row is about, if it says: so the console's ``/audit`` shows a safety
representative the rows of their own sites only.

Why read it from the row instead of storing it: the trail is hash-chained and its rows are
what they were written as (``actor``, ``action``, ``target``, ``detail``; central.audit.chain);
a new column would be outside the chain (editable unseen), and old rows cannot be rewritten.
Each action has always put its site in the same place, so :data:`WHERE` names that place
per action. A row whose action names no site (a login, an account, a token, a meeting, a
visit, an action this table does not know) has none, and is shown only to those who see the
whole trail (:func:`sees_whole_trail`): deny by default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from uuid import UUID

from central.audit.chain import Row
from central.core.model import ALL_SITES, Person, Role

#: Where each action's row carries its site: the ``target``, the ``detail``, the detail's first
#: word, or a ``site=<id>`` in the detail.
TARGET, DETAIL, FIRST_WORD, SITE_FIELD = "target", "detail", "first_word", "site_field"
WHERE: dict[str, str] = {
    "announced": TARGET,
    "announce_refused": TARGET,
    "round_started": DETAIL,
    "round_closed": DETAIL,
    "round_expired": DETAIL,
    "drill_mode_started": FIRST_WORD,
    "drill_mode_ended": DETAIL,
    "drill_raised": FIRST_WORD,
    "drill_evaluated": DETAIL,
    "training_added": FIRST_WORD,
    "report_asked": SITE_FIELD,
    # Since the site is the target; rows written before name the report (no site: hidden).
    "report_filed": TARGET,
    "report_read": TARGET,
    "report_seen": TARGET,
    "report_followed_up": TARGET,
    "reports_exported": TARGET,
}
_SITE_FIELD = re.compile(r"\bsite=([a-z0-9][a-z0-9-]{0,62})\b")
_SITE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}|\*")


def site_of(row: Row) -> str | None:
    """The site ``row`` is about (``"*"`` for every site, as an export of all), or None."""
    where = WHERE.get(row.action)
    if where is None and row.action == "socket_refused" and row.detail == "announce":
        where = TARGET  # a refused announcement names its site; other refusals an alarm
    if where == SITE_FIELD:
        found = _SITE_FIELD.search(row.detail)
        return found.group(1) if found else None
    if where == TARGET:
        text = row.target
    elif where == DETAIL:
        text = row.detail
    elif where == FIRST_WORD:
        text = row.detail.split(" ", 1)[0]
    else:
        return None
    return text if _SITE_ID.fullmatch(text) and not _is_uuid(text) else None


def _is_uuid(text: str) -> bool:
    """An alarm's or a report's id (a row of an older version put the report's id there)."""
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def sees_whole_trail(person: Person) -> bool:
    """An admin, and whoever covers every site, read every row."""
    return Role.ADMIN in person.roles or person.everywhere


def shown_to(person: Person, rows: Iterable[Row]) -> list[Row]:
    """The rows ``person`` may read: every row, or those of a site of theirs."""
    if sees_whole_trail(person):
        return list(rows)
    found = []
    for row in rows:
        site = site_of(row)
        if site is not None and site != ALL_SITES and person.covers(site):
            found.append(row)
    return found
