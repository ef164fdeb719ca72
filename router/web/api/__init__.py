"""The agents' HTTP JSON API under /api/v1, mounted as an aiohttp sub-application.

`create_api` builds the route table once and derives both the aiohttp routes and the
OpenAPI document from it. Every route but `/openapi.json` needs a bearer token.
"""

from __future__ import annotations

import weakref
from typing import Any

from aiohttp import web

from router.engine.agents.desk import Desk
from router.web.api import (
    agent_settings,
    assist,
    audit,
    contacts,
    conversations,
    faq,
    files,
    macros,
    people,
    presence,
    reports,
    search,
    stream,
)
from router.web.api.openapi import build_document
from router.web.api.routing import DESK, Route, add_routes

PREFIX = "/api/v1"
ROUTES = web.AppKey("routes", list[Route])


def api_routes() -> list[Route]:
    return [*conversations.routes(), *people.routes(), *stream.routes(),
            *assist.routes(),  # console (issue 7)
            *reports.routes(),  # reports and privacy (issue 13)
            *faq.routes(),  # FAQ suggestions (issue 20)
            *audit.routes(),  # the audit log (issue 29)
            *contacts.routes(), *macros.routes(),  # contacts and macros (issue 24)
            *search.routes(),  # search and views (issue 24)
            *files.routes(), *presence.routes(),  # attachments, collisions (issue 24)
            *agent_settings.routes()]  # notification settings (issue 24)


def create_api(desk: Desk, *, title: str = "Inquiry Router", version: str = "1") -> web.Application:
    app = web.Application()
    app[DESK] = desk
    app[stream.SOCKETS] = weakref.WeakSet()
    app[presence.BOARD] = presence.Board()  # issue 24: who views or types where
    document: dict[str, Any] = {}

    async def openapi(request: web.Request) -> dict[str, Any]:
        return document

    table = [*api_routes(), Route("GET", "/openapi.json", openapi, "This document", "meta",
                                  auth=False, response="Object")]
    document.update(build_document(table, title=title, version=version))
    add_routes(app, table)
    app[ROUTES] = table
    app.on_shutdown.append(stream.close_all)
    return app
