"""Each agent's own console settings, kept on the server (issue 24: notifications).

`GET /me/settings` answers the saved settings with the defaults filled in; `PUT` replaces
them. The console reads them at sign-in, so they follow the agent to any browser; the
browser's own permission for desktop notifications is still asked there.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field, ValidationError

from router.domain.model import Agent
from router.web.api.models import JsonBody
from router.web.api.routing import DESK, Route


class Notifications(JsonBody):
    sound: bool = Field(True, description="a short tone")
    desktop: bool = Field(False, description="a desktop notification (the browser asks "
                          "for permission once)")
    assigned: bool = Field(True, description="when a conversation is assigned to me "
                           "(auto-assignment, a transfer, a colleague)")
    customer_replies: bool = Field(True, description="when a customer writes in one of "
                                   "my conversations")
    queued: bool = Field(False, description="when a conversation starts waiting in a queue")


class Settings(JsonBody):
    notifications: Notifications = Notifications()


def _read(saved: dict[str, Any]) -> Settings:
    try:
        return Settings.model_validate(saved)
    except ValidationError:  # saved by an older version: what still fits, else defaults
        notes = saved.get("notifications") if isinstance(saved, dict) else None
        fields = Notifications.model_fields
        kept = {k: v for k, v in (notes or {}).items() if k in fields and isinstance(v, bool)}
        return Settings(notifications=Notifications(**kept))


async def get_settings(request: web.Request, agent: Agent) -> dict[str, Any]:
    saved = await request.app[DESK].store.read(lambda tx: tx.agent_settings(agent.id))
    return _read(saved).model_dump()


async def put_settings(request: web.Request, agent: Agent, body: Settings) -> dict[str, Any]:
    desk = request.app[DESK]
    data = body.model_dump()
    await desk.store.write(lambda tx: tx.put_agent_settings(agent.id, data, desk.clock()))
    return data


def routes() -> list[Route]:
    return [
        Route("GET", "/me/settings", get_settings, "Your console settings (notifications)",
              "me", response="AgentSettings"),
        Route("PUT", "/me/settings", put_settings, "Save your console settings", "me",
              body=Settings, response="AgentSettings"),
    ]
