"""The desk's side of pairing (protocol.pairing, RFC 8628): start one, then poll for the token.

Both endpoints are public — the desk has no credential yet; that is the point — and take JSON
without a session, like the phone's login (the guard lets exactly these paths through without
a CSRF token, ``NO_SESSION_JSON``; a cross-site page cannot send JSON here without a CORS
preflight nobody answers). What protects them: the device code is 256 random bits and only
its digest is stored; starting is limited per address and in total; a poll faster than the
interval gets ``slow_down``, and an address that polls too much in all gets ``slow_down`` with
429 and ``Retry-After`` (the desk backs off either way); and a token comes out once, for a
pairing a signed-in person approved (``central.auth.pairing``).

``verification_uri_complete`` is the plain ``/connect`` page, with no ``?code=``: a link that
fills the code in is what a phisher would send; the person types the code they see on the
desk in front of them (RFC 8628 §5.4). The field stays, as the wire contract has it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from starlette.responses import JSONResponse, Response

from central.auth.pairing import Busy, Pairings
from central.auth.routes import needs
from central.auth.rules import Action
from central.core.pairing import Poll
from protocol.pairing import (
    PAIRINGS_PATH,
    TOKEN_PATH,
    DeskCredential,
    PairingError,
    PairingRequest,
    PairingStarted,
    TokenRequest,
)

router = APIRouter(tags=["desk pairing"])

_SAID = {
    Poll.PENDING: "nobody has approved the code yet",
    Poll.SLOW_DOWN: "polling too fast: wait five seconds longer between polls",
    Poll.DENIED: "the person at the console refused this desk",
    Poll.EXPIRED: "the code expired or was used; start again",
}


def _pairings(request: Request) -> Pairings:
    found: Pairings = request.app.state.pairings
    return found


def _address(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.post(PAIRINGS_PATH, dependencies=[needs(Action.PUBLIC)], status_code=201)
async def start_pairing(request: Request, body: PairingRequest) -> Response:
    begun = await _pairings(request).begin(body.label, _address(request))
    if isinstance(begun, Busy):
        return JSONResponse(
            {"detail": "too many pairings; try again later"},
            status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": str(begun.wait_s)},
        )
    page = str(request.url_for("connect_page"))
    started = PairingStarted(
        device_code=begun.device_code,
        user_code=begun.user_code,
        verification_uri=page,
        verification_uri_complete=page,  # never with ?code= (see above)
        expires_in=begun.expires_in,
        interval=begun.interval,
    )
    return JSONResponse(started.model_dump(), 201, headers={"Cache-Control": "no-store"})


@router.post(TOKEN_PATH, dependencies=[needs(Action.PUBLIC)])
async def poll_pairing(request: Request, body: TokenRequest) -> Response:
    polled = await _pairings(request).poll(body.device_code, _address(request))
    if isinstance(polled, Busy):
        said = PairingError(error=Poll.SLOW_DOWN.value, error_description=_SAID[Poll.SLOW_DOWN])
        headers = {"Cache-Control": "no-store", "Retry-After": str(polled.wait_s)}
        return JSONResponse(said.model_dump(), status.HTTP_429_TOO_MANY_REQUESTS, headers=headers)
    answer, issued = polled
    if issued is None:
        code = Poll.EXPIRED if answer is Poll.DELIVER else answer  # DELIVER always issues
        error = PairingError(error=code.value, error_description=_SAID[code])
        return JSONResponse(error.model_dump(), 400, headers={"Cache-Control": "no-store"})
    credential = DeskCredential(
        token=issued.token,
        token_id=issued.token_id,
        user=issued.user_id,
        expires_at=issued.expires_at,
    )
    return JSONResponse(
        credential.model_dump(mode="json"), 200, headers={"Cache-Control": "no-store"}
    )
