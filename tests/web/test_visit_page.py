"""The visit timer's controls on the phone page /m (visit.js) in Debian's Chromium, emulating a
phone, against a real central: start a home visit (the notification permission refused, so
no push — the visit runs all the same), the visit on central's side, check out from the page;
an end time already past is refused on the page with a clear message, nothing sent.

The push handler itself (sw.js) is not exercised here: a headless browser has no push service;
what central sends is decrypted by the local endpoint in tests/e2e/test_visit_timer.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Playwright, expect

from central.store import visits as stored
from tests.support.broker import Broker
from tests.web.console import console
from tests.web.test_mobile_page import browser, phone, playwright, sign_in

__all__ = ["browser", "playwright"]  # the fixtures, used by name
# Those fixtures live on the module's event loop (one Chromium per module), so do its tests.
pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_home_visit_is_started_and_checked_out_from_the_page(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser)
        page = await context.new_page()
        await sign_in(page, c.url)
        central = c.running.central

        await page.get_by_text("Hjemmebesøk").click()
        past = (datetime.now() - timedelta(minutes=2)).strftime("%H:%M")
        if past < "23:58" and past > "00:02":  # the same day: the page can tell it is past
            await page.get_by_label("Ferdig klokka").fill(past)
            await page.get_by_role("button", name="Start besøket").click()
            await expect(page.get_by_role("alert")).to_have_text(
                "Slutttiden har allerede vært. Velg et senere klokkeslett."
            )
            assert await central.read(stored.open_visits) == []

        await page.get_by_label("Ferdig klokka").fill("23:59")
        await page.get_by_label("Slingringsmonn (minutter)").fill("15")
        await page.get_by_label("Adresse (valgfritt)").fill("Storgata 1")
        await page.get_by_label("Kollega som skal varsles (valgfritt)").fill("user-responder")
        await page.get_by_role("button", name="Start besøket").click()
        status = page.locator("#visit-state")
        await expect(status).to_contain_text("Hjemmebesøk til 23:59")
        await expect(page.locator("#visit-push")).to_be_visible()  # no permission: no push
        (visit,) = await central.read(stored.open_visits)
        assert (visit.user, visit.address, visit.colleague, visit.grace) == (
            "user-employee",
            "Storgata 1",
            "user-responder",
            timedelta(minutes=15),
        )

        await page.get_by_role("button", name="Sjekk ut – jeg er OK").click()
        await expect(status).to_have_text("Du er sjekket ut.")
        assert await central.read(stored.open_visits) == []
        await context.close()
