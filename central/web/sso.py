"""The console's single sign-on routes: ``/sso/login`` sends the browser to the organisation's
provider, ``/sso/callback`` takes it back (central.auth.sso does the work).

Both are public (nobody is signed in yet) and GETs: the start is a plain link on the login
page (a form posting to another site would be stopped by the pages' ``form-action 'self'``,
and starting a flow in someone's browser gains an attacker nothing: the browser that finishes
it must hold the sealed cookie this route sets). The callback always deletes that cookie, so
a flow is used once. A refusal is a page that says why, in the reader's language, with the
status that fits: 403 for a person Trygg will not let in, 400 for a flow that is lost or
forged, 502 when the provider cannot be reached or its answer does not validate, 429 (with
``Retry-After``) when one address has made too many requests (``SignOn.throttled``), before
any work: no flow made, no call to the provider.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.responses import RedirectResponse, Response

from central.auth.flowcookie import COOKIE, LIFETIME
from central.auth.oidc import SignInFailed
from central.auth.routes import needs
from central.auth.rules import Action
from central.auth.service import SESSION_COOKIE
from central.auth.sso import (
    FLOW_LOST,
    FLOW_USED,
    PROVIDER_ERROR,
    STATE_MISMATCH,
    THROTTLED,
    SignedIn,
    SignOn,
)
from central.core.signon import Reason
from central.web.deps import AuthDep, PagesDep, safe_next

router = APIRouter(include_in_schema=False)

_PERSON = {r.value for r in Reason}
_FLOW = {FLOW_LOST, STATE_MISMATCH, FLOW_USED, PROVIDER_ERROR}


def _sign_on(request: Request) -> SignOn:
    found: SignOn | None = getattr(request.app.state, "sso", None)
    if found is None:
        raise HTTPException(404, "Not Found")  # single sign-on is not configured
    return found


def _status(reason: str) -> int:
    if reason in _PERSON:
        return 403
    return 400 if reason in _FLOW else 502


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _held_back(request: Request, pages: PagesDep, sign_on: SignOn) -> Response | None:
    """The 429 page if this address has made too many sign-on requests, else None."""
    wait = sign_on.throttled(_address(request))
    if not wait:
        return None
    minutes = max(1, -(-wait // 60))
    response = pages.render(request, "sso_refused.html", 429, reason=THROTTLED, minutes=minutes)
    response.headers["Retry-After"] = str(wait)
    return response


@router.get("/sso/login", dependencies=[needs(Action.PUBLIC)])
async def sso_login(
    request: Request,
    pages: PagesDep,
    auth: AuthDep,
    next: Annotated[str, Query(max_length=500)] = "/",
) -> Response:
    sign_on = _sign_on(request)
    held = _held_back(request, pages, sign_on)
    if held is not None:
        return held
    redirect_uri = sign_on.settings.redirect_uri  # configured: never from the Host header
    try:
        url, sealed = await sign_on.start(redirect_uri, safe_next(next))
    except SignInFailed as failed:
        return pages.render(request, "sso_refused.html", 502, reason=failed.reason)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        sealed,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",  # the provider's redirect back is a cross-site top-level GET
        secure=auth.settings.secure_cookies,
    )
    return response


@router.get("/sso/callback", dependencies=[needs(Action.PUBLIC)])
async def sso_callback(request: Request, pages: PagesDep, auth: AuthDep) -> Response:
    sign_on = _sign_on(request)
    held = _held_back(request, pages, sign_on)
    if held is not None:
        return held  # the flow's cookie is kept: the person may try again in a while
    answer = {k: v[:2000] for k, v in request.query_params.items() if k in _ANSWER_KEYS}
    outcome = await sign_on.finish(request.cookies.get(COOKIE), answer, _address(request))
    if isinstance(outcome, SignedIn):
        response: Response = RedirectResponse(safe_next(outcome.next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            outcome.session_id,
            max_age=int(auth.settings.session_hours * 3600),
            httponly=True,
            samesite="lax",
            secure=auth.settings.secure_cookies,
        )
    else:
        response = pages.render(
            request,
            "sso_refused.html",
            _status(outcome.reason),
            reason=outcome.reason,
            lost=outcome.lost,
        )
    response.delete_cookie(COOKIE, httponly=True, samesite="lax")
    return response


_ANSWER_KEYS = frozenset({"code", "state", "error", "error_description", "iss"})
