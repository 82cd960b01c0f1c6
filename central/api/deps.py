"""Dependencies shared by the HTTP routes and the websocket route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from starlette.requests import HTTPConnection

from central.core import Person
from central.service import Central


def get_central(connection: HTTPConnection) -> Central:
    central: Central = connection.app.state.central
    return central


CentralDep = Annotated[Central, Depends(get_central)]


def bearer_token(connection: HTTPConnection) -> str | None:
    """``Authorization: Bearer <token>``, else the ``token`` query parameter (browsers cannot
    set headers on a websocket)."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return connection.query_params.get("token") or None


TokenDep = Annotated[str | None, Depends(bearer_token)]


def person_or_none(central: CentralDep, token: TokenDep) -> Person | None:
    return central.directory.authenticate(token)


def require_person(person: Annotated[Person | None, Depends(person_or_none)]) -> Person:
    if person is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return person


PersonDep = Annotated[Person, Depends(require_person)]
MaybePersonDep = Annotated[Person | None, Depends(person_or_none)]
