"""Endpoints for the people around conversations: me, agents and queues (contacts:
router/web/api/contacts.py)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from router.domain.agent_errors import ConflictError
from router.domain.model import Agent, Event, Role
from router.engine import audit
from router.engine.agents import auth
from router.store.base import Tx
from router.web.api import serialize as js
from router.web.api.models import JsonBody
from router.web.api.routing import DESK, Route


class PresenceBody(JsonBody):
    online: bool


class AgentBody(JsonBody):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    display_name: str = ""
    email: str = ""
    role: Literal["admin", "agent"] = "agent"
    languages: list[str] = []
    capacity: int = Field(5, ge=1, le=1000)


class TokenBody(JsonBody):
    label: str = Field("", max_length=200)


async def me(request: web.Request, agent: Agent) -> dict[str, Any]:
    loads = await request.app[DESK].store.read(lambda tx: tx.agent_loads())
    return js.agent(agent, loads.get(agent.name, 0))


async def presence(request: web.Request, agent: Agent, body: PresenceBody) -> dict[str, Any]:
    await request.app[DESK].set_presence(agent.name, body.online)
    return {"name": agent.name, "online": body.online}


async def list_queues(request: web.Request, agent: Agent) -> dict[str, Any]:
    desk = request.app[DESK]
    counts = {c.queue: c for c in await desk.store.read(lambda tx: tx.queue_counts())}
    now = desk.clock()
    items = []
    for name in sorted(set(desk.policy.queues) | set(counts)):
        q, c = desk.policy.queue(name), counts.get(name)
        oldest = c.oldest_queued_at if c else None
        sla = {"first_response_seconds": q.sla.first_response.total_seconds()
               if q.sla.first_response else None,
               "resolution_seconds": q.sla.resolution.total_seconds() if q.sla.resolution else None,
               "business_hours": q.sla.business_hours}
        items.append({"name": name, "description": q.description, "auto_assign": q.auto_assign,
                      "sla": sla, "waiting": c.waiting if c else 0,
                      "assigned": c.assigned if c else 0, "snoozed": c.snoozed if c else 0,
                      "oldest_waiting_at": js.iso(oldest),
                      "oldest_waiting_seconds": (now - oldest).total_seconds() if oldest else None})
    return {"items": items}


async def list_agents(request: web.Request, agent: Agent) -> dict[str, Any]:
    async def q(tx: Tx) -> dict[str, Any]:
        loads = await tx.agent_loads()
        return {"items": [js.agent(a, loads.get(a.name, 0)) for a in await tx.list_agents()]}
    return await request.app[DESK].store.read(q)


async def create_agent(request: web.Request, agent: Agent, body: AgentBody) -> dict[str, Any]:
    desk = request.app[DESK]
    new = Agent(0, body.name, display_name=body.display_name or body.name, email=body.email,
                role=Role(body.role), languages=body.languages, capacity=body.capacity, source="api")
    by = audit.by_agent(agent, request.remote)

    async def unit(tx: Tx) -> Agent:
        if await tx.get_agent(new.name) is not None:
            raise ConflictError(f"agent '{new.name}' exists")
        await tx.upsert_agent(new, desk.clock())
        await tx.insert_event(Event(0, "agent_added", desk.clock(), None, f"agent:{agent.name}",
                                    {"agent": new.name, "role": str(new.role)}))
        await audit.record(tx, by, "agent_added", f"agent:{new.name}", now=desk.clock(),
                           detail={"role": str(new.role)})
        return await tx.get_agent(new.name)  # type: ignore[return-value]

    return js.agent(await desk.write(unit))


async def disable_agent(request: web.Request, agent: Agent) -> dict[str, Any]:
    name = request.match_info["name"]
    changed = await request.app[DESK].disable_agent(name, agent, source=request.remote or "")
    return {"name": name, "disabled": True, "changed": changed}


async def enable_agent(request: web.Request, agent: Agent) -> dict[str, Any]:
    name = request.match_info["name"]
    changed = await request.app[DESK].enable_agent(name, agent, source=request.remote or "")
    return {"name": name, "disabled": False, "changed": changed}


async def issue_token(request: web.Request, agent: Agent, body: TokenBody) -> dict[str, Any]:
    desk, name = request.app[DESK], request.match_info["name"]
    by = audit.by_agent(agent, request.remote)
    token = await desk.store.write(
        lambda tx: auth.issue_token(tx, name, desk.clock(), body.label, by=by))
    return {"name": name, "token": token, "note": "shown once; only its hash is stored"}


async def revoke_tokens(request: web.Request, agent: Agent) -> dict[str, Any]:
    desk, name = request.app[DESK], request.match_info["name"]
    by = audit.by_agent(agent, request.remote)
    count = await desk.store.write(lambda tx: auth.revoke(tx, name, desk.clock(), by=by))
    return {"name": name, "revoked": count}


def routes() -> list[Route]:
    return [
        Route("GET", "/me", me, "The calling agent", "me", response="Agent"),
        Route("POST", "/me/presence", presence, "Go online or offline (auto-assignment)", "me",
              body=PresenceBody, response="Object"),
        Route("GET", "/queues", list_queues, "Queues with counts and oldest waiting", "queues",
              response="QueueList"),
        Route("GET", "/agents", list_agents, "All agents with their load", "agents",
              response="AgentList"),
        Route("POST", "/agents", create_agent, "Add an agent", "agents", admin=True,
              body=AgentBody, response="Agent", status=201),
        Route("POST", "/agents/{name}/disable", disable_agent, "Disable an agent (its tokens "
              "stop working); 409 for the last active admin", "agents", admin=True,
              response="AgentSwitch"),
        Route("POST", "/agents/{name}/enable", enable_agent, "Enable a disabled agent again "
              "(its unrevoked tokens work again)", "agents", admin=True, response="AgentSwitch"),
        Route("POST", "/agents/{name}/tokens", issue_token, "Issue an API token (shown once)",
              "agents", admin=True, body=TokenBody, response="Token", status=201),
        Route("DELETE", "/agents/{name}/tokens", revoke_tokens, "Revoke all of an agent's tokens",
              "agents", admin=True, response="Object"),
    ]
