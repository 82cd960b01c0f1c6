"""Central's details in words: an alarm event's detail and a test run's reason.

Central's cores write these as English text for the log (``central/core/alarms.py`` ``_open``,
a press's ``presses=2``, ``central/selftests/rounds.py``'s "3 tested, 0 not tested, 0 failed",
``central/core/selftests.py``'s "clock: ..."). A page must say them in the reader's language, so
each known format is recognised here and said again from the catalogue; the values in it (a
room's name, a time, a count, a person's name) are data and stay as they are.

The recognisers return None for a text they do not know. The page then shows it raw, and
``tests/web/test_details.py`` drives central's real producers (the alarm book, the judges of
self-tests, the rounds) through them, so that a new format fails a test before it reaches a page.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from central.core.alarms import CENTRAL_ACTOR, DRILL_MODE_ENDED
from central.core.escalation import ARC, NEIGHBOURS, Escalated, Reason
from central.core.model import EventKind
from central.web.wording import N_, TEST_RESULTS

Gettext = Callable[[str], str]
OSLO = ZoneInfo("Europe/Oslo")

ALARM_LEVELS = {"acute": N_("Acute alarm"), "assist": N_("Assistance alarm")}
ALARM_SOURCES = {
    "button": N_("button"),
    "sensor": N_("sensor"),
    "desktop": N_("the desk app"),
    "mobile": N_("the mobile app"),
}
ALARM_FLAGS = {"test": N_("test – not a real alarm"), "drill": N_("drill – not a real alarm")}
HELD_AT_START = "contact already closed when the device started"
SUCCESSOR = re.compile(r"^pressed after the resolution of (?P<alarm>[0-9a-f-]{36})$")
# What central writes when it ends a test alarm itself (central/service.py, selftests/runner.py),
# or a drill whose room's drill mode ended (central/core/alarms.py).
CLOSED_BY_CENTRAL = {
    "test screen has it": N_("the test screen received it"),
    "button tested in a test round": N_("button tested in a test round"),
    DRILL_MODE_ENDED: N_("drill mode ended"),
}
E2E_CLOSED = re.compile(r"^end-to-end test (?P<result>\w+)$")

_QUOTED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_RAISED = re.compile(
    rf"^(?P<level>\w+) (?P<source>\w+):(?P<input>.+?) in (?P<room>{_QUOTED}),"
    r" raised_at (?P<at>\S+?)(?P<flags>(?: test| drill)*)(?P<notes>(?:; .+)?)$",
    re.DOTALL,
)
_PRESSES = re.compile(r"^presses=(?P<presses>\d+)$")
# central/core/escalation.py Escalated.detail(): the built-in targets and the reasons; a group's
# name comes from routines/escalation.toml in the reader's language (``groups``).
ESCALATION_TARGETS = {NEIGHBOURS: N_("neighbouring sites"), ARC: N_("the alarm receiving centre")}
ESCALATION_REASONS = {
    Reason.NO_ANSWER: N_("{after} s without an answer"),
    Reason.NO_SCREEN: N_("no screen of the site was connected"),
    Reason.NOT_SHOWN: N_("not shown on any screen within {after} s"),
}


def _time(iso: str) -> str:
    at = datetime.fromisoformat(iso)
    return (at.astimezone(OSLO) if at.tzinfo else at).strftime("%d.%m.%Y %H:%M:%S")


def _raised(detail: str, _: Gettext) -> str | None:
    found = _RAISED.match(detail)
    if found is None or found["level"] not in ALARM_LEVELS:
        return None
    if found["source"] not in ALARM_SOURCES:
        return None
    words = {
        "alarm": _(ALARM_LEVELS[found["level"]]),
        "source": _(ALARM_SOURCES[found["source"]]),
        "input": escape(found["input"]),
        "room": escape(f"«{ast.literal_eval(found['room'])}»"),
    }
    parts = [escape(_("{alarm} from {source} “{input}” in {room}")).format(**words)]
    try:
        at = _time(found["at"])
    except ValueError:
        return None
    parts.append(escape(_("raised at {at} by the device's clock")).format(at=at))
    parts += [escape(_(ALARM_FLAGS[flag])) for flag in found["flags"].split()]
    for note in filter(None, found["notes"].split("; ")):
        successor = SUCCESSOR.match(note)
        if note == HELD_AT_START:
            parts.append(escape(_("the contact was already closed when the device started")))
        elif successor is not None:
            link = Markup('<a href="/alarms/{}">{}</a>').format(
                successor["alarm"], _("the previous alarm")
            )
            parts.append(escape(_("pressed again after {alarm} was resolved")).format(alarm=link))
        else:
            return None
    return Markup("; ").join(parts)


def escalation_targets(
    targets: tuple[str, ...], _: Gettext, groups: Mapping[str, str] | None = None
) -> str:
    """Who an escalation told, in words: built-in targets from the catalogue, groups by the
    name the routine gives them (``groups``: id → name in the reader's language)."""
    named = groups or {}
    return ", ".join(
        _(ESCALATION_TARGETS[t]) if t in ESCALATION_TARGETS else named.get(t, t) for t in targets
    )


def _escalated(detail: str, _: Gettext, groups: Mapping[str, str] | None) -> str | None:
    found = Escalated.parse(detail)
    if found is None:
        return None
    why = _(ESCALATION_REASONS[found.reason]).format(after=f"{found.after.total_seconds():g}")
    return _("Escalated to {targets} – {why} (stage {stage})").format(
        targets=escalation_targets(found.targets, _, groups), why=why, stage=found.stage
    )


def event_words(
    kind: str, actor: str, detail: str, _: Gettext, groups: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """(who, what) of an alarm event in words; None for a detail central is not known to write.

    Who: a person's name where the event carries it, "Central", or the device's id (data).
    ``groups``: the escalation routine's group names in the reader's language.
    """
    who = _("Central") if actor == CENTRAL_ACTOR else actor
    if not detail:
        return who, ""
    if kind == EventKind.RAISED:
        what = _raised(detail, _)
        return None if what is None else (who, what)
    if kind == EventKind.PRESSED:
        presses = _PRESSES.match(detail)
        if presses is None:
            return None
        return who, _("{presses} presses in all").format(presses=presses["presses"])
    if kind == EventKind.RESOLVED and actor == CENTRAL_ACTOR:
        if detail in CLOSED_BY_CENTRAL:
            return who, _(CLOSED_BY_CENTRAL[detail])
        e2e = E2E_CLOSED.match(detail)
        if e2e is None or e2e["result"] not in TEST_RESULTS:
            return None
        return who, _("end-to-end test: {result}").format(result=_(TEST_RESULTS[e2e["result"]]))
    if kind in (EventKind.COMING, EventKind.CANT_COME, EventKind.RESOLVED):
        return detail, ""  # the person's name, as they chose it
    if kind == EventKind.ESCALATED:
        what = _escalated(detail, _, groups)
        return None if what is None else (who, what)
    return None


# --- test runs ---------------------------------------------------------------------------

# central/core/selftests.py, central/selftests/service.py: whole reasons.
RUN_REASONS = {
    "no answer": N_("no answer"),
    "an answer without checks": N_("an answer without checks"),
    "not run: central was not running at its time": N_(
        "not run: central was not running at its time"
    ),
    "a test round of every button is due": N_("a test round of every button is due"),
    "central stopped before the answer came": N_("central stopped before the answer came"),
}
# protocol CheckName, central/core/selftests.py Leg and ANSWER_CHECK.
CHECK_NAMES = {
    "inputs": N_("Inputs"),
    "outputs": N_("Lights"),
    "sensor_board": N_("Sensor board"),
    "outbox": N_("Outbox"),
    "clock": N_("Clock"),
    "disk": N_("Disk space"),
    "broker": N_("Message broker"),
    "test_alarm": N_("Test alarm"),
    "answer": N_("Answer"),
    "edge_to_central": N_("Device to central"),
    "stored": N_("Stored"),
    "to_test_screen": N_("To the test screen"),
    "edge_ack": N_("Acknowledged at the device"),
}
# A failed check's detail as central (the legs) and the edge (its fixed texts) write it; a
# detail with a device's own values in it is shown as the device wrote it.
CHECK_DETAILS = {
    **RUN_REASONS,
    "never reached central": N_("never reached central"),
    "never stored": N_("never stored"),
    "the test screen never confirmed it": N_("the test screen never confirmed it"),
    "did not finish before the deadline": N_("did not finish before the deadline"),
    "free space unknown": N_("free space unknown"),
    "no PUBACK from the broker": N_("the broker did not confirm"),
    "no test_alarm_id or no input to use": N_("no test alarm id, or no input to use"),
    "raised, but no ack before the deadline": N_("raised, but no acknowledgement in time"),
    "unknown check on this device": N_("unknown check on this device"),
}
_ROUND = re.compile(
    r"^(?:expired after (?P<lasted>[0-9.]+ (?:min|s)) \(closed by itself\); )?"
    r"(?P<tested>\d+) tested, (?P<untested>\d+) not tested, (?P<failed>\d+) failed$"
)
_CHECKS = re.compile(rf"(?:^|; )({'|'.join(map(re.escape, CHECK_NAMES))})(?:: |(?=; )|$)")


def run_words(reason: str, _: Gettext) -> str | None:
    """A test run's reason in words; "" for none, None for a reason central does not write."""
    if not reason:
        return ""
    if reason in RUN_REASONS:
        return _(RUN_REASONS[reason])
    found = _ROUND.match(reason)
    if found is not None:
        counts = _("{tested} tested, {untested} not tested, {failed} failed").format(
            **found.groupdict()
        )
        if found["lasted"] is None:
            return counts
        lasted = _("expired after {lasted}, closed by itself").format(lasted=found["lasted"])
        return f"{lasted}; {counts}"
    pieces = _CHECKS.split(reason)
    if len(pieces) < 3 or pieces[0]:
        return None
    said = []
    for name, detail in zip(pieces[1::2], pieces[2::2], strict=True):
        words = _(CHECK_DETAILS[detail]) if detail in CHECK_DETAILS else detail
        said.append(f"{_(CHECK_NAMES[name])}: {words}" if words else _(CHECK_NAMES[name]))
    return "; ".join(said)


def _gettext(context: Context) -> Gettext:
    found: Gettext = context["_"]
    return found


def _group_names(context: Context) -> dict[str, str]:
    """The escalation groups' names in the page's language (``escalation_groups``: set by
    central.app from routines/escalation.toml, id → {"nb": …, "en": …})."""
    groups = context.get("escalation_groups") or {}
    language = str(context.get("lang") or "nb")
    return {gid: names.get(language, gid) for gid, names in groups.items()}


@pass_context
def event_parts(context: Context, event: dict[str, str]) -> tuple[str, str]:
    """A timeline row's (who, what); an unknown detail is shown as written."""
    said = event_words(
        event["kind"], event["actor"], event["detail"], _gettext(context), _group_names(context)
    )
    return said if said is not None else (event["actor"], event["detail"])


@pass_context
def escalation_summary(context: Context, alarm: object) -> str:
    """An escalated alarm on the board: its stage and everyone told so far."""
    targets = tuple(getattr(alarm, "escalated_to", ()))
    said = escalation_targets(targets, _gettext(context), _group_names(context))
    stage = getattr(alarm, "stage", 0)
    return _gettext(context)("stage {stage} – also told: {targets}").format(
        stage=stage, targets=said
    )


@pass_context
def run_reason(context: Context, reason: str) -> str:
    said = run_words(reason or "", _gettext(context))
    return reason if said is None else said


FILTERS: dict[str, Callable[..., str]] = {"run_reason": run_reason}
GLOBALS: dict[str, Callable[..., object]] = {
    "event_parts": event_parts,
    "escalation_summary": escalation_summary,
}


# --- schedules ---------------------------------------------------------------------------

WEEKDAYS = {
    "monday": N_("Monday"),
    "tuesday": N_("Tuesday"),
    "wednesday": N_("Wednesday"),
    "thursday": N_("Thursday"),
    "friday": N_("Friday"),
    "saturday": N_("Saturday"),
    "sunday": N_("Sunday"),
}


@pass_context
def schedule_when(context: Context, routine: object) -> str:
    """When a ``[[schedule]]`` of routines/self-tests.toml runs, in words."""
    _ = _gettext(context)
    every, at = str(getattr(routine, "every", "")), str(getattr(routine, "at", ""))
    weekday, day = getattr(routine, "weekday", None), getattr(routine, "day", None)
    if every == "week" and weekday in WEEKDAYS:
        return _("every {weekday} at {at}").format(weekday=_(WEEKDAYS[weekday]), at=at)
    if every == "month" and day is not None:
        return _("on day {day} of every month at {at}").format(day=day, at=at)
    return _("every day at {at}").format(at=at)


FILTERS["schedule_when"] = schedule_when
