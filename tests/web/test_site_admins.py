"""An admin of some sites manages only the accounts of those sites (issue 10, item 13).

Real central, real sessions and desk tokens: an admin of Oslo may list the tokens of, revoke,
change the roles of and disable an Oslo account, and is refused (403, nothing changed) for a
Bergen account and for an account of every site (a desk token is refused there for any
account: a token is no login); the accounts page lists only Oslo's; an admin of every site
may do it all.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from central.auth.passwords import hash_password
from central.core import Role
from central.store import accounts as rows
from tests.central.helpers import OTHER_SITE, SITE
from tests.support.broker import Broker
from tests.web.console import PASSWORD, Console, console, log_in

TOKENS = {"oslo-resp": "oslo-resp-token-3b7e1c9a5d2f", "bergen-resp": "bergen-token-8f2a6c4e1b9d"}
ADMIN_TOKEN = "oslo-admin-token-6d1f9b3e7a5c"


async def _account(c: Console, user_id: str, roles: set[Role], site: str, token: str) -> None:
    central = c.running.central
    now = central.clock()
    found = rows.Account(
        user_id, user_id, hash_password(PASSWORD), frozenset(roles), frozenset({site})
    )

    def write(db: object) -> None:
        rows.save_account(db, found, now)  # type: ignore[arg-type]
        rows.add_token(db, user_id, token, "test", now)  # type: ignore[arg-type]

    await central.store.submit(write)


async def _works(c: Console, token: str) -> bool:
    async with httpx.AsyncClient(base_url=c.url, timeout=10) as client:
        answer = await client.get("/api/alarms", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code == 200


async def test_an_admin_of_one_site_manages_only_its_accounts(
    broker: Broker, tmp_path: Path
) -> None:
    async with console(broker, tmp_path) as c:
        await _account(c, "oslo-admin", {Role.ADMIN}, SITE, ADMIN_TOKEN)
        await _account(c, "oslo-resp", {Role.RESPONDER}, SITE, TOKENS["oslo-resp"])
        await _account(c, "bergen-resp", {Role.RESPONDER}, OTHER_SITE, TOKENS["bergen-resp"])
        session = (await log_in(c.url, "oslo-admin")).cookies["trygg_session"]
        csrf = {"csrf": c.csrf_for(session)}
        bergen_token = rows.token_id_of(TOKENS["bergen-resp"])
        async with httpx.AsyncClient(
            base_url=c.url, cookies={"trygg_session": session}, timeout=10
        ) as oslo:
            listed = (await oslo.get("/admin/users")).text
            assert "oslo-resp" in listed
            assert "bergen-resp" not in listed
            assert "user-leader" not in listed
            for target in ("bergen-resp", "user-leader"):  # another site; every site
                tokens = await oslo.get(f"/admin/users/{target}/tokens")
                assert tokens.status_code == 403, target
                roles = await oslo.post(
                    f"/admin/users/{target}/roles", data={**csrf, "roles": "admin"}
                )
                assert roles.status_code == 403, target
                disabled = await oslo.post(f"/admin/users/{target}/disable", data=csrf)
                assert disabled.status_code == 403, target
            revoked = await oslo.post(f"/admin/tokens/{bergen_token}/revoke", data=csrf)
            assert revoked.status_code == 403
            assert await _works(c, TOKENS["bergen-resp"])
            assert await _works(c, c.tokens[Role.LEADER])
            bergen = await c.running.central.store.read(lambda db: rows.account(db, "bergen-resp"))
            leader = await c.running.central.store.read(lambda db: rows.account(db, "user-leader"))
            assert bergen is not None
            assert bergen.roles == {Role.RESPONDER}
            assert not bergen.disabled
            assert leader is not None
            assert leader.roles == {Role.LEADER}
            assert not leader.disabled
            assert (await log_in(c.url, "bergen-resp")).status_code == 303

            # Their own site's account: all of it.
            oslo_token = rows.token_id_of(TOKENS["oslo-resp"])
            page = await oslo.get("/admin/users/oslo-resp/tokens")
            assert page.status_code == 200
            assert oslo_token in page.text
            assert (await oslo.post(f"/admin/tokens/{oslo_token}/revoke", data=csrf)).is_redirect
            assert not await _works(c, TOKENS["oslo-resp"])
            roles = await oslo.post(
                "/admin/users/oslo-resp/roles", data={**csrf, "roles": "leader"}
            )
            assert roles.status_code == 303
            assert (await oslo.post("/admin/users/oslo-resp/disable", data=csrf)).is_redirect
            assert (await log_in(c.url, "oslo-resp")).status_code == 400

        # The same routes with the Oslo admin's desk token: a token is no login, so account
        # management refuses it whatever the site (central.auth.guard); nothing changes.
        bearer = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        async with httpx.AsyncClient(base_url=c.url, headers=bearer, timeout=10) as api:
            assert (await api.post("/admin/users/bergen-resp/disable")).status_code == 403
            assert (await api.get("/admin/users/bergen-resp/tokens")).status_code == 403
        assert (await log_in(c.url, "bergen-resp")).status_code == 303

        # An admin of every site may.
        async with c.client(Role.ADMIN) as everywhere:
            csrf = {"csrf": c.csrf_for(c.sessions[Role.ADMIN])}
            assert "bergen-resp" in (await everywhere.get("/admin/users")).text
            revoked = await everywhere.post(f"/admin/tokens/{bergen_token}/revoke", data=csrf)
            assert revoked.status_code == 303
            assert not await _works(c, TOKENS["bergen-resp"])
            disabled = await everywhere.post("/admin/users/bergen-resp/disable", data=csrf)
            assert disabled.status_code == 303
        assert (await log_in(c.url, "bergen-resp")).status_code == 400
