"""Stand-ins for HubSpot's CRM v3 API and Salesforce's REST API, the subset our clients call.

Real aiohttp servers on 127.0.0.1 that record each request (path, body, arrival time)
and answer in the vendors' shapes, so `hubspot-api-client` and `simple-salesforce` parse
the answers as they would the real ones. Like the real APIs they check the bearer token,
answer 404/400 for a record they do not have, and play rate limits on demand:
`respond(path) -> (status, headers) | None` per request. A request arriving while a 429's
Retry-After runs is recorded in `early` (and refused again).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import LocalServer

CREATED = "2026-01-01T00:00:00.000Z"


@dataclass
class Call:
    method: str
    path: str
    body: Any
    at: float = field(default_factory=time.monotonic)


class CrmStandIn(LocalServer):
    token = "stand-in-token"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.respond: Callable[[str], tuple[int, dict[str, str]] | None] | None = None
        self.early: list[Call] = []  # arrived before a Retry-After had passed
        self.create_delay = 0.0  # seconds a create takes: keeps lookups of others in flight
        self._quiet_until = 0.0
        self._ids = itertools.count(101)

    def count(self, method: str, pattern: str) -> int:
        return sum(1 for c in self.calls if c.method == method and re.fullmatch(pattern, c.path))

    async def _begin(self, request: web.Request) -> tuple[Call, web.Response | None]:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode()
        call = Call(request.method, request.path, body)
        self.calls.append(call)
        refusal = self._refusal(request, call)
        if refusal is not None:
            await self.changed()
        return call, refusal

    def _refusal(self, request: web.Request, call: Call) -> web.Response | None:
        if call.at < self._quiet_until:
            self.early.append(call)
            return self._too_many(self._quiet_until - call.at)
        planned = self.respond(call.path) if self.respond else None
        if planned is not None:
            status, headers = planned
            if status == 429:
                self._quiet_until = time.monotonic() + float(headers.get("Retry-After", "0"))
            return web.json_response(self.error_body(status), status=status, headers=headers)
        if not self.authorized(request):
            return web.json_response(self.error_body(401), status=401)
        return None

    def _too_many(self, seconds: float) -> web.Response:
        return web.json_response(self.error_body(429), status=429,
                                 headers={"Retry-After": str(max(1, round(seconds)))})

    def authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def error_body(self, status: int) -> Any:
        raise NotImplementedError

    async def _answer(self, data: Any, status: int = 200) -> web.Response:
        await self.changed()
        return web.json_response(data, status=status)


class FakeHubSpot(CrmStandIn):
    """Contacts search/create and notes of CRM v3. Like HubSpot, a second contact with an
    email it has is refused (409 naming the existing id), and its search index lags:
    contacts created here are never found by search (the worst case of that lag)."""

    def __init__(self) -> None:
        super().__init__()
        self.contacts: dict[str, dict[str, str]] = {}
        self.indexed: set[str] = set()  # ids search can find (those given by `add_contact`)
        self.notes: dict[str, dict[str, Any]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_contact(self, properties: dict[str, str]) -> str:
        cid = str(next(self._ids))
        self.contacts[cid] = properties
        self.indexed.add(cid)
        return cid

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/crm/v3/objects/contacts/search", self._search)
        app.router.add_post("/crm/v3/objects/contacts", self._create_contact)
        app.router.add_post("/crm/v3/objects/notes", self._create_note)

    def error_body(self, status: int) -> Any:
        messages = {401: "Authentication credentials not found.",
                    429: "You have reached your secondly limit.",
                    500: "internal error"}
        return {"status": "error", "message": messages.get(status, "error"),
                "correlationId": "00000000-0000-0000-0000-000000000000",
                "category": "RATE_LIMITS" if status == 429 else "ERROR"}

    def _object(self, oid: str, properties: dict[str, Any]) -> dict[str, Any]:
        return {"id": oid, "properties": properties, "createdAt": CREATED,
                "updatedAt": CREATED, "archived": False}

    async def _search(self, request: web.Request) -> web.Response:
        call, refusal = await self._begin(request)
        if refusal is not None:
            return refusal
        wanted = [(f["propertyName"], f["value"]) for g in call.body.get("filterGroups", [])
                  for f in g.get("filters", [])]
        found = [cid for cid in sorted(self.indexed, key=int)
                 if any(str(self.contacts[cid].get(p, "")).lower() == str(v).lower()
                        for p, v in wanted)]
        return await self._answer({"total": len(found), "results": [
            self._object(cid, self.contacts[cid]) for cid in found[:1]]})

    async def _create_contact(self, request: web.Request) -> web.Response:
        call, refusal = await self._begin(request)
        if refusal is not None:
            return refusal
        if self.create_delay:
            await asyncio.sleep(self.create_delay)
        props = call.body["properties"]
        email = props.get("email", "").lower()
        for cid, existing in self.contacts.items():
            if email and existing.get("email", "").lower() == email:
                return web.json_response(
                    {"status": "error", "category": "CONFLICT",
                     "message": f"Contact already exists. Existing ID: {cid}"}, status=409)
        cid = str(next(self._ids))
        self.contacts[cid] = props
        return await self._answer(self._object(cid, props), 201)

    async def _create_note(self, request: web.Request) -> web.Response:
        call, refusal = await self._begin(request)
        if refusal is not None:
            return refusal
        targets = [a["to"]["id"] for a in call.body.get("associations", [])]
        if any(t not in self.contacts for t in targets):
            return web.json_response({"status": "error", "message": "Object not found"}, status=404)
        nid = str(next(self._ids))
        self.notes[nid] = call.body
        return await self._answer(self._object(nid, call.body["properties"]), 201)


class FakeSalesforce(CrmStandIn):
    """SOQL query on Contact, Contact and Task create, and the client credentials flow.

    Like Salesforce, it keeps any number of contacts with one email (no duplicate rule):
    two lookups racing would both create one."""

    version = "59.0"
    client_id = "stand-in-client"
    client_secret = "stand-in-secret"

    def __init__(self) -> None:
        super().__init__()
        self.contacts: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.tokens_issued = 0

    def add_routes(self, app: web.Application) -> None:
        base = f"/services/data/v{self.version}"
        app.router.add_post("/services/oauth2/token", self._token)
        app.router.add_get(f"{base}/query/", self._query)
        app.router.add_post(f"{base}/sobjects/Contact/", self._create_contact)
        app.router.add_post(f"{base}/sobjects/Task/", self._create_task)

    def error_body(self, status: int) -> Any:
        codes = {401: ("INVALID_SESSION_ID", "Session expired or invalid"),
                 429: ("REQUEST_LIMIT_EXCEEDED", "Too many requests"),
                 500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred")}
        code, message = codes.get(status, ("UNKNOWN_EXCEPTION", "error"))
        return [{"errorCode": code, "message": message}]

    async def _token(self, request: web.Request) -> web.Response:
        import base64

        form = await request.post()
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if form.get("grant_type") != "client_credentials" or \
                request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client",
                                      "error_description": "invalid client credentials"},
                                     status=400)
        self.tokens_issued += 1
        return web.json_response({"access_token": self.token, "token_type": "Bearer",
                                  "instance_url": "https://acme.my.salesforce.com",
                                  "id": "https://login.salesforce.com/id/00D/005",
                                  "issued_at": "1767225600000", "signature": "x"})

    async def _query(self, request: web.Request) -> web.Response:
        _, refusal = await self._begin(request)
        if refusal is not None:
            return refusal
        soql = request.query.get("q", "")
        wanted = re.findall(r"(\w+) = '((?:[^'\\]|\\.)*)'", soql)
        found = [i for i, c in self.contacts.items()
                 if any(str(c.get(f, "")).lower() == v.lower() for f, v in wanted)]
        records = [{"attributes": {"type": "Contact", "url": f"/sobjects/Contact/{i}"}, "Id": i}
                   for i in found[:1]]
        return await self._answer({"totalSize": len(records), "done": True, "records": records})

    async def _create_contact(self, request: web.Request) -> web.Response:
        call, refusal = await self._begin(request)
        if refusal is not None:
            return refusal
        if self.create_delay:
            await asyncio.sleep(self.create_delay)
        if not call.body.get("LastName"):
            return web.json_response([{"errorCode": "REQUIRED_FIELD_MISSING",
                                       "message": "Required fields are missing: [LastName]"}],
                                     status=400)
        cid = f"003{next(self._ids):015d}"
        self.contacts[cid] = call.body
        return await self._answer({"id": cid, "success": True, "errors": []}, 201)

    async def _create_task(self, request: web.Request) -> web.Response:
        call, refusal = await self._begin(request)
        if refusal is not None:
            return refusal
        if call.body.get("WhoId") not in self.contacts:
            return web.json_response([{"errorCode": "INVALID_CROSS_REFERENCE_KEY",
                                       "message": "invalid cross reference id"}], status=400)
        tid = f"00T{next(self._ids):015d}"
        self.tasks[tid] = call.body
        return await self._answer({"id": tid, "success": True, "errors": []}, 201)
