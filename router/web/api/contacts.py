"""Contact endpoints: the contact view, editing (every agent), merging and its preview
(admins) (issues 6 and 24)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field, field_validator

from router.domain.model import Agent, Contact
from router.engine.agents import contacts
from router.engine.agents.authz import Act, authorize
from router.web.api import serialize as js
from router.web.api.models import JsonBody, Query
from router.web.api.routing import DESK, Route, path_int

EMAIL = r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^$|^\+?[0-9][0-9 ()./-]{2,38}$"


class MergeBody(JsonBody):
    into: int = Field(description="the contact that stays; this one is merged into it")


class MergeQuery(Query):
    into: int = Field(description="the contact that would stay")


class ContactBody(JsonBody):
    """Fields left out stay as they are; an empty string clears one."""

    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=254, pattern=EMAIL)
    phone: str | None = Field(None, max_length=40, pattern=PHONE)
    notes: str | None = Field(None, max_length=10_000,
                              description="the agents' notes on this contact (never shown "
                                          "to the customer)")

    @field_validator("display_name", "email", "phone", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


def contact_json(c: Contact, identities: Any) -> dict[str, Any]:
    out = js.contact(c, identities)
    out["notes"] = str(c.fields.get(contacts.NOTES, ""))
    return out


def _brief(c: Contact) -> dict[str, Any]:
    return {"id": c.id, "display_name": c.display_name, "email": c.email, "phone": c.phone}


def _profile(c: Contact) -> dict[str, Any]:
    return {**_brief(c), "language": c.language, "tags": list(c.tags),
            "notes": str(c.fields.get(contacts.NOTES, ""))}


async def detail_json(request: web.Request, contact_id: int) -> dict[str, Any]:
    detail = await request.app[DESK].store.read(
        lambda tx: contacts.contact_detail(tx, contact_id))
    out = contact_json(detail.contact, detail.identities)
    out["merged_into"] = detail.merged_into
    out["similar"] = [_brief(c) for c in detail.similar]
    out["conversations"] = [js.conversation(c) for c in detail.conversations]
    return out


async def get_contact(request: web.Request, agent: Agent) -> dict[str, Any]:
    return await detail_json(request, path_int(request))


async def edit_contact(request: web.Request, agent: Agent, body: ContactBody) -> dict[str, Any]:
    cid = path_int(request)
    changes = {k: v for k, v in body.model_dump().items() if v is not None}
    await request.app[DESK].edit_contact(cid, changes, agent, source=request.remote or "")
    return await detail_json(request, cid)


async def merge_contact(request: web.Request, agent: Agent, body: MergeBody) -> dict[str, Any]:
    desk = request.app[DESK]
    await desk.merge_contacts(path_int(request), body.into, agent, source=request.remote or "")
    return await detail_json(request, body.into)


async def merge_preview(request: web.Request, agent: Agent, query: MergeQuery) -> dict[str, Any]:
    authorize(agent, Act.MERGE_CONTACTS)
    found = await request.app[DESK].store.read(
        lambda tx: contacts.preview(tx, path_int(request), query.into))
    return {"source": _brief(found["source"]), "target": _brief(found["target"]),
            "result": _profile(found["result"]),
            "identities": [{"channel": i.channel, "external_id": i.external_id,
                            "username": i.username, "display_name": i.display_name}
                           for i in found["identities"]],
            "conversations": [c.id for c in found["conversations"]]}


def routes() -> list[Route]:
    one = "/contacts/{id}"
    return [
        Route("GET", one, get_contact, "A contact: identities on every channel, all "
              "conversations, and contacts with the same email or phone", "contacts",
              response="ContactDetail"),
        Route("PATCH", one, edit_contact, "Edit a contact's name, email, phone or notes "
              "(every agent; recorded in the audit log)", "contacts", body=ContactBody,
              response="ContactDetail"),
        Route("GET", one + "/merge-preview", merge_preview, "What merging this contact into "
              "another would leave, changing nothing (admins only)", "contacts",
              query=MergeQuery, response="MergePreview"),
        Route("POST", one + "/merge", merge_contact, "Merge this contact into another "
              "(irreversible; admins only)", "contacts", body=MergeBody, response="ContactDetail"),
    ]
