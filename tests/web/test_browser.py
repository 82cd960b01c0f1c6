"""The console in a real browser: log in, a press lights the room up live, answer and resolve,
exports, a safety rep kept out of admin pages, and an axe-core scan of every main page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, async_playwright, expect

from protocol import AlarmLevel, AlarmMessage, AlarmSource, encode
from tests.support.broker import Broker
from tests.web.browser import ARGS, chromium_path
from tests.web.console import PASSWORD, console

MAIN_PAGES = ("/board", "/alarms", "/devices", "/tests", "/routines", "/admin/users", "/login")


def press(broker: Broker, level: AlarmLevel, button: str) -> None:
    """A press of ``button`` in Møterom 101, published with mosquitto_pub exactly as the room's
    edge would: through Mosquitto and central's MQTT ingest, not a shortcut into central."""
    alarm = AlarmMessage(
        site="oslo-sentrum",
        device="rom-101",
        alarm_id=uuid4(),
        level=level,
        room="Møterom 101",
        source=AlarmSource.BUTTON,
        input=button,
        raised_at=datetime.now(UTC),
    )
    broker.pub(*encode(alarm))


# One Chromium for the module (each test has its own page, context and central), so the tests
# run on the module's event loop, where the browser lives.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def _log_in(page: Page, url: str, user: str) -> None:
    await page.goto(f"{url}/login")
    await page.get_by_label("Brukernavn").fill(user)
    await page.get_by_label("Passord").fill(PASSWORD)
    await page.get_by_role("button", name="Logg inn").click()
    await page.wait_for_url(lambda u: "/login" not in u)


async def test_board_lights_up_live_and_alarms_are_answered(
    broker: Broker, tmp_path: Path, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        page = await browser.new_page()
        await _log_in(page, c.url, "user-admin")
        await page.goto(f"{c.url}/board")
        await expect(page.locator("#live")).to_have_attribute("data-connected", "yes")
        room = page.locator('[data-room="mote-101"]')
        await expect(room).to_have_attribute("data-level", "")
        # A press: the alarm exactly as the edge's button publishes it, over the real broker.
        press(broker, AlarmLevel.ACUTE, "desk")
        await expect(room).to_have_attribute("data-level", "acute")  # no reload
        await expect(room).to_contain_text("AKUTT")
        await page.get_by_role("button", name="Jeg kommer").click()
        await expect(page.get_by_text("Registrert: du kommer.")).to_be_visible()
        await expect(page.locator(".card")).to_contain_text("User-Admin")
        await page.get_by_role("button", name="Avslutt (alt er i orden)").click()
        await expect(page.get_by_text("Ingen aktive alarmer. Alt er rolig.")).to_be_visible()
        await expect(room).to_have_attribute("data-level", "")


async def test_exports_download(broker: Broker, tmp_path: Path, browser: Browser) -> None:
    async with console(broker, tmp_path) as c:
        page = await browser.new_page()
        await _log_in(page, c.url, "user-facility_manager")
        await page.goto(f"{c.url}/tests")
        for name, start in (
            ("Eksporter som CSV", b"\xef\xbb\xbfrun_id"),
            ("Eksporter som PDF", b"%PDF"),
        ):
            async with page.expect_download() as info:
                await page.get_by_role("link", name=name).click()
            download = await info.value
            path = await download.path()
            assert path is not None, name
            assert path.read_bytes().startswith(start), name


async def test_a_safety_rep_cannot_reach_admin_pages(
    broker: Broker, tmp_path: Path, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        page = await browser.new_page()
        await _log_in(page, c.url, "user-safety_rep")
        assert await page.get_by_role("link", name="Kontoer").count() == 0
        answer = await page.goto(f"{c.url}/admin/users")
        assert answer is not None
        assert answer.status == 403
        await expect(page.get_by_role("heading", name="Ikke tillatt")).to_be_visible()


async def test_main_pages_have_no_serious_accessibility_violations(
    broker: Broker, tmp_path: Path, browser: Browser
) -> None:
    axe = Axe()
    async with console(broker, tmp_path) as c:
        press(broker, AlarmLevel.ASSIST, "wall")
        page = await browser.new_page()
        await _log_in(page, c.url, "user-admin")
        problems = []
        for path in MAIN_PAGES:
            await page.goto(f"{c.url}{path}")
            results = await axe.run(
                page,
                options={
                    "runOnly": {
                        "type": "tag",
                        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"],
                    }
                },
            )
            assert results.response["passes"], f"axe checked nothing on {path}"
            for violation in results.response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    problems.append(
                        f"{path}: {violation['id']}: {violation['help']} "
                        f"{[n['target'] for n in violation['nodes']][:3]}"
                    )
        assert not problems, "\n".join(problems)


async def test_the_on_time_chart_is_readable(
    broker: Broker, tmp_path: Path, browser: Browser
) -> None:
    """Six months of test runs: the chart is drawn at least 640×320 px, with axis ticks, a
    legend, months, counts and the hatch that tells "on time" without colour."""
    from central.store import testlog

    async with console(broker, tmp_path) as c:
        central = c.running.central
        for month in range(1, 7):
            for n in range(month + 2):
                on_time = n < month
                await central.store.submit(
                    testlog.start_run(
                        run_id=f"chart-{month}-{n}",
                        kind="device_selftest",
                        site="oslo-sentrum",
                        device="rom-101",
                        started_at=datetime(2025, month, 3, 6, 30, tzinfo=UTC),
                        finished_at=datetime(2025, month, 3, 6, 31, tzinfo=UTC),
                        result="passed" if on_time else "failed",
                        late=False,
                        reason="" if on_time else "no answer",
                    )
                )
        page = await browser.new_page(viewport={"width": 1100, "height": 900})
        await _log_in(page, c.url, "user-facility_manager")
        await page.goto(f"{c.url}/tests")
        chart = page.locator("figure.chart svg")
        await expect(chart).to_have_count(1)
        box = await chart.bounding_box()
        assert box is not None, box
        assert box["width"] >= 640, box
        assert box["height"] >= 320, box
        svg = await chart.evaluate("e => e.outerHTML")
        assert svg.count('class="tick-label"') >= 3
        assert "pattern" in svg
        assert 'fill="url(#on-time-oslo-sentrum)"' in svg
        for text in ("I tide", "Skulle vært testet", "Tester", "Måned", "06.25", "6/8"):
            assert f">{text}<" in svg, text
        size = await page.locator("figure.chart text.month").first.evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        assert size >= 13, size
        await chart.screenshot(path=str(tmp_path / "chart.png"))
        await page.screenshot(path=str(tmp_path / "tests-page.png"), full_page=True)
