"""How a fault reads to a facility manager: where, what, and since when, in the user's language.

Central's ``reason`` is a technician's note in English; the kind is what the user reads, and
the reason goes in the entry's tooltip.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from datetime import datetime

from protocol.screen import FaultFrame


def describe_kind(kind: str, translations: gettext.NullTranslations) -> str:
    _ = translations.gettext
    texts = {
        "offline": _("Device offline"),
        "sensor_board": _("Sensor board fault"),
        "tamper": _("Tampering detected"),
        "stuck_input": _("Alarm button stuck"),
        "device_fault": _("Device fault"),
        "no_screen": _("No screen connected – alarms reach nobody"),
        "unknown_device": _("Alarm from a device not in the registry"),
        "flood": _("Flood of alarms"),
        "broker_unreachable": _("Central cannot reach the message broker – no device alarms"),
        "arc_unreachable": _("The alarm receiving centre does not answer"),
    }
    # A kind newer than this desk still reads as something: the kind's own name.
    return texts.get(kind, kind.replace("_", " "))


def fault_line(
    fault: FaultFrame,
    translations: gettext.NullTranslations,
    *,
    site_names: Mapping[str, str],
    now: datetime,
) -> str:
    """One line, e.g. ``NAV Oslo sentrum, rom-101: Device offline (since 09:30)``."""
    _ = translations.gettext
    site = site_names.get(fault.site, fault.site)
    place = f"{site}, {fault.device}" if fault.device else site
    local = fault.at.astimezone()
    same_day = local.date() == now.astimezone().date()
    since = local.strftime("%H:%M") if same_day else local.strftime("%d.%m. %H:%M")
    return _("{place}: {what} (since {since})").format(
        place=place, what=describe_kind(fault.kind, translations), since=since
    )
