"""The test log for audits: as PDF (fpdf2, pure Python), and CSV cells made safe to open.

A CSV is opened in a spreadsheet, which runs a cell starting with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return before one) as a formula: a device name or a reason a device
sent could then reach out (``=HYPERLINK(...)``, DDE). :func:`csv_cell` neutralises such a cell
with a leading ``'`` (OWASP's "CSV injection" advice); the text is otherwise unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """``value`` as a spreadsheet will not run it: text starting a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


_FONT = "Helvetica"  # core font: Latin-1, which covers Norwegian (æøå)


def _latin1(text: object) -> str:
    return str(text).encode("latin-1", "replace").decode("latin-1")


def test_log_pdf(
    runs: list[dict[str, Any]],
    overdue: list[dict[str, Any]],
    filters: dict[str, str],
    now: datetime,
) -> bytes:
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title("Trygg test log")
    pdf.set_author("Trygg central")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 16)
    pdf.cell(0, 10, "Trygg - test log / testlogg", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=9)
    chosen = ", ".join(f"{k}={v}" for k, v in filters.items() if v) or "none"
    pdf.cell(
        0,
        6,
        _latin1(f"Made {now.isoformat(timespec='seconds')}; filters: {chosen}"),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.ln(2)
    widths = (42, 28, 30, 28, 36, 36, 18, 55)
    head = ("started", "site", "device", "kind", "schedule", "finished", "result", "reason")
    pdf.set_font(_FONT, "B", 8)
    for width, title in zip(widths, head, strict=True):
        pdf.cell(width, 6, title, border=1)
    pdf.ln()
    pdf.set_font(_FONT, size=8)
    for run in runs:
        cells = (
            run["started_at"][:19],
            run["site"],
            run["device"] or "-",
            run["kind"],
            run["schedule_id"] or run["trigger"],
            (run["finished_at"] or "")[:19],
            run["result"] + (" (late)" if run["late"] else ""),
            run["reason"][:40],
        )
        for width, value in zip(widths, cells, strict=True):
            pdf.cell(width, 5, _latin1(value), border=1)
        pdf.ln()
        for check in run["checks"]:
            line = f"    {'ok ' if check['ok'] else 'FAIL'} {check['name']}"
            if check.get("input"):
                line += f" {check['device']}/{check['input']}"
            if check.get("detail"):
                line += f": {check['detail']}"
            pdf.cell(0, 4, _latin1(line[:160]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if not runs:
        pdf.cell(0, 6, "No test runs match the filters.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(_FONT, "B", 12)
    pdf.cell(0, 8, "Overdue / forfalt", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=9)
    for item in overdue:
        target = "/".join(x for x in (item.get("site"), item.get("device"), item.get("input")) if x)
        since = item.get("last_passed") or "never"
        pdf.cell(
            0,
            5,
            _latin1(
                f"{item.get('schedule_id')} ({item.get('kind')}): {target}, last passed {since}"
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    if not overdue:
        pdf.cell(0, 5, "Nothing is overdue.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
