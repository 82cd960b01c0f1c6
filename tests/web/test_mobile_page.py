"""The phone page /m in Debian's Chromium, emulating a phone (Pixel 7: touch, a small screen)
against a real central: log in, hold to raise, the alarm on the console's board with its
position, "coming" back on the phone; offline → raise → online stores it exactly once; a
refused position still raises; an early release or a cancel raises nothing; axe finds no
serious WCAG 2.1 AA issue.

The hold is a real touch (CDP touch events, as a finger), never a click. Every phone runs on
Playwright's clock (installed, flowing as real time does): a hold and the cancel window are
run through on it, so "held 1.5 s" and "held 2.1 s" are exact, nothing depends on how fast this
machine is, and no test waits out the 2 s hold and the 3 s window in real time.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from PIL import Image
from playwright.async_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Geolocation,
    Page,
    Playwright,
    async_playwright,
    expect,
)

from central.core import Role
from central.store import accounts as rows
from tests.support.broker import Broker
from tests.web.browser import ARGS, chromium_path
from tests.web.console import PASSWORD, Console, add_account, console

HERE: Geolocation = {"latitude": 59.9127, "longitude": 10.7461, "accuracy": 12}  # Oslo
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
RAISER = "user-employee"
# The elements that reach past the right edge of the screen (nothing may).
WIDER_THAN_SCREEN = """
Array.from(document.querySelectorAll("body *"))
  .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right
    > document.documentElement.clientWidth + 0.5)
  .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className.baseVal ?? e.className}`
    + ` ${Math.round(e.getBoundingClientRect().right)}`)
"""
BUZZ_RECORDER = """
window.buzzes = [];
Object.defineProperty(Navigator.prototype, "vibrate", {
  configurable: true,
  value: function (pattern) { window.buzzes.push(pattern); return true; },
});
"""
AT_CENTRAL = re.compile("^(raised|received)$")  # stored; on a colleague's screen or not yet


# One Chromium for the module (each test has its own phone context and its own central), so
# the tests run on the module's event loop, where the browser lives.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as p:
        yield p


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    launched = await playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)
    try:
        yield launched
    finally:
        await launched.close()


async def phone(
    playwright: Playwright, browser: Browser, *, position: bool = True
) -> BrowserContext:
    """A Pixel 7 in Norwegian; the position granted at ``HERE``, or refused. Its pages run on
    Playwright's clock, installed before any page loads: time flows as usual (polls, retries)
    and a test runs it forward where it would only wait (a hold, the cancel window)."""
    device = {k: v for k, v in playwright.devices["Pixel 7"].items() if k != "default_browser_type"}
    context = await browser.new_context(
        **device,
        locale="nb-NO",
        geolocation=HERE if position else None,
        permissions=["geolocation"] if position else [],
    )
    # Headless Chromium has no motor: the page's calls to navigator.vibrate are written down.
    await context.add_init_script(BUZZ_RECORDER)
    await context.clock.install()
    return context


async def sign_in(page: Page, url: str, user: str = RAISER) -> None:
    await page.goto(f"{url}/m")
    await expect(page.get_by_role("heading", name="Logg inn på denne telefonen")).to_be_visible()
    await page.get_by_label("Brukernavn").fill(user)
    await page.get_by_label("Passord").fill(PASSWORD)
    await page.get_by_role("button", name="Logg inn").click()
    await expect(page.get_by_role("button", name="Hold inne for alarm")).to_be_visible()


class Finger:
    """A finger on the phone's screen: CDP touch events, as a real touch screen sends."""

    def __init__(self, cdp: CDPSession, page: Page) -> None:
        self.cdp = cdp
        self.page = page

    @classmethod
    async def on(cls, context: BrowserContext, page: Page) -> Finger:
        return cls(await context.new_cdp_session(page), page)

    async def down(self, name: str = "Hold inne for alarm") -> None:
        box = await self.page.get_by_role("button", name=name).bounding_box()
        assert box is not None
        point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
        await self.cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]}
        )

    async def up(self) -> None:
        await self.cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


# The page's timings (central/web/static/mobile): hold.js HOLD_MS; app.js CANCEL_S, POLL_MS
# (while an alarm is active, what colleagues do) and RETRY_MS (the outbox's retry timer).
HOLD_MS, CANCEL_MS, POLL_MS, RETRY_MS = 2000, 3000, 2000, 5000


async def hold(finger: Finger) -> None:
    """Hold the control until the cancel window opens (its 2 s run on the page's clock), and
    let go: the alarm is on its way unless "Avbryt" is pressed."""
    await finger.down()
    await finger.page.clock.run_for(HOLD_MS + 100)
    await expect(finger.page.get_by_role("button", name="Avbryt")).to_be_visible()
    await finger.up()


async def hold_to_raise(finger: Finger) -> None:
    """Hold until the cancel window opens, let go, and let the window pass (on the clock)."""
    await hold(finger)
    await finger.page.clock.run_for(CANCEL_MS + 100)
    await expect(finger.page.locator("#active")).to_be_visible()


async def mobile_alarms(c: Console) -> list[dict[str, Any]]:
    """The alarm record as the API gives it: the mobile alarms only. (Asynchronous: central
    runs in this test's event loop.)"""
    async with httpx.AsyncClient(base_url=c.url, timeout=10) as client:
        answer = await client.get(
            "/api/alarms", headers={"Authorization": f"Bearer {c.tokens[Role.ADMIN]}"}
        )
    answer.raise_for_status()
    return [a for a in answer.json()["alarms"] if a["source"] == "mobile"]


async def phone_alarm_id(page: Page) -> str:
    found = await page.evaluate("TryggStore.get('active')")
    assert isinstance(found, str), found
    return found


async def stored(c: Console, alarm_id: str, within: float = 20) -> dict[str, Any]:
    """The alarm ``alarm_id`` in the record, as soon as it is there (bounded polling)."""
    for _ in range(int(within / 0.1)):
        for alarm in await mobile_alarms(c):
            if alarm["alarm_id"] == alarm_id:
                return alarm
        await asyncio.sleep(0.1)
    raise AssertionError(f"alarm {alarm_id} not in the record: {await mobile_alarms(c)}")


async def test_raise_from_the_phone_position_on_the_board_coming_back_on_the_phone(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser)
        page = await context.new_page()
        await sign_in(page, c.url)
        # Login once: the phone keeps the device token, never the password.
        kept = await page.evaluate("TryggStore.get('session')")
        assert kept["user"] == RAISER, kept
        assert kept["token"], kept
        assert PASSWORD not in str(kept)
        await page.get_by_label("Akutt").check()
        await page.screenshot(path=str(tmp_path / "mobile-home.png"))
        await hold_to_raise(await Finger.on(context, page))
        await expect(page.get_by_role("heading", name="Akutt alarm")).to_be_visible()
        await expect(page.locator("#state")).to_have_attribute(
            "data-state", AT_CENTRAL, timeout=15000
        )
        await expect(page.locator("#position")).to_contain_text("± 12 m")

        alarm_id = await phone_alarm_id(page)
        alarm = await stored(c, alarm_id)
        assert alarm["level"] == "acute"
        assert alarm["raised_by"] == RAISER
        assert alarm["position"]["lat"] == pytest.approx(HERE["latitude"])
        assert alarm["position"]["lon"] == pytest.approx(HERE["longitude"])
        assert alarm["position"]["accuracy_m"] == pytest.approx(12)
        assert alarm["silent"] is False
        assert await page.evaluate("window.buzzes.length") >= 2  # the hold, the alarm sent

        # The console's board, in a desktop browser: the mobile alarm, its person, its place.
        desk = await browser.new_page(viewport={"width": 1200, "height": 900})
        await desk.goto(f"{c.url}/login")
        await desk.get_by_label("Brukernavn").fill("user-responder")
        await desk.get_by_label("Passord").fill(PASSWORD)
        await desk.get_by_role("button", name="Logg inn").click()
        await desk.goto(f"{c.url}/board")
        card = desk.locator(".card", has_text="User-Employee")
        await expect(card).to_be_visible()
        await expect(card).to_contain_text("59.91")
        await card.get_by_role("button", name="Jeg kommer").click()

        # Back on the phone: who is coming, at its next poll (run on its clock, not waited for).
        await page.clock.run_for(POLL_MS)
        await expect(page.locator("#state")).to_have_text("User-Responder kommer", timeout=15000)
        await page.screenshot(path=str(tmp_path / "mobile-alarm.png"))  # docs/img/
        await desk.goto(f"{c.url}/board")
        await desk.get_by_role("button", name="Avslutt (alt er i orden)").click()
        await page.clock.run_for(POLL_MS)
        await expect(page.locator("#state")).to_have_text("Alarmen er avsluttet.", timeout=15000)
        await page.get_by_role("button", name="Ferdig").click()
        await expect(page.get_by_role("button", name="Hold inne for alarm")).to_be_visible()
        assert await page.evaluate("TryggStore.alarms()") == []
        await desk.close()
        await context.close()


async def test_offline_raise_is_kept_and_stored_exactly_once_when_back_online(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser)
        page = await context.new_page()
        await sign_in(page, c.url)
        # The worker controls the page, so the page opens again without network.
        await page.wait_for_function("navigator.serviceWorker.controller !== null")

        await context.set_offline(True)
        await hold_to_raise(await Finger.on(context, page))
        state = page.locator("#state")
        await expect(state).to_have_attribute("data-state", "queued")
        await expect(state).to_contain_text("Ingen nett")
        alarm_id = await phone_alarm_id(page)
        pending = await page.evaluate("TryggStore.pending()")
        assert [a["alarm_id"] for a in pending] == [alarm_id]
        assert await mobile_alarms(c) == []

        # Still offline, the page is closed and opened again: the alarm is still there.
        await page.reload()
        await expect(state).to_have_attribute("data-state", "queued")
        assert await phone_alarm_id(page) == alarm_id

        await context.set_offline(False)
        # The outbox's retry timer (RETRY_MS; "online" is not fired everywhere) sends it: run
        # the page's clock through one round instead of waiting for it.
        await page.clock.run_for(RETRY_MS + 100)
        await expect(state).to_have_attribute("data-state", AT_CENTRAL, timeout=20000)
        assert await page.evaluate("TryggStore.pending()") == []
        # More send rounds (the retry timer, Background Sync) change nothing: one alarm.
        await page.evaluate("TryggStore.flush()")
        found = [a for a in await mobile_alarms(c) if a["alarm_id"] == alarm_id]
        assert len(found) == 1, found
        assert len(await mobile_alarms(c)) == 1
        await context.close()


async def test_a_refused_position_still_raises_the_alarm_without_one(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser, position=False)
        page = await context.new_page()
        await sign_in(page, c.url)
        await hold_to_raise(await Finger.on(context, page))
        await expect(page.locator("#position")).to_have_text("Uten posisjon")
        await expect(page.locator("#state")).to_have_attribute(
            "data-state", AT_CENTRAL, timeout=15000
        )
        alarm = await stored(c, await phone_alarm_id(page))
        assert alarm["position"] is None
        assert alarm["level"] == "assist"
        await context.close()


async def test_an_early_release_or_a_cancel_raises_nothing(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser)
        page = await context.new_page()  # on the clock phone() installed
        await sign_in(page, c.url)
        finger = await Finger.on(context, page)
        hint = page.locator("#hold-hint")

        # Held 1.5 s: nothing.
        await finger.down()
        await expect(hint).to_have_text("Hold inne …")
        await page.clock.run_for(1500)
        await finger.up()
        await expect(hint).to_contain_text("Sluppet for tidlig")
        await expect(page.get_by_role("button", name="Avbryt")).to_be_hidden()

        # A tap (a click, as a screen reader sends): nothing either.
        await page.get_by_role("button", name="Hold inne for alarm").click()
        await page.clock.run_for(5000)
        await expect(page.get_by_role("button", name="Avbryt")).to_be_hidden()

        # Held 2.1 s: the cancel window; "Avbryt" after 2 s of it: nothing.
        await finger.down()
        await page.clock.run_for(2100)
        await expect(page.locator("#countdown-text")).to_have_text("Alarmen sendes om 3 s")
        await finger.up()
        await page.clock.run_for(2000)
        await expect(page.locator("#countdown-text")).to_have_text("Alarmen sendes om 1 s")
        await page.get_by_role("button", name="Avbryt").click()
        await expect(hint).to_have_text("Avbrutt – ingen alarm er sendt.")
        # Long after the window would have closed, still nothing: not sent, not kept.
        await page.clock.run_for(10000)
        assert await page.evaluate("TryggStore.alarms()") == []
        assert await page.evaluate("TryggStore.get('active')") is None

        # And the control still works: a full hold raises exactly one alarm, the first.
        await finger.down()
        await page.clock.run_for(2100)
        await finger.up()
        await page.clock.run_for(3100)
        await expect(page.locator("#active")).to_be_visible()
        alarm_id = await phone_alarm_id(page)
        await stored(c, alarm_id)
        assert [a["alarm_id"] for a in await mobile_alarms(c)] == [alarm_id]
        await context.close()


async def test_phone_pages_have_no_serious_accessibility_violations(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    axe = Axe()
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser)
        page = await context.new_page()
        problems: list[str] = []

        async def scan(what: str) -> None:
            results = await axe.run(page, options=WCAG)
            assert results.response["passes"], f"axe checked nothing on {what}"
            for violation in results.response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    problems.append(
                        f"{what}: {violation['id']}: {violation['help']} "
                        f"{[n['target'] for n in violation['nodes']][:3]}"
                    )

        await page.goto(f"{c.url}/m")
        await expect(page.get_by_role("button", name="Logg inn")).to_be_visible()
        await scan("login")
        await sign_in(page, c.url)
        await scan("main")
        await hold_to_raise(await Finger.on(context, page))
        await expect(page.locator("#state")).to_have_attribute(
            "data-state", AT_CENTRAL, timeout=15000
        )
        await scan("active alarm")
        await page.goto(f"{c.url}/m?lang=en")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await scan("active alarm, English")
        assert not problems, "\n".join(problems)
        await context.close()


async def test_silent_mode_neither_vibrates_nor_sounds_and_says_silent(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser)
        page = await context.new_page()
        await sign_in(page, c.url)
        await page.get_by_label("Stille alarm").check()
        await hold_to_raise(await Finger.on(context, page))
        await expect(page.get_by_role("heading", name="Bistandsalarm (stille)")).to_be_visible()
        alarm = await stored(c, await phone_alarm_id(page))
        assert alarm["silent"] is True
        assert await page.evaluate("window.buzzes") == []
        # Nothing on the page can make a sound: no audio, no media at all.
        assert await page.locator("audio, video").count() == 0
        await context.close()


async def test_a_revoked_phone_keeps_its_alarm_until_it_is_logged_in_again(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser)
        page = await context.new_page()
        await sign_in(page, c.url)
        token = (await page.evaluate("TryggStore.get('session')"))["token"]
        async with c.client(Role.ADMIN) as admin:
            revoked = await admin.post(
                f"/admin/tokens/{rows.token_id_of(token)}/revoke",
                headers={"X-CSRF-Token": c.csrf_for(c.sessions[Role.ADMIN])},
            )
        assert revoked.status_code == 303, revoked.text
        await hold(await Finger.on(context, page))
        await page.clock.run_for(CANCEL_MS + 100)  # the window passes: the alarm is sent
        # Central refuses the old credential: the phone asks for a login and keeps the alarm.
        await expect(page.get_by_text("Telefonen er ikke lenger innlogget")).to_be_visible()
        pending = await page.evaluate("TryggStore.pending()")
        assert len(pending) == 1, pending
        assert await mobile_alarms(c) == []
        await page.get_by_label("Brukernavn").fill(RAISER)
        await page.get_by_label("Passord").fill(PASSWORD)
        await page.get_by_role("button", name="Logg inn").click()
        alarm = await stored(c, pending[0]["alarm_id"])
        assert alarm["raised_by"] == RAISER
        await expect(page.locator("#active")).to_be_visible()
        await expect(page.locator("#state")).to_have_attribute(
            "data-state", AT_CENTRAL, timeout=15000
        )
        await context.close()


async def test_at_200_percent_text_the_controls_fit_a_phone(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    """The browser's text size at 200 %: nothing runs off the side, the alarm control is whole
    on the screen and every control is at least 44 px high (a thumb)."""
    async with console(broker, tmp_path) as c:
        context = await phone(playwright, browser)
        page = await context.new_page()
        await sign_in(page, c.url)
        # As the browser's text size setting does: the root font size, which every rem follows.
        await page.evaluate("document.documentElement.style.fontSize = '200%'")
        width = await page.evaluate("document.documentElement.clientWidth")
        wide = await page.evaluate(WIDER_THAN_SCREEN)
        assert not wide, wide
        hold = await page.get_by_role("button", name="Hold inne for alarm").bounding_box()
        assert hold is not None
        assert hold["x"] >= 0
        assert hold["x"] + hold["width"] <= width
        assert hold["height"] >= 200, hold
        # Its words stay inside it.
        words = await page.locator("#hold .hold-text").bounding_box()
        assert words is not None
        assert hold["y"] < words["y"], (hold, words)
        assert words["y"] + words["height"] < hold["y"] + hold["height"], (hold, words)
        for control in ("Bistand", "Akutt"):
            box = await page.locator("label.level", has_text=control).bounding_box()
            assert box is not None, control
            assert box["height"] >= 44, (control, box)
            assert box["x"] + box["width"] <= width, (control, box)
        await page.screenshot(path=str(tmp_path / "mobile-200.png"), full_page=True)
        await context.close()


async def test_the_shell_manifest_and_worker(broker: Broker, tmp_path: Path) -> None:
    """What a phone fetches before any script runs: the shell in bokmål (English when asked
    or when the browser prefers it), no inline code allowed; the manifest to install it; the
    worker, allowed to control /m itself."""
    async with (
        console(broker, tmp_path) as c,
        httpx.AsyncClient(base_url=c.url, timeout=10) as client,
    ):
        shell = await client.get("/m")
        assert shell.status_code == 200
        assert '<html lang="nb">' in shell.text
        assert "Hold inne for alarm" in shell.text
        policy = shell.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy
        assert 'name="csrf-token"' in shell.text
        english = await client.get("/m", headers={"Accept-Language": "en-GB,en;q=0.8"})
        assert '<html lang="en">' in english.text
        assert "Hold for alarm" in english.text
        chosen = await client.get("/m?lang=en", headers={"Accept-Language": "nb-NO"})
        assert '<html lang="en">' in chosen.text
        assert chosen.cookies.get("trygg_lang") == "en"

        manifest = await client.get("/m/manifest.webmanifest")
        assert manifest.headers["content-type"].startswith("application/manifest+json")
        found = manifest.json()
        assert found["start_url"] == "/m"
        assert found["scope"] == "/m"
        assert found["display"] == "standalone"
        sizes = set()
        for icon in found["icons"]:
            image = await client.get(icon["src"])
            assert image.status_code == 200, icon
            if icon["type"] == "image/png":
                with Image.open(io.BytesIO(image.content)) as png:
                    assert f"{png.width}x{png.height}" == icon["sizes"], icon
                sizes.add(icon["sizes"])
        assert {"192x192", "512x512"} <= sizes

        worker = await client.get("/m/sw.js")
        assert worker.status_code == 200
        assert worker.headers["service-worker-allowed"] == "/m"
        assert worker.headers["content-type"].startswith("text/javascript")
        assert worker.headers["content-security-policy"] == "default-src 'self'"
        assert 'addEventListener("sync"' in worker.text


async def log_in_again(page: Page, user: str) -> None:
    await page.get_by_label("Brukernavn").fill(user)
    await page.get_by_label("Passord").fill(PASSWORD)
    await page.get_by_role("button", name="Logg inn").click()


async def test_another_users_login_leaves_the_raisers_waiting_alarm_unsent(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    """Kari's key is revoked while her alarm waits; Nils logs in on the same phone. The alarm
    is never sent in Nils's name: it waits (the page says whose), Nils may log out, and it goes
    when Kari logs in again."""
    async with console(broker, tmp_path) as c:
        await add_account(c.running, "nils", frozenset({Role.EMPLOYEE}), "Nils Nilsen")
        context = await phone(playwright, browser)
        page = await context.new_page()
        await sign_in(page, c.url)
        token = (await page.evaluate("TryggStore.get('session')"))["token"]
        async with c.client(Role.ADMIN) as admin:
            revoked = await admin.post(
                f"/admin/tokens/{rows.token_id_of(token)}/revoke",
                headers={"X-CSRF-Token": c.csrf_for(c.sessions[Role.ADMIN])},
            )
        assert revoked.status_code == 303, revoked.text
        await hold(await Finger.on(context, page))
        await page.clock.run_for(CANCEL_MS + 100)  # the window passes: the alarm is sent
        await expect(page.get_by_text("Telefonen er ikke lenger innlogget")).to_be_visible()
        [pending] = await page.evaluate("TryggStore.pending()")
        assert pending["user"] == RAISER

        await log_in_again(page, "nils")
        held = page.locator("#held")
        await expect(held).to_be_visible()
        await expect(held).to_contain_text("En alarm fra User-Employee venter")
        await expect(page.locator("#active")).to_be_hidden()
        outcomes = await page.evaluate("TryggStore.flush()")
        assert outcomes == [{"outcome": "held", "alarm_id": pending["alarm_id"], "user": RAISER}]
        assert await mobile_alarms(c) == []
        assert [a["alarm_id"] for a in await page.evaluate("TryggStore.pending()")] == [
            pending["alarm_id"]
        ]

        await page.get_by_role("button", name="Logg ut denne telefonen").click()
        await log_in_again(page, RAISER)
        alarm = await stored(c, pending["alarm_id"])
        assert alarm["raised_by"] == RAISER
        await expect(page.locator("#held")).to_be_hidden()
        await context.close()


async def test_a_refused_alarm_says_so_with_112_and_is_not_sent_again(
    broker: Broker, tmp_path: Path, playwright: Playwright, browser: Browser
) -> None:
    """The account lost its last site after the phone logged in: central refuses (403), and
    the page shows the refusal and the call-112 prompt instead of "sending" for ever."""
    async with console(broker, tmp_path) as c:
        await add_account(c.running, "nils", frozenset({Role.EMPLOYEE}), "Nils Nilsen")
        context = await phone(playwright, browser)
        page = await context.new_page()
        await sign_in(page, c.url, "nils")
        central = c.running.central
        found = await central.read(lambda db: rows.account(db, "nils"))
        assert found is not None
        moved = rows.Account(
            found.user_id, found.name, found.password_hash, found.roles, frozenset()
        )
        await central.write(lambda db: rows.save_account(db, moved, central.clock()))

        await hold_to_raise(await Finger.on(context, page))
        state = page.locator("#state")
        await expect(state).to_have_attribute("data-state", "refused")
        await expect(state).to_have_text("Sentralen avviste alarmen (no_site). Ring 112.")
        await expect(page.locator("#active").get_by_role("link", name="Ring 112")).to_be_visible()
        await expect(page.get_by_role("button", name="Ferdig")).to_be_visible()
        assert await page.evaluate("TryggStore.pending()") == []
        [kept] = await page.evaluate("TryggStore.alarms()")
        assert kept["refused"] == "no_site"
        assert await page.evaluate("TryggStore.flush()") == []  # nothing is sent again
        assert await mobile_alarms(c) == []
        await context.close()
