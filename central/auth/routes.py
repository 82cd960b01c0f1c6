"""Every endpoint of the app, flattened: what the guard matches requests against, and what
the endpoint × role test walks. (FastAPI nests included routers; this sees through them.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.routing import Match, Mount, WebSocketRoute
from starlette.types import Scope

from central.auth.rules import WS


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str  # the route's template, e.g. /api/tests/{run_id}
    methods: frozenset[str]  # HTTP methods, or {"WS"}
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
        found.append(Endpoint(str(path), methods, route))
    return found


def endpoint_for(app: Any, scope: Scope) -> Endpoint | None:
    """The endpoint the router will hand ``scope`` to (routes are tried in order)."""
    cached: list[Endpoint] | None = getattr(app.state, "endpoints", None)
    if cached is None:
        cached = endpoints(app)
        app.state.endpoints = cached
    return next((e for e in cached if e.matches(scope)), None)
