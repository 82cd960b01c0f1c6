"""Screenshots of the web console for ``docs/img``, taken from a running demo.

    python -m firmware_sim.screenshots [--out docs/img] [--workdir DIR]

Starts the demo (what ``trygg-sim demo`` runs), logs in as its admin in Debian's Chromium
driven by Playwright, runs a device self-test and a test round in Bergen so the test log has
something in it, presses two buttons in Oslo (an acute alarm and a call for assistance), waits
for the headless desk to answer, and saves the main pages at laptop size plus the board at
phone size as ``console-*.png``. Last (so the pictures before do not show it) it registers a
meeting with standby in Samtalerom 103, has Kari and Ola confirm it as their desks would (the
API's answer, with their desk tokens), and saves the board with that room on standby
(``console-standby.png``) and the meetings page (``console-meetings.png``); then two drills in
Oslo, answered and resolved, one evaluated, for the drill log (``console-drills.png``,
docs/drills.md). It needs the
``dev`` extra (Playwright) and ``apt-get install chromium``: Playwright's own browser download
is never used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from firmware_sim.actions import pin_action
from firmware_sim.config import DEFAULT_DEMO
from firmware_sim.demo import CONSOLE_USER, Demo
from firmware_sim.errors import SimError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

LAPTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# The same flags the browser tests use: headless, and nothing that calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _until(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    """Bounded polling: the demo's parts come up and answer at their own pace."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SimError(f"gave up waiting for {what}")
        time.sleep(0.3)


def _tap(demo: Demo, device: str, button: str) -> None:
    def tapped() -> bool:
        try:
            pin_action(demo.dir, device, button, "tap")
        except SimError:
            return False  # the edge may still be starting
        return True

    _until(f"{device} to take a press on {button}", tapped)


def _json(page: Page, demo: Demo, path: str) -> Any:
    """Central's JSON API, as the signed-in browser (its session cookie) sees it."""
    return page.request.get(f"{demo.url}{path}").json()


def _csrf(page: Page) -> str:
    return page.locator('meta[name="csrf-token"]').get_attribute("content") or ""


def _log_in(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.url}/login")
    page.get_by_label("Brukernavn").fill(CONSOLE_USER)
    page.get_by_label("Passord").fill(demo.console_password)
    page.get_by_role("button", name="Logg inn").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _prepare(page: Page, demo: Demo) -> str:
    """Fill the console with a morning's work; returns the acute alarm's id."""
    devices = [room.device for _site, room in demo.settings.rooms()]

    def all_online() -> bool:
        listed = _json(page, demo, "/api/devices")["devices"]
        return sorted(d["device"] for d in listed if d["state"] == "online") == sorted(devices)

    _until("every device to come online", all_online)
    page.goto(f"{demo.url}/tests")
    ran = page.request.post(
        f"{demo.url}/api/schedules/daily-device-selftest/run",
        headers={"x-csrf-token": _csrf(page)},
    )
    if not ran.ok:
        raise SimError(f"the self-test did not start: {ran.status} {ran.text()}")

    # A test round in Bergen: three of its seven buttons pressed, the rest left untested.
    def round_open() -> bool:
        rounds = _json(page, demo, "/api/test-rounds?site=bergen")["rounds"]
        return any(r["state"] == "open" for r in rounds)

    page.select_option("#round-site", "bergen")
    page.locator('form[action="/tests/rounds"] button').click()
    _until("the test round to open", round_open)  # else a press would be a real alarm
    for device, button in (("brg-201", "desk"), ("brg-201", "wall"), ("brg-202", "desk")):
        _tap(demo, device, button)

    def ticked() -> bool:
        rounds = _json(page, demo, "/api/test-rounds?site=bergen")["rounds"]
        return any(r["state"] == "open" and len(r["tested"]) >= 3 for r in rounds)

    _until("the test round to count the presses", ticked)
    page.goto(f"{demo.url}/tests")
    page.locator('form[action^="/tests/rounds/"] button').click()
    _until("the test round to close", lambda: not round_open())

    def selftests_done() -> bool:
        runs = _json(page, demo, "/api/tests?kind=device_selftest")["runs"]
        return bool(runs) and all(r["result"] not in ("open", "due") for r in runs)

    _until("the device self-tests to finish", selftests_done)

    # The alarms the board shows: acute in Møterom 101, assistance asked for in 102.
    _tap(demo, "rom-101", "desk")
    _tap(demo, "rom-102", "wall")

    def answered() -> bool:
        alarms = _json(page, demo, "/api/alarms")["alarms"]
        active = [a for a in alarms if a["state"] != "resolved"]
        return len(active) == 2 and all(a["responders"] for a in active)

    _until("the desk to answer both alarms", answered)
    alarms = _json(page, demo, "/api/alarms")["alarms"]
    return str(next(a["alarm_id"] for a in alarms if a["level"] == "acute"))


