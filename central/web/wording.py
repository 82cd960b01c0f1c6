"""Internal ids and reasons in words a person reads: roles, audit actions, test kinds and
results, and the refusal reasons central's code writes in English.

Central stores and logs its own ids (``facility_manager``, ``login_failed``, "not your site:
bergen"); a page must never show them raw. Each has its message id here, marked with ``N_``
so the catalogue test (``tests/web/test_console_language.py``) finds every one; the filters
translate them at render time with the page's own language. An id with no entry is shown as
it is (so a new one is visible and the test names it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from jinja2 import pass_context
from jinja2.runtime import Context


def N_(text: str) -> str:
    return text


ROLES = {
    "employee": N_("Employee"),
    "responder": N_("Responder"),
    "facility_manager": N_("Facility manager"),
    "safety_rep": N_("Safety representative"),
    "leader": N_("Leader"),
    "admin": N_("Administrator"),
    "scraper": N_("Metrics collector (Prometheus)"),
}

AUDIT_ACTIONS = {
    "login": N_("Logged in"),
    "login_failed": N_("Login failed"),
    "login_throttled": N_("Login held back (too many attempts)"),
    "logout": N_("Logged out"),
    "account_added": N_("Account added"),
    "roles_changed": N_("Roles changed"),
    "sites_changed": N_("Sites changed"),
    "user_disabled": N_("Account disabled"),
    "password_changed": N_("Password changed"),
    "token_issued": N_("Desk token issued"),
    "token_revoked": N_("Desk token revoked"),
    "round_started": N_("Test round started"),
    "round_closed": N_("Test round closed"),
    "round_expired": N_("Test round closed by itself (expired)"),
    "socket_refused": N_("Screen action refused"),
    "announced": N_("Evacuation or lockdown announced, or all clear"),
    "announce_refused": N_("Evacuation or lockdown refused"),
    "meeting_registered": N_("Meeting with standby registered"),
    "standby_confirmed": N_("Standby confirmed"),
    "standby_declined": N_("Standby declined"),
    "meeting_ended": N_("Meeting with standby ended"),
    "meeting_cancelled": N_("Meeting with standby cancelled"),
    "drill_mode_started": N_("Drill mode started for a room"),
    "drill_mode_ended": N_("Drill mode ended"),
    "drill_raised": N_("Drill raised from the console"),
    "drill_evaluated": N_("Drill evaluated"),
    "training_added": N_("Training recorded"),
    "routines_confirmed": N_("Routines confirmed read"),
    "report_asked": N_("Asked to write an incident report"),
    "report_not_needed": N_("Incident report marked not needed"),
    "report_filed": N_("Incident report filed"),
    "report_read": N_("Incident report opened"),
    "report_seen": N_("Incident report marked seen"),
    "report_followed_up": N_("Incident report followed up"),
    "reports_exported": N_("Incident reports exported"),
    "reports_retention": N_("Incident reports' retention run (old reports anonymised)"),
    "report_email_set": N_("E-mail address for incident reports set"),
    "report_email_cleared": N_("E-mail address for incident reports removed"),
    "sso_login": N_("Signed in with the organisation account"),
    "sso_roles_changed": N_("Roles changed by the organisation's groups"),
    "sso_refused": N_("Sign-in with the organisation account refused"),
    "sso_access_removed": N_("Access removed: the organisation's groups give no role"),
    "sso_moved": N_("Organisation account renamed: the old name's access removed"),
    "sso_idle_removed": N_("Access removed: no sign-in with the organisation account"),
    "desk_paired": N_("Desk connected"),
    "desk_pairing_denied": N_("Desk connection refused"),
    "pairing_code_wrong": N_("Wrong desk connection code"),
}

# Why a sign-in with the organisation account was refused (central.core.signon.Reason and
# central.auth.sso, central.auth.oidc): the first part of an ``sso_refused`` row's detail.
SSO_REFUSALS = {
    "no_role": N_("no group gives a role"),
    "no_site": N_("no group gives an office"),
    "name_taken": N_("the user name belongs to a local account"),
    "other_person": N_("the user name belongs to another person"),
    "disabled": N_("the account is disabled"),
    "groups_overage": N_("too many groups to list"),
    "no_user_id": N_("no usable user name or groups"),
    "bad_user_id": N_("no usable user name or groups"),
    "bad_groups": N_("no usable user name or groups"),
    "flow_lost": N_("the sign-in was lost or came from another browser"),
    "state_mismatch": N_("the answer did not belong to this sign-in"),
    "provider_error": N_("cancelled or refused at the provider"),
    "bad_id_token": N_("the provider's token did not validate"),
    "code_refused": N_("the provider refused the code"),
    "provider_unreachable": N_("the provider could not be reached"),
}

CHAIN_BREAKS = {"edited": N_("edited"), "deleted": N_("deleted"), "reordered": N_("reordered")}

TEST_KINDS = {
    "device_selftest": N_("Device self-test"),
    "e2e_test_alarm": N_("End-to-end test alarm"),
    "manual_round": N_("Manual test round"),
}

TEST_RESULTS = {
    "passed": N_("Passed"),
    "failed": N_("Failed"),
    "missed": N_("Missed"),
    "due": N_("Due"),
    "open": N_("Open"),
}

# Fault kinds (central/core/supervision.py FaultKind), as the desk says them too.
FAULT_KINDS = {
    "offline": N_("Device offline"),
    "sensor_board": N_("Sensor board fault"),
    "tamper": N_("Tampering detected"),
    "stuck_input": N_("Alarm button stuck"),
    "device_fault": N_("Device fault"),
    "no_screen": N_("No screen connected – alarms reach nobody"),
    "unknown_device": N_("Alarm from a device not in the registry"),
    "flood": N_("Flood of alarms"),
    "broker_unreachable": N_("Central cannot reach the message broker – no device alarms"),
    "arc_unreachable": N_("The alarm receiving centre does not answer"),
}

# Commands a screen may send (an audit row's detail when one is refused).
SOCKET_COMMANDS = {
    "delivered": N_("Delivered to a screen"),
    "shown": N_("Shown on a screen"),
    "coming": N_("I'm coming"),
    "cant_come": N_("Can't come"),
    "resolve": N_("Resolve"),
    "raise": N_("Silent alarm"),
}

# Reasons central's code gives in English (HTTP errors, refused forms); "<reason>: <value>"
# is translated by its reason.
REASONS = {
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("please log in"),
    N_("your role does not allow this"),
    N_("no rule allows this endpoint"),
    N_("the form has expired; try again"),
    N_("cross-site socket"),
    N_("not signed in"),
    N_("not your site"),
    N_("no site"),
    N_("no such active alarm"),
    N_("no such alarm"),
    N_("dates are YYYY-MM-DD"),
    N_("dates are DD.MM.YYYY or YYYY-MM-DD"),
    N_("that account belongs to a site you do not manage"),
    N_("that id is a user of the configuration file"),
    N_("an account with that id exists"),
    N_("choose at least one role and one site"),
    N_("you may only add accounts for your own sites"),
    N_("a password needs at least 12 characters"),
    N_("the password is too repetitive"),
    N_("that password is on a list of common passwords; choose another"),
    N_("the password must not contain the account's id or name"),
    N_("a test round is already open at that site"),
    N_("no such report"),
}

_ISSUED = re.compile(r"^for (?P<user>.+), (?P<days>[0-9.]+) days$")


def _gettext(context: Context) -> Callable[[str], str]:
    found: Callable[[str], str] = context["_"]
    return found


def _word(context: Context, table: dict[str, str], value: object) -> str:
    text = str(value)
    return _gettext(context)(table[text]) if text in table else text


def _table(table: dict[str, str]) -> Callable[[Context, object], str]:
    """A filter that says one table's ids in words."""

    @pass_context
    def word(context: Context, value: object) -> str:
        return _word(context, table, value)

    return word


