"""Fuzz: every form the console accepts, on a real central over real HTTP, with near-valid and
hostile fields. No input makes a server error, and an input that is refused (4xx) changes
nothing in the record: accounts, alarms, test rounds and the test log are as they were.

The forms are found in the app itself (every POST outside /api/ and /logout), so a new form is
fuzzed without anyone adding it here.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from central.auth.routes import endpoints
from central.core import Role
from tests.fuzz.budget import fuzz
from tests.support.broker import Broker
from tests.web.console import console

TABLES = ("accounts", "desk_tokens", "alarms", "events", "test_runs", "test_checks")
FIELDS = [
    "user",
    "password",
    "next",
    "lang",
    "user_id",
    "name",
    "roles",
    "sites",
    "site",
    "csrf",
    "reason",
    "device",
    "input",
    "round_id",
]
nasty = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            "admin",
            "nb",
            "en",
            "/",
            "//evil.example",
            "javascript:alert(1)",
            "=cmd|' /C calc'!A0",
            "<script>alert(1)</script>",
            "oslo-sentrum",
            "*",
            "x" * 5000,
            "\x00",
            "../../etc/passwd",
            "responder",
            "admin,leader",
        ]
    ),
)
forms = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), nasty, max_size=6)


def record(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The record as rows, read-only (sessions and the like are not part of it)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {
            t: sorted(conn.execute(f"SELECT * FROM {t}"), key=repr) for t in TABLES if t in names
        }
    finally:
        conn.close()


async def test_no_form_input_breaks_the_console_or_changes_the_record_when_refused(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as found:
        app = found.running.server.config.loaded_app.app
        posts = sorted(
            e.path
            for e in endpoints(app)
            if "POST" in e.methods and not e.path.startswith("/api/") and e.path != "/logout"
        )
        assert "/login" in posts, posts
        assert "/admin/users" in posts, posts
        db = Path(found.running.settings.store.path)
        session = found.sessions[Role.ADMIN]
        csrf = found.csrf_for(session)
        failures: list[str] = []
        # One connection for every example (keep-alive); its cookies are reset before each, so
        # every example posts with exactly the admin's session, as a fresh client would.
        http = httpx.Client(base_url=found.url, timeout=10, follow_redirects=False)

        @fuzz
        @example("/login", {"csrf": "ø"}, False, "x")  # was a 500: compare_digest and non-ASCII
        @given(st.sampled_from(posts), forms, st.booleans(), st.sampled_from(["x", str(uuid4())]))
        def one(path: str, form: dict[str, str], with_csrf: bool, fill: str) -> None:
            url = re.sub(r"{\w+}", fill, path)
            data = {**form, **({"csrf": csrf} if with_csrf else {})}
            before = record(db)
            http.cookies.clear()
            http.cookies.set("trygg_session", session)
            answer = http.post(url, data=data)
            if answer.status_code >= 500:
                failures.append(f"POST {url} {data!r} -> {answer.status_code}: {answer.text[:200]}")
            assert answer.status_code < 500, failures[-1]
            if 400 <= answer.status_code < 500:
                assert record(db) == before, f"refused POST {url} {data!r} changed the record"

        try:
            await asyncio.to_thread(one)
        finally:
            await asyncio.to_thread(http.close)
        async with httpx.AsyncClient(base_url=found.url, timeout=10) as client:
            assert (await client.get("/healthz")).status_code == 200  # still serving