# The meeting the standby pictures show: under way in Oslo's conversation room, Kari (Oslo) and
# Ola (Bergen, a neighbouring office) asked and confirming.
STANDBY_ROOM = ("oslo-sentrum", "Samtalerom 103")
STANDBY_COLLEAGUES = ("kari", "ola")


def _answer_as(page: Page, demo: Demo, user: str, meeting_id: str) -> None:
    """Confirm standby as ``user``'s desk does: with their bearer token (central takes it
    before the browser's session cookie)."""
    answered = page.request.post(
        f"{demo.url}/api/meetings/{meeting_id}/answer",
        headers={"Authorization": f"Bearer {demo.tokens[user]}"},
        data={"confirm": True},
    )
    if not answered.ok:
        raise SimError(f"{user} could not confirm standby: {answered.status} {answered.text()}")


def _standby(page: Page, demo: Demo) -> None:
    """A meeting under way in ``STANDBY_ROOM`` with every colleague of it confirmed."""
    site, room = STANDBY_ROOM
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    made = page.request.post(
        f"{demo.url}/api/meetings",
        headers={"x-csrf-token": _csrf(page)},
        data={
            "site": site,
            "room": room,
            "start": (now - timedelta(minutes=10)).isoformat(),
            "end": (now + timedelta(minutes=50)).isoformat(),
            "concern": "high",
            "note": "Oppfølging etter avslag; tidligere truende oppførsel",
            "standby": list(STANDBY_COLLEAGUES),
        },
    )
    if not made.ok:
        raise SimError(f"the meeting was not registered: {made.status} {made.text()}")
    meeting_id = str(made.json()["meeting_id"])
    for user in STANDBY_COLLEAGUES:
        _answer_as(page, demo, user, meeting_id)

    def confirmed() -> bool:
        meetings = _json(page, demo, "/api/meetings")["mine"]
        shown = next(m for m in meetings if m["meeting_id"] == meeting_id)
        return len(shown["confirmed"]) == len(STANDBY_COLLEAGUES)

    _until("the colleagues' confirmations", confirmed)


DRILL_SITE = "oslo-sentrum"


def _drill_answered(page: Page, demo: Demo, known: set[str]) -> str:
    """The id of a new drill alarm once the desk has answered it."""
    found: list[str] = []

    def answered() -> bool:
        alarms = _json(page, demo, "/api/alarms")["alarms"]
        found[:] = [
            a["alarm_id"]
            for a in alarms
            if a["drill"] and a["responders"] and a["alarm_id"] not in known
        ]
        return bool(found)

    _until("the desk to answer the drill", answered)
    return found[0]


def _resolve(page: Page, demo: Demo, alarm_id: str) -> None:
    done = page.request.post(
        f"{demo.url}/alarms/{alarm_id}/resolve", headers={"x-csrf-token": _csrf(page)}
    )
    if not done.ok:
        raise SimError(f"the drill {alarm_id} was not resolved: {done.status}")


