"""Every text of the console is in the catalogue and reaches a person in Norwegian.

Two checks. The catalogue: every message id the console's templates and code name (``_``,
``gettext``, ``N_``) is translated in nb and en, with the same placeholders. The pages: a
real central, signed in as admin (and as other roles, and as nobody) with the language set to
Norwegian, after logins, role changes, revocations, a disabled account, a refused password, an
open and a refused test round: every page's visible text (and its ``aria-label``/``title``)
must hold no English message id left untranslated, no English sentence that is not in the
catalogue at all, and no internal id shown raw (``facility_manager``, ``login_failed``,
``manual_round``). A round that closes by itself is on the audit page, in words.
"""

from __future__ import annotations

import ast
import asyncio
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from string import Formatter
from uuid import UUID, uuid4

import httpx
import polib
import pytest

from central.audit import log as audit_log
from central.core import Role
from central.core.alarms import successor_id
from central.store import accounts as rows
from central.web import wording
from protocol import AlarmLevel, AlarmMessage, AlarmSource, CheckName, CheckResult
from protocol.messages import Health, HeartbeatMessage, SelftestResultMessage
from tests.central.helpers import SITE, until
from tests.support.broker import Broker
from tests.web.console import Console, console, log_in
from trygg_i18n import LANGUAGES, catalogue_path

WEB = Path(__file__).parents[2] / "central" / "web"
_LITERAL = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\)""")


def message_ids() -> set[str]:
    """Every message id of the console: in its templates and in central/web's code."""
    found: set[str] = set()
    for template in (WEB / "templates").glob("*.html"):
        for m in _LITERAL.finditer(template.read_text(encoding="utf-8")):
            found.add(m.group(1) if m.group(1) is not None else m.group(2))
    for source in WEB.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            if name in ("_", "gettext", "N_") and isinstance(first, ast.Constant):
                found.add(str(first.value))
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def _catalogue(language: str) -> dict[str, str]:
    po = polib.pofile(str(catalogue_path(language)))
    return {e.msgid: e.msgstr for e in po.translated_entries() if not e.fuzzy}


def test_the_console_has_texts_and_ids_to_translate() -> None:
    found = message_ids()
    assert {"Audit trail", "Desk tokens", "Facility manager", "Login failed"} <= found
    assert "Too many attempts. Try again in {minutes} minutes." in found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_console_text_is_in_the_catalogue(language: str) -> None:
    translated = _catalogue(language)
    missing = message_ids() - set(translated)
    assert not missing, f"not in {language}: {sorted(missing)}"
    for msgid in message_ids():
        assert _fields(translated[msgid]) == _fields(msgid), msgid


# --- the rendered pages --------------------------------------------------------------------

# English words that are not Norwegian ones: two in one text and it is an English sentence.
_ENGLISH = frozenset(
    {
        *("the", "is", "are", "was", "were", "you", "your", "not", "and", "of", "to", "has"),
        *("have", "been", "this", "that", "with", "on", "no", "may", "must", "only", "an"),
        *("from", "by", "it", "there", "yet", "too", "many", "try", "again", "please", "what"),
        *("who", "when", "nothing", "could", "into", "which"),
    }
)
_SNAKE = re.compile(r"(?<![\w-])[a-z]+(?:_[a-z0-9]+)+(?![\w-])")
_RAW = (
    set(wording.ROLES)
    | set(wording.AUDIT_ACTIONS)
    | set(wording.TEST_KINDS)
    | set(wording.TEST_RESULTS)
    | set(wording.CHAIN_BREAKS)
    | {"raised", "received", "acknowledged", "resolved", "acute", "assist", "coming", "resolve"}
)


