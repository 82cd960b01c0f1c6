"""The console's "connect a desk" page: type the code a desk shows, see what it is, approve.

Why two steps. The code alone must never give a token away: a person could be talked into
typing a stranger's code (the device flow's known phishing risk, RFC 8628 §5.4). So ``POST
/connect`` only looks the code up and shows what would be approved — the desk's name, the
address it asked from and when, whose desk token it gets, with which roles and sites, and for
how long — with a warning to approve only a code on the screen in front of them;
``/connect/approve`` (or ``/deny``) then decides, checked again in the store
(``central.auth.pairing``). When the desk asked from another address than the approver's
browser (another IPv4 address, another IPv6 /64), the page says so and approving needs an
extra tick (``confirm_elsewhere``); without it the approval is refused and nothing changes.
The page never takes a code from its URL (no ``?code=`` prefill): a link with the code
filled in is exactly what a phisher sends. Wrong codes are counted
and throttled per account and address. The page also lists the person's own desk tokens, and
each can be revoked there: the credential a pairing made stays the person's to end.

Every route takes ``Action.SCREEN``: whoever may have a desk that gets alarms may connect one
(SSO or local account alike); its token is theirs, never anybody else's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from starlette.responses import Response

from central.api.deps import CentralDep, PersonDep
from central.auth.pairing import NotFound, Pairings
from central.auth.routes import needs
from central.auth.rules import Action
from central.core.pairing import shown
from central.store import accounts as rows
from central.web.deps import AuthDep, PagesDep, back_to

router = APIRouter(include_in_schema=False)

CODE_FIELD = Annotated[str, Form(max_length=40)]
_STATUS = {"wrong_code": 400, "expired": 410, "used": 409, "throttled": 429, "unconfirmed": 400}


def _pairings(request: Request) -> Pairings:
    found: Pairings = request.app.state.pairings
    return found


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


async def _page(
    request: Request,
    central: CentralDep,
    pages: PagesDep,
    person: PersonDep,
    status_code: int = 200,
    **context: Any,
) -> Response:
    user = person.user_id
    mine = await central.read(lambda db: rows.tokens(db, user))
    context.setdefault("code", "")
    context.setdefault("here", _address(request))  # the approver's browser, as central sees it
    response = pages.render(
        request,
        "connect.html",
        status_code,
        tokens=mine,
        token_days=central.settings.web.token_days,
        **context,
    )
    if status_code == 429:
        response.headers["Retry-After"] = str(max(1, int(context.get("wait_s", 60))))
    return response


@router.get("/connect", dependencies=[needs(Action.SCREEN)])
async def connect_page(
    request: Request,
    central: CentralDep,
    pages: PagesDep,
    person: PersonDep,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The form, always empty: the code is typed from the desk's screen."""
    return await _page(request, central, pages, person, done=done)


def _refused(looked: NotFound) -> dict[str, Any]:
    minutes = max(1, -(-looked.wait_s // 60))
    return {"problem": looked.reason, "minutes": minutes, "wait_s": looked.wait_s}


@router.post("/connect", dependencies=[needs(Action.SCREEN)])
async def look_up(
    request: Request, central: CentralDep, pages: PagesDep, person: PersonDep, code: CODE_FIELD
) -> Response:
    looked = await _pairings(request).look_up(code, person, _address(request))
    if isinstance(looked, NotFound):
        status = _STATUS.get(looked.reason, 400)
        return await _page(request, central, pages, person, status, code=code, **_refused(looked))
    return await _page(request, central, pages, person, code=shown(looked.code), found=looked)


async def _decide(
    request: Request,
    central: CentralDep,
    pages: PagesDep,
    person: PersonDep,
    code: str,
    approve: bool,
    confirmed: bool = False,
) -> Response:
    pairings = _pairings(request)
    decided = await pairings.decide(code, person, approve, _address(request), confirmed)
    if isinstance(decided, NotFound):
        status = _STATUS.get(decided.reason, 400)
        if decided.reason == "unconfirmed":
            again = await pairings.look_up(code, person, _address(request))
            if not isinstance(again, NotFound):
                return await _page(
                    request, central, pages, person, status,
                    code=shown(again.code), found=again, problem=decided.reason,
                )  # fmt: skip
        return await _page(request, central, pages, person, status, code=code, **_refused(decided))
    return back_to("/connect", done="approved" if approve else "denied")


@router.post("/connect/approve", dependencies=[needs(Action.SCREEN)])
async def approve(
    request: Request,
    central: CentralDep,
    pages: PagesDep,
    person: PersonDep,
    code: CODE_FIELD,
    confirm_elsewhere: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    confirmed = confirm_elsewhere == "yes"
    return await _decide(request, central, pages, person, code, True, confirmed)


@router.post("/connect/deny", dependencies=[needs(Action.SCREEN)])
async def deny(
    request: Request, central: CentralDep, pages: PagesDep, person: PersonDep, code: CODE_FIELD
) -> Response:
    return await _decide(request, central, pages, person, code, False)


@router.post("/connect/tokens/{token_id}/revoke", dependencies=[needs(Action.SCREEN)])
async def revoke_own(
    token_id: str, central: CentralDep, person: PersonDep, auth: AuthDep
) -> Response:
    """A person ends one of their own desk tokens (another's is refused, and nothing changes)."""
    user = person.user_id
    if len(token_id) != rows.TOKEN_ID_LENGTH or not all(c in "0123456789abcdef" for c in token_id):
        raise HTTPException(404, "Not Found")
    revoked: list[str] = []

    def write(db: Any) -> None:
        if rows.token_owners(db, token_id) == [user]:
            revoked.extend(rows.revoke_token(db, token_id))

    await central.write(write)
    if not revoked:
        raise HTTPException(404, "Not Found")
    central.record(user, "token_revoked", token_id, f"of {user}")
    await auth.sweep()
    return back_to("/connect", done="revoked")
