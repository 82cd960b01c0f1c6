"""The evidence page as a PDF a leader hands to the safety committee (fpdf2, pure Python, as the
test log's PDF in ``central.web.export``).

It prints the same words as the page (``central.web.evidence.requirements``: one list of
figures for both, so the paper and the screen cannot disagree): a title, the site, the
period, when it was made, then each requirement with its figures, a bar for every share and
a bar per month for the alarms and the self-tests. The core fonts cover Latin-1, which holds
Norwegian (æøå); the few typographic marks beyond it are written plainly (quotes, dashes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from central.core.evidence import Evidence
from central.web.evidence_words import Listing, Requirement

_FONT = "Helvetica"
_PLAIN = str.maketrans(
    {"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "⌈": "", "⌉": "", "→": "->"}
)
_INK = (26, 26, 26)
_BAR = (11, 61, 145)  # the console's blue
_TRACK = (213, 221, 237)
LABEL_W = 100.0
VALUE_W = 52.0


def _text(value: object) -> str:
    return str(value).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def _line(pdf: FPDF, height: float, text: str, style: str = "", size: float = 10) -> None:
    pdf.set_font(_FONT, style, size)
    pdf.multi_cell(0, height, _text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _bar(pdf: FPDF, percent: int) -> None:
    """A bar of ``percent`` beside the value (the track is the whole)."""
    x, y = pdf.get_x() + 2, pdf.get_y() + 1.5
    width = 16.0
    pdf.set_fill_color(*_TRACK)
    pdf.rect(x, y, width, 3, style="F")
    pdf.set_fill_color(*_BAR)
    if percent > 0:
        pdf.rect(x, y, width * percent / 100, 3, style="F")


def _months(
    pdf: FPDF, title: str, legend: tuple[str, str], bars: Sequence[tuple[str, int, int]]
) -> None:
    """One pair of bars per month: the whole (light) and its part (dark), with the counts."""
    shown = [b for b in bars][-24:]
    if not any(total for _, _, total in shown):
        return
    top = max(total for _, _, total in shown)
    height, slot = 26.0, min(7.5, 180 / max(len(shown), 1))
    if pdf.get_y() + height + 16 > pdf.h - pdf.b_margin:
        pdf.add_page()
    _line(pdf, 5, f"{title} ({legend[0]} / {legend[1]})", "I", 9)
    left, base = pdf.l_margin, pdf.get_y() + height + 4
    pdf.set_font(_FONT, size=6)
    for i, (month, part, total) in enumerate(shown):
        x = left + i * slot
        whole = height * total / top
        pdf.set_fill_color(*_TRACK)
        pdf.rect(x, base - whole, slot * 0.8, whole, style="F")
        pdf.set_fill_color(*_BAR)
        if part:
            pdf.rect(
                x + slot * 0.15,
                base - height * part / top,
                slot * 0.5,
                height * part / top,
                style="F",
            )
        pdf.text(x, base - whole - 1, f"{part}/{total}")
        pdf.text(x, base + 3, f"{month[5:7]}.{month[2:4]}")
    pdf.set_xy(left, base + 6)


def _listing(pdf: FPDF, listing: Listing) -> None:
    """The records themselves: a caption, a header row, a row each."""
    pdf.ln(2)
    _line(pdf, 5, listing.caption, "I", 9)
    widths = (40.0, 36.0, 44.0, 36.0)
    pdf.set_font(_FONT, "B", 9)
    for width, title in zip(widths, listing.head, strict=True):
        pdf.cell(width, 5, _text(title), border="B")
    pdf.ln(5)
    pdf.set_font(_FONT, size=9)
    for row in listing.rows:
        cells = (row.first, *(text for _, text in row.cells))
        for width, text in zip(widths, cells, strict=True):
            pdf.cell(width, 5, _text(text))
        pdf.ln(5)


def evidence_pdf(
    found: Evidence,
    requirements: Sequence[Requirement],
    site_name: str,
    gettext: Callable[[str], str],
) -> bytes:
    _ = gettext
    pdf = FPDF(orientation="P", format="A4")
    title = _("Evidence for the yearly review")
    pdf.set_title(_text(f"Trygg - {title} - {site_name}"))
    pdf.set_author("Trygg central")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_text_color(*_INK)
    pdf.add_page()
    _line(pdf, 9, f"Trygg - {title}", "B", 16)
    first = found.period.first_day.strftime("%d.%m.%Y")
    last = found.period.last_day.strftime("%d.%m.%Y")
    made = found.made_at.astimezone(found.period.start.tzinfo).strftime("%d.%m.%Y %H:%M")
    _line(pdf, 6, f"{_('Site')}: {site_name}", "B", 11)
    _line(pdf, 6, f"{_('Period')}: {first} - {last}")
    _line(pdf, 6, f"{_('Made')}: {made}")
    _line(
        pdf, 5, _("Every figure is counted from Trygg's records; how is said under each."), "I", 9
    )
    for requirement in requirements:
        pdf.ln(3)
        if pdf.get_y() > pdf.h - pdf.b_margin - 30:
            pdf.add_page()
        _line(pdf, 7, f"{requirement.number} {requirement.title}", "B", 12)
        _line(pdf, 5, requirement.asks, "I", 9)
        pdf.set_font(_FONT, size=10)
        for figure in requirement.figures:
            pdf.cell(LABEL_W, 6, _text(figure.label), border="B")
            pdf.cell(VALUE_W, 6, _text(figure.text), border="B")
            if figure.percent is not None:
                _bar(pdf, figure.percent)
            pdf.ln(6)
        if requirement.listing is not None:
            _listing(pdf, requirement.listing)
        if requirement.chart is not None:
            bars = [(b.month, b.on_time, b.due) for b in requirement.chart.bars]
            pdf.ln(2)
            _months(pdf, _("Per month"), requirement.chart_legend, bars)
        _line(pdf, 4.5, requirement.how, "", 8)
    return bytes(pdf.output())