def _drills(page: Page, demo: Demo) -> None:
    """Two drills in Oslo for the drill log's picture: Møterom 101 in drill mode and a press
    on its wall button, and a drill raised from the console for Samtalerom 103. The desk
    answers both, the console resolves them, and the first gets its evaluation."""
    page.goto(f"{demo.url}/drills")
    mode = page.locator(f'form[data-form="mode-{DRILL_SITE}"]')
    mode.locator("select[name=room]").select_option(label="Møterom 101")
    mode.locator("select[name=scenario]").select_option("truende-bruker")
    mode.locator("button").click()
    page.wait_for_url(lambda url: "done=mode_started" in url)
    _tap(demo, "rom-101", "wall")
    first = _drill_answered(page, demo, set())
    _resolve(page, demo, first)
    page.goto(f"{demo.url}/drills")
    raised = page.locator(f'form[data-form="raise-{DRILL_SITE}"]')
    raised.locator("select[name=room]").select_option(label="Samtalerom 103")
    raised.locator("select[name=scenario]").select_option("vold-pagar")
    raised.locator("button").click()
    page.wait_for_url(lambda url: "done=drill_raised" in url)
    second = _drill_answered(page, demo, {first})
    _resolve(page, demo, second)
    page.goto(f"{demo.url}/drills")
    page.locator(f"#eval-{first}").fill(
        "Gikk bra: hjelp var på vei innen ti sekunder. Husk å holde døra åpen for kollegaen."
    )
    page.locator(f'form[action="/drills/{first}/evaluation"] button').click()
    page.wait_for_url(lambda url: "done=evaluated" in url)
    page.locator('form[action^="/drills/mode/"] button').click()  # drill mode ended
    page.wait_for_url(lambda url: "done=mode_ended" in url)


def _shoot(page: Page, url: str, path: Path, *, full_page: bool = True) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=full_page)
    print(f"wrote {path}", flush=True)


def take(demo: Demo, browser: Browser, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    laptop = browser.new_context(viewport=LAPTOP, locale="nb-NO")
    page = laptop.new_page()
    _log_in(page, demo)
    acute = _prepare(page, demo)
    for name, path in (
        ("board", "/board"),
        ("alarm", f"/alarms/{acute}"),
        ("history", "/alarms"),
        ("devices", "/devices"),
        ("tests", "/tests"),
        ("routines", "/routines"),
    ):
        _shoot(page, f"{demo.url}{path}", out / f"console-{name}.png")
    phone = browser.new_context(  # signed in as the laptop is: the same session cookie
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="nb-NO",
        storage_state=laptop.storage_state(),
    )
    _shoot(phone.new_page(), f"{demo.url}/board", out / "console-board-phone.png", full_page=False)
    _standby(page, demo)
    _shoot(page, f"{demo.url}/board", out / "console-standby.png")
    _shoot(page, f"{demo.url}/meetings", out / "console-meetings.png")
    _drills(page, demo)  # last: the pictures before show no drill
    _shoot(page, f"{demo.url}/drills", out / "console-drills.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m firmware_sim.screenshots", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/img"), help="where to save")
    parser.add_argument("--workdir", type=Path, help="the demo's workdir (default: a temp dir)")
    args = parser.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("needs Playwright: pip install 'trygg[dev]'", file=sys.stderr)
        return 2
    chromium = shutil.which("chromium")
    if chromium is None:
        print("needs Debian's chromium: apt-get install chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="trygg-shots-") as tmp, open(os.devnull, "w") as quiet:
        demo = Demo(DEFAULT_DEMO, args.workdir or Path(tmp), out=quiet)
        try:
            demo.start()
            demo.wait_ready()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                try:
                    take(demo, browser, args.out)
                finally:
                    browser.close()
        except (SimError, TimeoutError) as exc:
            print(f"screenshots failed: {exc} (logs in {demo.dir})", file=sys.stderr)
            return 1
        finally:
            demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
