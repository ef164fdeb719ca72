"""The API's route table and the one wrapper every handler runs in.

A `Route` says everything about an endpoint once: method, path, role, body and query
models. The aiohttp routes *and* the OpenAPI document are both generated from the same
table, so the document cannot drift from what is served. The wrapper authenticates the
bearer token, checks the role, validates input with pydantic, and turns every refusal
into the project's JSON error body.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from router.domain.agent_errors import ActionRejected, ConflictError, Forbidden, NotFoundError
from router.domain.model import Agent, Role
from router.engine.agents import auth
from router.engine.agents.desk import Desk
from router.web.api import bounds
from router.web.api.hooks import SESSION_AUTH
from router.web.http_errors import json_error, read_json

log = logging.getLogger(__name__)

DESK = web.AppKey("desk", Desk)
Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # relative to /api/v1
    handler: Handler
    summary: str
    tag: str
    admin: bool = False
    auth: bool = True
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: str = "Object"  # a schema name in router.web.api.openapi.SCHEMAS
    status: int = 200
    websocket: bool = False
    # what a 2xx answer can be; anything but JSON is documented as a string (a file)
    media: tuple[str, ...] = ("application/json",)
    # a body the handler reads itself (a file upload, issue 24): its media types
    raw_body: tuple[str, ...] = ()
    # error statuses beyond 400/401/403/404/409 the route answers (413, 415)
    errors: tuple[int, ...] = ()


def bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.query.get("access_token", "")  # browsers cannot set WebSocket headers


async def current_agent(request: web.Request) -> Agent | web.Response:
    """The token's (or console session's) agent, or the 401/403 response to send (never
    says which check failed)."""
    token = bearer(request)
    if not token:
        # --- console (issue 7): the console's session cookie (+ CSRF header) instead ---
        session_auth = request.app.get(SESSION_AUTH)
        found = await session_auth(request) if session_auth is not None else None
        if found is not None:
            return found
        # --- end console ---
        return json_error(401, "unauthorized", "send 'Authorization: Bearer <token>'; "
                          "make one with `inquiry-router agents token NAME`")
    agent = await request.app[DESK].store.read(lambda tx: auth.authenticate(tx, token))
    if agent is None:
        return json_error(401, "unauthorized", "the token is wrong, revoked or its agent disabled")
    return agent


def _parse(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or where
        raise ActionRejected(f"{where}.{loc}: {first['msg']}") from None
    for name in type(parsed).model_fields:
        problem = bounds.problem(getattr(parsed, name))
        if problem:
            raise ActionRejected(f"{where}.{name}: {problem}")
    return parsed


def _query(request: web.Request) -> dict[str, str]:
    """The query string as one value per name; a name given twice is refused rather
    than read as one of its values (`?contact_id=1&contact_id=2` is no single id)."""
    found: dict[str, str] = {}
    for name, value in request.query.items():
        if name in found:
            raise ActionRejected(f"query.{name}: given more than once")
        found[name] = value
    return found


def wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        kwargs: dict[str, Any] = {}
        if route.auth:
            agent = await current_agent(request)
            if isinstance(agent, web.Response):
                return agent
            if route.admin and agent.role != Role.ADMIN:
                return json_error(403, "forbidden", f"'{route.method} {route.path}' is for admins")
            kwargs["agent"] = agent
        try:
            if route.body is not None:
                data = await read_json(request) if request.body_exists else {}
                kwargs["body"] = _parse(route.body, data, "body")
            if route.query is not None:
                kwargs["query"] = _parse(route.query, _query(request), "query")
            result = await route.handler(request, **kwargs)
        except ActionRejected as exc:
            return json_error(400, "invalid", str(exc))
        except Forbidden as exc:
            return json_error(403, "forbidden", str(exc))
        except NotFoundError as exc:
            return json_error(404, "not_found", str(exc))
        except ConflictError as exc:
            return json_error(409, "conflict", str(exc))
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response(result, status=route.status)

    handle.__name__ = route.handler.__name__
    return handle


def path_int(request: web.Request, name: str = "id") -> int:
    try:
        value = int(request.match_info[name])
    except ValueError:
        raise ActionRejected(f"path.{name}: expected an integer") from None
    problem = bounds.problem(value)
    if problem:
        raise ActionRejected(f"path.{name}: {problem}")
    return value


def add_routes(app: web.Application, routes: list[Route]) -> None:
    for route in routes:
        app.router.add_route(route.method, route.path, wrap(route))
