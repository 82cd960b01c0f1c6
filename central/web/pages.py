"""Logging in and out, the language, the home page, account administration (disable, desk
tokens) and the audit trail's page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from central.api.deps import CentralDep, PersonDep
from central.audit import log as audit_log
from central.audit.sites import sees_whole_trail, shown_to
from central.auth.passwords import WeakPassword, hash_password
from central.auth.routes import needs
from central.auth.rules import Action, allowed, manages
from central.auth.service import LANGUAGE_COOKIE, SESSION_COOKIE
from central.core import ALL_SITES, Person, Role
from central.store import accounts as rows
from central.web.deps import AuthDep, PagesDep, back_to, safe_next
from trygg_i18n import LANGUAGES

router = APIRouter(include_in_schema=False)


@router.get("/login", dependencies=[needs(Action.PUBLIC)])
async def login_page(request: Request, pages: PagesDep, next: str = "/") -> Response:
    return pages.render(request, "login.html", next=safe_next(next), failed=False)


@router.post("/login", dependencies=[needs(Action.PUBLIC)])
async def login(
    request: Request,
    pages: PagesDep,
    auth: AuthDep,
    user: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    address = request.client.host if request.client else "?"
    result = await auth.login(user.strip(), password, address)
    session_id = result.session_id
    if result.wait_s or result.busy:
        minutes = max(1, -(-result.wait_s // 60))
        refused = pages.render(
            request,
            "login.html",
            429,
            next=safe_next(next),
            failed=False,
            throttled=minutes if result.wait_s else 0,
            busy=result.busy,
            user=user,
        )
        refused.headers["Retry-After"] = str(max(result.wait_s, 1))
        return refused
    if session_id is None:
        return pages.render(
            request, "login.html", 400, next=safe_next(next), failed=True, user=user
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(auth.settings.session_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=auth.settings.secure_cookies,
    )
    return response


@router.post("/logout", dependencies=[needs(Action.SIGNED_IN)])
async def logout(request: Request, auth: AuthDep) -> Response:
    state = request.scope.get("state", {})
    session_id = state.get("session_id")
    if session_id:
        person = state.get("person")
        await auth.logout(session_id, person.user_id if person is not None else "?")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language", dependencies=[needs(Action.PUBLIC)])
async def language(
    lang: Annotated[str, Form(max_length=5)], next: Annotated[str, Form(max_length=500)] = "/"
) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/", dependencies=[needs(Action.SIGNED_IN)])
async def home(person: PersonDep) -> Response:
    """The board for those who may see it; every employee lands on the routines."""
    return back_to("/board" if allowed(person, Action.VIEW_BOARD) else "/routines")


# --- accounts (admin) ----------------------------------------------------------------------


@router.get("/admin/users", dependencies=[needs(Action.MANAGE_ACCOUNTS)])
async def users_page(
    request: Request, central: CentralDep, pages: PagesDep, done: str = ""
) -> Response:
    return await _users(request, central, pages, done=done)


async def _users(
    request: Request, central: CentralDep, pages: PagesDep, status_code: int = 200, **context: str
) -> Response:
    """The accounts page, showing only the accounts (and sites) this admin manages."""
    admin = _admin(request)
    found = [a for a in await central.read(rows.accounts) if manages(admin, a.sites)]
    return pages.render(
        request,
        "users.html",
        status_code,
        accounts=found,
        config_users=[u for u in central.settings.users if manages(admin, frozenset(u.sites))],
        roles=list(Role),
        sites=central.sites_of(admin),
        everywhere=admin.everywhere,
        **context,
    )


def _roles(values: list[str]) -> frozenset[Role]:
    return frozenset(Role(v) for v in values if v in set(Role))


@router.post("/admin/users", dependencies=[needs(Action.MANAGE_ACCOUNTS)])
async def add_user(
    request: Request,
    central: CentralDep,
    pages: PagesDep,
    user_id: Annotated[str, Form(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$")],
    name: Annotated[str, Form(min_length=1, max_length=120)],
    password: Annotated[str, Form(max_length=256)],
    roles: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI copies defaults
    sites: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    known = {s.id for s in central.settings.sites} | {ALL_SITES}
    problem = ""
    if any(u.id == user_id for u in central.settings.users):
        problem = "that id is a user of the configuration file"
    elif await central.read(lambda db: rows.account(db, user_id)) is not None:
        problem = "an account with that id exists"
    elif not _roles(roles) or not [s for s in sites if s in known]:
        problem = "choose at least one role and one site"
    elif not manages(_admin(request), sites):
        problem = "you may only add accounts for your own sites"
    if not problem:
        try:
            hashed = hash_password(password, user_id, name)
        except WeakPassword as exc:
            problem = str(exc)
    if problem:
        return await _users(request, central, pages, 400, problem=problem, done="")
    account = rows.Account(
        user_id, name.strip(), hashed, _roles(roles), frozenset(s for s in sites if s in known)
    )
    now = central.clock()
    await central.write(lambda db: rows.save_account(db, account, now))
    central.record(
        _actor(request), "account_added", user_id, f"roles={','.join(sorted(account.roles))}"
    )
    return back_to("/admin/users", done="added")


NOT_YOURS = "that account belongs to a site you do not manage"


def _admin(request: Request) -> Person:
    person: Person | None = request.scope.get("state", {}).get("person")
    if person is None:  # the guard lets no one here without an account
        raise HTTPException(401, "not signed in")
    return person


async def _managed(request: Request, central: CentralDep, user_id: str) -> rows.Account | None:
    """The database account ``user_id`` if it exists; refused (403) if it is another site's."""
    found: rows.Account | None = await central.read(lambda db: rows.account(db, user_id))
    if found is not None and not manages(_admin(request), found.sites):
        raise HTTPException(403, NOT_YOURS)
    return found


