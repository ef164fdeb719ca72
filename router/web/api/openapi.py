"""The OpenAPI 3.1 document, generated from the same route table that mounts the routes.

Request bodies and query parameters come from the pydantic models the handlers validate
with; responses name the schemas below. A test checks that every mounted route appears
here and that the document is well-formed, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from router.engine.audit import ACTIONS
from router.web.api.routing import Route

_REF = "#/components/schemas/{model}"
_TS = {"type": ["string", "null"], "format": "date-time"}
_STR = {"type": "string"}
_INT = {"type": "integer"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(model=name)}


SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": _obj({"code": _STR, "message": _STR}, ["code", "message"])},
                  ["error"]),
    "Object": {"type": "object"},
    "Conversation": _obj({
        "id": _INT, "contact_id": _INT, "channel": _STR,
        "status": {"enum": ["bot", "queued", "assigned", "resolved"]}, "queue": _STR,
        "priority": {"enum": ["low", "normal", "high", "urgent"]},
        "tags": {"type": "array", "items": _STR}, "assignee": _STR, "language": _STR,
        "created_at": _TS, "queued_at": _TS, "first_response_at": _TS, "resolved_at": _TS,
        "snoozed_until": _TS, "message_id": _INT, "wants_human_at": _TS, "follow_up_at": _TS,
        "sla": _obj({"first_response_due": _TS, "resolution_due": _TS, "paused_at": _TS,
                     "first_response_breached_at": _TS, "resolution_breached_at": _TS}),
    }, ["id", "status", "queue", "assignee", "sla"]),
    "Message": _obj({"id": _INT, "direction": {"enum": ["in", "out"]}, "author_kind": _STR,
                     "author_id": _STR, "text": _STR, "internal": {"type": "boolean"},
                     "created_at": _TS}),
    "Event": _obj({"id": _INT, "kind": _STR, "conversation_id": {"type": ["integer", "null"]},
                   "actor": _STR, "data": {"type": "object"}, "created_at": _TS},
                  ["id", "kind", "actor"]),
    "Agent": _obj({"name": _STR, "display_name": _STR, "email": _STR,
                   "role": {"enum": ["admin", "agent"]}, "languages": {"type": "array",
                                                                        "items": _STR},
                   "capacity": _INT, "online": {"type": "boolean"}, "load": _INT}, ["name"]),
    "Token": _obj({"name": _STR, "token": _STR}, ["token"]),
    "AgentSwitch": _obj({"name": _STR, "disabled": {"type": "boolean"},
                         "changed": {"type": "boolean", "description": "false when the agent "
                                     "already was in that state"}},
                        ["name", "disabled", "changed"]),
    "Queue": _obj({"name": _STR, "description": _STR, "auto_assign": {"type": "boolean"},
                   "waiting": _INT, "assigned": _INT, "snoozed": _INT,
                   "oldest_waiting_at": _TS, "oldest_waiting_seconds": {"type": ["number", "null"]},
                   "sla": {"type": "object"}}, ["name", "waiting"]),
    "Identity": _obj({"channel": _STR, "external_id": _STR, "username": _STR,
                      "display_name": _STR}),
}
SCHEMAS |= {
    "ConversationPage": _obj({"items": {"type": "array", "items": _ref("Conversation")},
                              "next_cursor": {"type": ["string", "null"]}}, ["items"]),
    "ConversationDetail": {"allOf": [_ref("Conversation"), _obj({
        "messages": {"type": "array", "items": _ref("Message")},
        "events": {"type": "array", "items": _ref("Event")}})]},
    "AgentList": _obj({"items": {"type": "array", "items": _ref("Agent")}}, ["items"]),
    "QueueList": _obj({"items": {"type": "array", "items": _ref("Queue")}}, ["items"]),
    "ContactDetail": _obj({"id": _INT, "display_name": _STR, "email": _STR, "phone": _STR,
                           "notes": _STR, "merged_into": {"type": ["integer", "null"]},
                           "identities": {"type": "array", "items": _ref("Identity")},
                           "similar": {"type": "array", "items": _ref("ContactBrief")},
                           "conversations": {"type": "array", "items": _ref("Conversation")}},
                          ["id", "identities", "conversations"]),
    # contacts and macros (issue 24)
    "ContactBrief": _obj({"id": _INT, "display_name": _STR, "email": _STR, "phone": _STR},
                         ["id"]),
    "MergePreview": _obj({
        "source": _ref("ContactBrief"), "target": _ref("ContactBrief"),
        "result": _obj({"id": _INT, "display_name": _STR, "email": _STR, "phone": _STR,
                        "language": _STR, "tags": {"type": "array", "items": _STR},
                        "notes": _STR}),
        "identities": {"type": "array", "items": _ref("Identity")},
        "conversations": {"type": "array", "items": _INT}},
        ["source", "target", "result", "identities", "conversations"]),
    "Macro": _obj({"id": _INT, "name": _STR, "shared": {"type": "boolean"}, "owner": _STR,
                   "texts": {"type": "object", "additionalProperties": _STR},
                   "add_tags": {"type": "array", "items": _STR},
                   "priority": {"enum": ["", "low", "normal", "high", "urgent"]},
                   "resolve": {"type": "boolean"}, "created_by": _STR, "created_at": _TS,
                   "updated_at": _TS}, ["id", "name", "shared", "texts"]),
    "MacroList": _obj({"items": {"type": "array", "items": _ref("Macro")}}, ["items"]),
    "RenderedMacro": _obj({"macro_id": _INT, "language": _STR, "text": _STR,
                           "add_tags": {"type": "array", "items": _STR},
                           "priority": _STR, "resolve": {"type": "boolean"}},
                          ["macro_id", "language", "text"]),
    # console (issue 7): canned replies
    "ReplyList": _obj({"items": {"type": "array", "items": _obj(
        {"id": _STR, "text": _STR, "language": _STR}, ["id"])}}, ["items"]),
    "RenderedReply": _obj({"reply_id": _STR, "language": _STR, "text": _STR},
                          ["reply_id", "text"]),
    "EventStream": {"description": "WebSocket frames: {type: hello|event, ...Event}",
                    "allOf": [_ref("Event")]},
    # FAQ suggestions (issue 20)
    "FaqSuggestion": _obj({
        "entry": _STR, "language": _STR, "text": _STR, "count": _INT,
        "sources": {"type": "array", "items": {"enum": ["agent_answer", "did_you_mean"]}},
        "conversations": {"type": "array", "items": _INT}, "file": _STR, "line": _INT},
        ["entry", "language", "text", "count", "sources"]),
    "FaqSuggestions": _obj({
        "since": {"type": "string", "format": "date-time"},
        "items": {"type": "array", "items": _ref("FaqSuggestion")},
        "diff": {"type": "string", "description": "unified diff of the YAML files, paths "
                 "relative to the directory of config.yaml"}}, ["items", "diff"]),
    # the audit log (issue 29)
    "AuditRecord": _obj({
        "id": _INT, "at": _TS, "action": {"enum": list(ACTIONS)},
        "actor": {"type": "string", "description": "agent:NAME, cli:USER, config, system, "
                  "or empty for an account that does not exist"},
        "object": {"type": "string", "description": "what was acted on: agent:NAME, "
                   "contact:ID, report, config"},
        "source": {"type": "string", "description": "the client's address, or cli"},
        "detail": {"type": "object", "description": "ids, counts, changed fields or files; "
                   "never message text or a contact's personal data"}},
        ["id", "at", "action", "actor", "object", "source", "detail"]),
    "AuditPage": _obj({"items": {"type": "array", "items": _ref("AuditRecord")},
                       "next_cursor": {"type": ["string", "null"]}}, ["items"]),
    # search and views (issue 24)
    "SearchRow": {"allOf": [_ref("Conversation"), _obj({
        "contact": _obj({"id": _INT, "display_name": _STR, "email": _STR}, ["id"]),
        "preview": {"type": ["object", "null"], "description": "the last message of the "
                    "customer or an agent, not an internal note (text up to 300 characters)",
                    "properties": {
                        "text": _STR, "author_kind": _STR, "created_at": _TS}},
        "waiting_since": {**_TS, "description": "since when the customer waits for a "
                          "person: not answered by one yet, or wrote after the last reply"},
        "match": {"type": ["object", "null"], "description": "what a text search matched",
                  "properties": {
                      "kind": {"enum": ["message", "contact"]},
                      "message_id": {"type": ["integer", "null"]},
                      "snippet": {"type": ["object", "null"], "properties": {
                          "text": _STR, "marks": {"type": "array", "description": "[start, "
                                                  "end) of each matched word, in code points",
                                                  "items": {"type": "array", "items": _INT}}}}}},
    }, ["contact", "waiting_since", "match"])]},
    "SearchPage": _obj({
        "items": {"type": "array", "items": _ref("SearchRow")},
        "next_cursor": {"type": ["string", "null"]},
        "total": {"type": "integer", "description": "how many match (first page only)"},
        "contacts": {"type": "array", "description": "contacts the words match (first page "
                     "only)", "items": _ref("ContactBrief")}}, ["items", "next_cursor"]),
    "View": _obj({"id": {"type": "string", "description": "a built-in view's name, tag:NAME "
                         "or saved:ID: GET /search?view=ID lists it"},
                  "name": _STR, "kind": {"enum": ["builtin", "tag", "saved"]},
                  "filters": {"type": "object", "description": "a saved view's search"},
                  "count": {"type": ["integer", "null"], "description": "conversations in "
                            "the view now, up to 1000 (none for resolved)"}},
                 ["id", "name", "kind", "count"]),
    "ViewList": _obj({"items": {"type": "array", "items": _ref("View")}}, ["items"]),
}
# attachments, collisions and settings (issue 24)
_ATTACHMENT = _obj({"kind": _STR, "name": _STR, "mime": _STR, "size": _INT, "caption": _STR,
                    "stored": {"type": "string", "description": "where the file is kept, "
                               "relative to the data dir (GET /messages/{id}/attachments/"
                               "{index} serves it)"}})
SCHEMAS["Message"]["properties"]["attachments"] = {"type": "array", "items": _ATTACHMENT}
SCHEMAS |= {
    "Upload": _obj({"id": {"type": "string", "description": "the file's SHA-256: give it in "
                           "a reply's attachments"}, "name": _STR, "mime": _STR,
                    "kind": {"enum": ["image", "file"]}, "size": _INT},
                   ["id", "name", "mime", "kind", "size"]),
    "Presence": _obj({"conversation_id": _INT, "viewers": {"type": "array", "items": _obj({
        "agent": _STR, "name": _STR, "typing": {"type": "boolean"},
        "mode": {"enum": ["reply", "note"]}}, ["agent", "name", "typing"])}},
        ["conversation_id", "viewers"]),
    "AgentSettings": _obj({"notifications": _obj({
        k: {"type": "boolean"} for k in ("sound", "desktop", "assigned", "customer_replies",
                                         "queued")})}, ["notifications"]),
}
_ERRORS = {"400": "invalid input", "401": "no, wrong or revoked token",
           "403": "not allowed for this agent: an admins-only action, "
           "or a conversation assigned to someone else", "404": "not found",
           "409": "conflict: lost a race or the state does not allow it",
           "413": "the file is larger than the limit", "415": "a file type that is not taken"}


def _model_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return _ref(model.__name__)


def _parameters(route: Route) -> list[dict[str, Any]]:
    params = [{"name": n, "in": "path", "required": True,
               "schema": _INT if n == "id" else _STR} for n in re.findall(r"{(\w+)}", route.path)]
    if route.query is not None:
        for name, field in route.query.model_fields.items():
            schema = route.query.model_json_schema()["properties"][name]
            params.append({"name": name, "in": "query", "required": field.is_required(),
                           "description": field.description or "", "schema": schema})
    if route.websocket:
        from router.web.api.stream import stream_parameters

        params.extend(stream_parameters())
    return params


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{re.sub(r'[^a-z0-9]+', '_', route.path.lower())}"
                       .rstrip("_"),
        "summary": route.summary, "tags": [route.tag], "parameters": _parameters(route),
        "responses": {str(route.status if not route.websocket else 101): {
            "description": "switching to WebSocket" if route.websocket else "OK",
            "content": {m: {"schema": _ref(route.response) if m == "application/json"
                            else {"type": "string"}} for m in route.media}}},
    }
    if route.body is not None:
        # a missing body reads as {} (router/web/api/routing.py): required only when {} is not
        # a valid body, i.e. when some field must be given
        required = any(f.is_required() for f in route.body.model_fields.values())
        op["requestBody"] = {"required": required, "content": {
            "application/json": {"schema": _model_schema(route.body, components)}}}
    if route.raw_body:  # a file upload (issue 24): the body is the file itself
        op["requestBody"] = {"required": True, "content": {
            m: {"schema": {"type": "string", "format": "binary"}} for m in route.raw_body}}
    codes = ["400", "404", "409"] + (["401", "403"] if route.auth else [])
    codes += [str(c) for c in route.errors]
    for code in sorted(codes):
        op["responses"][code] = {"description": _ERRORS[code],
                                 "content": {"application/json": {"schema": _ref("Error")}}}
    if route.auth:  # console (issue 7): or the console's session cookie (+ X-CSRF-Token)
        op["security"] = [{"bearer": []}, {"console": []}]
    else:
        op["security"] = []
    if route.admin:
        op["description"] = "Admins only."
    return op


def build_document(routes: list[Route], *, title: str, version: str) -> dict[str, Any]:
    components: dict[str, Any] = dict(SCHEMAS)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Agents' API of the inquiry router: queues, conversations, "
                                "contacts, agents and a live event stream."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "a token from `inquiry-router agents token NAME`"},
            "console": {"type": "apiKey", "in": "cookie", "name": "ir_console",
                        "description": "the agent console's session (POST /console/login); "
                                       "state-changing requests also need the X-CSRF-Token "
                                       "header from GET /console/session"}}},
    }