class _Texts(HTMLParser):
    """What a person reads: text outside script/style, and aria-label/title/alt/placeholder."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "alt", "placeholder") and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self._hidden:
            self.texts.append(text)


def _pattern(msgid: str) -> re.Pattern[str] | None:
    """A message id with placeholders as a pattern; None if too little of it is fixed text."""
    parts = [literal for literal, _, _, _ in Formatter().parse(msgid)]
    if sum(len(p.strip()) for p in parts) < 8:
        return None
    return re.compile(".+?".join(re.escape(p) for p in parts))


def problems_in(html: str) -> list[str]:
    nb = _catalogue("nb")
    english = {m for m in message_ids() | set(nb) if nb.get(m, m) != m}
    words = {m for m in english if not _fields(m)}
    patterns = [p for m in english if _fields(m) and (p := _pattern(m)) is not None]
    parser = _Texts()
    parser.feed(html)
    found: list[str] = []
    for text in parser.texts:
        lowered = set(re.findall(r"[a-z']+", text.lower()))
        if (
            text in words
            or (any(" " in w and re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text) for w in words))
            or any(p.search(text) for p in patterns)
        ):
            found.append(f"untranslated: {text!r}")
        elif len(lowered & _ENGLISH) >= 2:
            found.append(f"English: {text!r}")
        elif text in _RAW or _SNAKE.search(text):
            found.append(f"internal id: {text!r}")
    return found


async def _page(client: httpx.AsyncClient, path: str, status: int = 200) -> str:
    answer = await client.get(path)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
    assert "<html" not in answer.text or '<html lang="nb">' in answer.text, path
    return answer.text


def _nb(c: Console, role: Role | None) -> httpx.AsyncClient:
    client = c.client(role)
    client.cookies.set("trygg_lang", "nb")
    return client


async def _post(client: httpx.AsyncClient, c: Console, path: str, **form: object) -> httpx.Response:
    csrf = c.csrf_for(c.sessions[Role.ADMIN])
    return await client.post(path, data={**form, "csrf": csrf})


async def test_every_console_page_is_norwegian(broker: Broker, tmp_path: Path) -> None:
    async with console(broker, tmp_path) as c, _nb(c, Role.ADMIN) as admin:
        assert (await log_in(c.url, "user-leader", "Feil-passord-999")).status_code == 400
        leader_token = rows.token_id_of(c.tokens[Role.LEADER])
        steps: list[tuple[str, dict[str, object]]] = [
            ("/admin/users/user-leader/roles", {"roles": ["leader", "facility_manager"]}),
            (f"/admin/tokens/{rows.token_id_of(c.tokens[Role.RESPONDER])}/revoke", {}),
            ("/admin/users/user-employee/disable", {}),
            ("/tests/rounds", {"site": SITE}),
            ("/tests/rounds", {"site": SITE}),  # refused: one is open
        ]
        for path, form in steps:
            assert (await _post(admin, c, path, **form)).status_code == 303, path
        weak = await _post(
            admin, c, "/admin/users", user_id="ny", name="Ny", password="passord", roles="leader"
        )
        assert weak.status_code == 400
        pages = {"/admin/users (refused)": weak.text}
        for path in (
            "/board",
            "/board/live",
            "/alarms",
            "/devices",
            "/tests",
            "/tests?done=round_started",
            "/tests?done=round_closed:1/2/0",
            "/tests?done=round_refused:a test round is already open at that site",
            "/routines",
            "/admin/users",
            "/admin/users?done=added",
            "/admin/users?done=roles",
            "/admin/users?done=disabled",
            "/admin/users/user-leader/tokens?done=revoked",
            "/audit",
        ):
            pages[path] = await _page(admin, path)
        assert "data-test-round" in pages["/board"]  # the open round's notice is checked
        assert "Testrunde åpen på" in pages["/board"]
        assert leader_token in pages["/admin/users/user-leader/tokens?done=revoked"]
        assert "Mislykket innlogging" in pages["/audit"]
        pages["404 alarm"] = await _page(admin, f"/alarms/{uuid4()}", 404)
        pages["404 path"] = await _page(admin, "/nowhere", 404)
        async with _nb(c, Role.EMPLOYEE) as employee:  # disabled: the login page
            pages["disabled"] = (await employee.get("/routines", follow_redirects=True)).text
        async with _nb(c, Role.SAFETY_REP) as rep:
            pages["safety rep /audit"] = await _page(rep, "/audit")
            pages["403"] = await _page(rep, "/admin/users", 403)
        async with _nb(c, None) as anonymous:
            pages["/login"] = await _page(anonymous, "/login")
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.5")
        async with httpx.AsyncClient(base_url=c.url, transport=transport, timeout=30) as guest:
            guest.cookies.set("trygg_lang", "nb")
            for n in range(30):
                page = await guest.get("/login")
                csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
                assert csrf is not None
                answer = await guest.post(
                    "/login", data={"user": f"x{n}", "password": "Feil-1234567", "csrf": csrf[1]}
                )
                pages[f"login attempt {answer.status_code}"] = answer.text
        assert "login attempt 429" in pages
        assert "login attempt 400" in pages
        assert "For mange forsøk" in pages["login attempt 429"]

        found = {name: problems_in(html) for name, html in pages.items()}
        assert not {name: p for name, p in found.items() if p}, found


def test_the_page_check_finds_english_and_raw_ids() -> None:
    """The check itself: it must catch what it is there to catch."""
    assert problems_in("<p>Audit trail</p>") == ["untranslated: 'Audit trail'"]
    assert problems_in("<p>Too many attempts. Try again in 5 minutes.</p>")
    assert problems_in("<p>the password is too short</p>") == [
        "English: 'the password is too short'"
    ]
    assert problems_in("<td>facility_manager</td>") == ["internal id: 'facility_manager'"]
    assert problems_in("<td>passed</td>") == ["internal id: 'passed'"]
    assert problems_in('<nav aria-label="Main menu"></nav>') == ["untranslated: 'Main menu'"]
    assert problems_in("<p>Revisjonslogg</p><td>user-facility_manager</td>") == []


async def test_a_round_that_closes_by_itself_is_in_the_audit_trail(
    broker: Broker, tmp_path: Path
) -> None:
    sections = {"test_rounds": {"max_duration_s": 1}}
    async with console(broker, tmp_path, sections) as c, _nb(c, Role.ADMIN) as admin:
        assert (await _post(admin, c, "/tests/rounds", site=SITE)).status_code == 303
        expired = c.running.central.testing.rounds.open_at(SITE)
        assert expired is not None
        store = c.running.central.store
        found: list[tuple[str, str, str, str]] = []
        for _ in range(200):  # bounded polling: central's tick closes it after 1 s
            found = [
                (r.actor, r.action, r.target, r.detail)
                for r in await store.read(audit_log.latest)
                if r.action == "round_expired"
            ]
            if found:
                break
            await asyncio.sleep(0.05)
        assert found == [("central", "round_expired", str(expired.round_id), SITE)]
        page = await _page(admin, "/audit")
        assert "Testrunde avsluttet av seg selv (utløpt)" in page
        assert not problems_in(page)


def _button_alarm(alarm_id: UUID | None = None, presses: int = 1, **extra: object) -> AlarmMessage:
    return AlarmMessage.model_validate(
        {
            "site": SITE,
            "device": "rom-101",
            "alarm_id": alarm_id or uuid4(),
            "level": AlarmLevel.ACUTE,
            "room": "Møterom 101",
            "source": AlarmSource.BUTTON,
            "input": "desk",
            "raised_at": datetime.now(UTC),
            "presses": presses,
            **extra,
        }
    )


async def test_the_alarm_timeline_test_log_and_schedules_are_norwegian(
    broker: Broker, tmp_path: Path
) -> None:
    """A real alarm pressed again, answered, resolved and pressed after; one held at start; a
    device self-test that failed, a test alarm with no device, a round, a due round."""
    async with console(broker, tmp_path) as c, _nb(c, Role.ADMIN) as admin:
        central = c.running.central

        def state(alarm_id: UUID) -> str | None:
            view = central.book.get(alarm_id)
            return None if view is None else str(view.state)

        first = _button_alarm()
        central.on_alarm(first)
        await until(lambda: state(first.alarm_id) == "received", what="first stored")
        central.on_alarm(first.model_copy(update={"presses": 2}))
        await until(lambda: central.book.get(first.alarm_id).presses == 2)  # type: ignore[union-attr]
        for answer in ("coming", "resolve"):
            done = await _post(admin, c, f"/alarms/{first.alarm_id}/{answer}")
            assert done.status_code == 303, answer
        await until(lambda: state(first.alarm_id) == "resolved", what="first resolved")
        central.on_alarm(first.model_copy(update={"presses": 3}))
        after = successor_id(first.alarm_id)
        held = _button_alarm(held_at_start=True, input="door")
        central.on_alarm(held)
        for alarm_id in (after, held.alarm_id):

            def received(a: UUID = alarm_id) -> bool:
                return state(a) == "received"

            await until(received, what=f"{alarm_id} stored")

        beat = HeartbeatMessage(
            site=SITE,
            device="rom-101",
            at=datetime.now(UTC),
            interval_s=10,
            health=Health(inputs=("desk", "door")),
        )
        central.on_device(beat)
        await until(lambda: (SITE, "rom-101") in central.testing.known, what="device known")
        [run_id] = await central.testing.run_now("daily-device-selftest", site=SITE)
        result = SelftestResultMessage(
            site=SITE,
            device="rom-101",
            run_id=run_id,
            at=datetime.now(UTC),
            results=(
                CheckResult(name=CheckName.CLOCK, ok=True),
                CheckResult(name=CheckName.BROKER, ok=False, detail="no PUBACK from the broker"),
            ),
        )
        central.on_device(result)
        await central.testing.run_now("monthly-button-round", site=SITE)
        assert (await _post(admin, c, "/tests/rounds", site=SITE)).status_code == 303
        [open_round] = central.testing.rounds.all()
        closed = await _post(admin, c, f"/tests/rounds/{open_round.round_id}/close")
        assert closed.status_code == 303

        async def log() -> str:
            return await _page(admin, "/tests")

        for _ in range(200):  # bounded polling: the self-test's answer is written by the store
            page = await log()
            if "Meldingsformidler: meldingsformidleren bekreftet ikke" in page:
                break
            await asyncio.sleep(0.05)
        pages = {
            "timeline": await _page(admin, f"/alarms/{first.alarm_id}"),
            "successor": await _page(admin, f"/alarms/{after}"),
            "held": await _page(admin, f"/alarms/{held.alarm_id}"),
            "/tests": page,
            "/tests?from": await _page(admin, "/tests?from=01.01.2025&to=2030-12-31"),
            "/routines": await _page(admin, "/routines"),
        }
        timeline = pages["timeline"]
        assert "Akutt alarm fra knapp «desk» i «Møterom 101»" in timeline
        assert "2 trykk i alt" in timeline
        assert "Jeg kommer – User-Admin" in timeline
        assert "Avsluttet – User-Admin" in timeline
        assert f'trykket igjen etter at <a href="/alarms/{first.alarm_id}">' in pages["successor"]
        assert "kontakten var allerede sluttet da enheten startet" in pages["held"]
        log_page = pages["/tests"]
        assert "Meldingsformidler: meldingsformidleren bekreftet ikke" in log_page
        assert "0 testet, 2 ikke testet, 0 feilet" in log_page
        assert "en testrunde av alle knapper skal gjøres nå" in log_page
        assert "Månedlig test av alle alarmknapper – Oslo" in log_page  # overdue, in words
        assert 'placeholder="DD.MM.ÅÅÅÅ"' in log_page
        assert 'lang="nb"' in log_page
        assert 'value="01.01.2025"' in pages["/tests?from"]
        assert "from=2025-01-01T00%3A00%3A00%2B00%3A00" in pages["/tests?from"]
        assert "hver onsdag kl. 07:15" in pages["/routines"]
        found = {name: problems_in(html) for name, html in pages.items()}
        assert not {name: p for name, p in found.items() if p}, found
        csv = await admin.get("/api/tests.csv?from=2025-01-01T00%3A00%3A00%2B00%3A00")
        assert csv.status_code == 200  # the page's export link is one the API takes