role_name = _table(ROLES)
audit_action = _table(AUDIT_ACTIONS)
chain_break = _table(CHAIN_BREAKS)
test_kind = _table(TEST_KINDS)
test_result = _table(TEST_RESULTS)
fault_kind = _table(FAULT_KINDS)


@pass_context
def role_names(context: Context, values: object) -> str:
    """A comma-separated or iterable set of roles, in words, sorted as stored."""
    items = values.split(",") if isinstance(values, str) else sorted(map(str, values))  # type: ignore[call-overload]
    return ", ".join(_word(context, ROLES, v) for v in items if v)


@pass_context
def reason(context: Context, value: object) -> str:
    """A reason in English from central's code, translated (``"not your site: bergen"`` by
    its part before the colon; the value after it is data and stays as it is)."""
    _ = _gettext(context)
    text = str(value)
    if text in REASONS:
        return _(text)
    head, sep, rest = text.partition(": ")
    if sep and head in REASONS:
        return f"{_(head)}: {rest}"
    return text


@pass_context
def audit_detail(context: Context, action: str, detail: str) -> str:
    """An audit row's detail as written by central and the CLI, in words."""
    _ = _gettext(context)
    if action in ("account_added", "roles_changed"):
        return role_names(context, detail.removeprefix("roles="))
    if action == "socket_refused":
        return _word(context, SOCKET_COMMANDS, detail)
    if action in ("sso_refused", "sso_login", "sso_roles_changed"):
        return _sso_detail(context, action, detail)
    if action == "sso_idle_removed" and detail.isdigit():
        return _("no sign-in for {days} days").format(days=detail)
    if action in ("password_changed", "sso_access_removed") and (
        detail == "sessions and tokens ended"
    ):
        return _("sessions and tokens ended")
    if detail.startswith("from "):
        return _("from {address}").format(address=detail[5:])
    if detail.startswith("of "):
        return _("of {user}").format(user=detail[3:])
    issued = _ISSUED.match(detail)
    if issued:
        return _("for {user}, {days} days").format(**issued.groupdict())
    return detail


def _sso_detail(context: Context, action: str, detail: str) -> str:
    """``no_role; from 10.0.0.7`` (refused), ``from 10.0.0.7; leader @ oslo`` (signed in),
    ``leader @ oslo → responder @ oslo`` (roles changed by the groups), in words."""
    _ = _gettext(context)

    def grants(text: str) -> str:
        roles, _sep, sites = text.partition(" @ ")
        return f"{role_names(context, roles)} @ {sites}"

    parts = detail.split("; ")
    words = []
    for part in parts:
        if part.startswith("from "):
            words.append(_("from {address}").format(address=part[5:]))
        elif action == "sso_refused":
            words.append(_word(context, SSO_REFUSALS, part))
        elif action == "sso_roles_changed":
            words.append(" → ".join(grants(side) for side in part.split(" → ")))
        else:
            words.append(grants(part))
    return "; ".join(words)


FILTERS = {
    "role_name": role_name,
    "role_names": role_names,
    "audit_action": audit_action,
    "chain_break": chain_break,
    "test_kind": test_kind,
    "test_result": test_result,
    "fault_kind": fault_kind,
    "reason": reason,
}
GLOBALS = {"audit_detail": audit_detail}
