"""Every endpoint of the app, flattened, with the action each one declares.

A route says what it needs where it is written: ``dependencies=[needs(Action.RUN_TESTS)]`` on
its decorator (a mount of public files is a :class:`PublicMount`). The guard finds the route a
request will reach and reads that action from it; the endpoint × role test walks the same list.
A route that declares nothing, or two different actions, has no action: the guard refuses it to
everyone and that test fails. (FastAPI nests included routers; this sees through them.)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, params
from starlette.routing import Match, Mount, WebSocketRoute
from starlette.types import Scope

from central.auth.rules import WS, Action


@dataclass(frozen=True, slots=True)
class Needs:
    """A route's permission, as a dependency. The guard has decided before the route runs
    (``central.auth.guard``), so running it does nothing."""

    action: Action

    async def __call__(self) -> None:
        return None


def needs(action: Action) -> params.Depends:
    """For a route decorator: ``@router.get("/tests", dependencies=[needs(Action.READ_TESTS)])``."""
    declared: params.Depends = Depends(Needs(action))
    return declared


class PublicMount(Mount):
    """A mount anyone may fetch from (the console's CSS and scripts): action ``public``."""

    action = Action.PUBLIC


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str  # the route's template, e.g. /api/tests/{run_id}
    methods: frozenset[str]  # HTTP methods, or {"WS"}
    action: Action | None  # what the route declares; None: refused to everyone
    route: Any  # whatever answers ``matches(scope)``

    def matches(self, scope: Scope) -> bool:
        match, _ = self.route.matches(scope)
        return bool(match is Match.FULL)


def _leaves(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        else:
            yield route


def _declared(dependant: Any) -> Iterator[Action]:
    for sub in getattr(dependant, "dependencies", ()):
        if isinstance(sub.call, Needs):
            yield sub.call.action
        yield from _declared(sub)


def action_of(route: Any) -> Action | None:
    """The one action ``route`` declares (its decorator's ``needs``, a mount's class)."""
    original = getattr(route, "original_route", route)
    declared = getattr(original, "action", None)
    if isinstance(declared, Action):
        return declared
    found = set(_declared(getattr(original, "dependant", None)))
    return found.pop() if len(found) == 1 else None


def endpoints(app: Any) -> list[Endpoint]:
    found = []
    for route in _leaves(list(app.router.routes)):
        original = getattr(route, "original_route", route)
        if isinstance(original, Mount):
            methods = frozenset({"GET"})
        elif isinstance(original, WebSocketRoute) or not getattr(original, "methods", None):
            methods = frozenset({WS})
        else:
            methods = frozenset(original.methods) - {"HEAD"}
        path = getattr(route, "path", "") or getattr(original, "path", "")
        found.append(Endpoint(str(path), methods, action_of(route), route))
    return found


def endpoint_for(app: Any, scope: Scope) -> Endpoint | None:
    """The endpoint the router will hand ``scope`` to (routes are tried in order)."""
    cached: list[Endpoint] | None = getattr(app.state, "endpoints", None)
    if cached is None:
        cached = endpoints(app)
        app.state.endpoints = cached
    return next((e for e in cached if e.matches(scope)), None)
