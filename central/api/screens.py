"""``GET /ws``: a colleague's screen. Refused before accept (HTTP 403) without a valid token."""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket

from central.api.deps import CentralDep, MaybePersonDep
from central.auth.routes import needs
from central.auth.rules import Action
from central.push.hub import Screen, outlet_for

log = logging.getLogger(__name__)

router = APIRouter()


@router.websocket("/ws", dependencies=[needs(Action.SCREEN)])
async def screen_socket(websocket: WebSocket, central: CentralDep, person: MaybePersonDep) -> None:
    if person is None:
        central.rejected["screen_unauthorized"] += 1
        client = websocket.client.host if websocket.client else "?"
        log.warning("push: refused a screen from %s: no valid token", client)
        await websocket.close(code=1008)  # before accept: the server answers HTTP 403
        return
    await websocket.accept()
    screen = Screen(person, outlet_for(websocket))
    central.screen_joined(screen)
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            said = text if text is not None else message.get("bytes") or b""
            central.screen_said(screen, said)  # a pong is for the screen's liveness only
    finally:
        central.screen_left(screen)