def _actor(request: Request) -> str:
    person = request.scope.get("state", {}).get("person")
    return str(person.user_id) if person is not None else "?"


@router.post("/admin/users/{user_id}/roles", dependencies=[needs(Action.MANAGE_ACCOUNTS)])
async def set_roles(
    request: Request,
    user_id: str,
    central: CentralDep,
    auth: AuthDep,
    roles: Annotated[list[str], Form()] = [],  # noqa: B006
) -> Response:
    """New roles take effect now: sessions end and open sockets are closed (they reconnect)."""
    found = await _managed(request, central, user_id)
    chosen = _roles(roles)
    if found is None or not chosen:
        return back_to("/admin/users", done="unchanged")
    changed = rows.Account(
        found.user_id, found.name, found.password_hash, chosen, found.sites, found.disabled
    )
    now = central.clock()

    def write(db: object) -> None:
        rows.save_account(db, changed, now)  # type: ignore[arg-type]
        rows.end_sessions_of(db, user_id)  # type: ignore[arg-type]

    await central.write(write)
    central.record(_actor(request), "roles_changed", user_id, ",".join(sorted(chosen)))
    await auth.sweep()
    return back_to("/admin/users", done="roles")


@router.post("/admin/users/{user_id}/disable", dependencies=[needs(Action.MANAGE_ACCOUNTS)])
async def disable_user(
    request: Request, user_id: str, central: CentralDep, auth: AuthDep
) -> Response:
    """The account can no longer log in; its sessions, tokens and open sockets end now."""
    found = await _managed(request, central, user_id)
    if found is None:
        return back_to("/admin/users", done="unchanged")
    now = central.clock()
    await central.write(lambda db: rows.disable(db, found, now))
    central.record(_actor(request), "user_disabled", user_id)
    await auth.sweep()
    return back_to("/admin/users", done="disabled")


@router.get("/admin/users/{user_id}/tokens", dependencies=[needs(Action.MANAGE_ACCOUNTS)])
async def tokens_page(
    request: Request, user_id: str, central: CentralDep, pages: PagesDep, done: str = ""
) -> Response:
    await _managed(request, central, user_id)
    found = await central.read(lambda db: rows.tokens(db, user_id))
    return pages.render(request, "tokens.html", user_id=user_id, tokens=found, done=done)


@router.post("/admin/tokens/{token_id}/revoke", dependencies=[needs(Action.MANAGE_ACCOUNTS)])
async def revoke_token(
    request: Request, token_id: str, central: CentralDep, auth: AuthDep
) -> Response:
    """Revoked only if every account holding a token of this id is one this admin manages
    (checked in the same write, so the check and the revocation see the same tokens)."""
    admin = _admin(request)
    users: list[str] = []
    refused: list[str] = []

    def write(db: Any) -> None:
        for owner in rows.token_owners(db, token_id):
            account = rows.account(db, owner)
            if not manages(admin, account.sites if account else frozenset({ALL_SITES})):
                refused.append(owner)
        if not refused:
            users.extend(rows.revoke_token(db, token_id))

    await central.write(write)
    if refused:
        raise HTTPException(403, NOT_YOURS)
    if not users:
        return back_to("/admin/users", done="unchanged")
    central.record(_actor(request), "token_revoked", token_id, f"of {users[0]}")
    await auth.sweep()
    return back_to(f"/admin/users/{users[0]}/tokens", done="revoked")


AUDIT_ROWS = 500


@router.get("/audit", dependencies=[needs(Action.READ_AUDIT)])
async def audit_page(
    request: Request, central: CentralDep, person: PersonDep, pages: PagesDep
) -> Response:
    """The newest rows of the audit trail, and whether the chain holds. A safety
    representative of some sites reads the rows of those sites (central.audit.sites); an
    admin, or whoever covers every site, reads every row."""
    whole = sees_whole_trail(person)
    limit = AUDIT_ROWS if whole else AUDIT_ROWS * 10  # most rows are other sites'
    found = await central.read(lambda db: audit_log.latest(db, limit))
    found = shown_to(person, found)[:AUDIT_ROWS]
    broken = await central.read(audit_log.check)
    return pages.render(request, "audit.html", rows=found, broken=broken, whole=whole)
