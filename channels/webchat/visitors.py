"""Who the visitor is: the visitor token, a signed identity, the pre-chat form (issue 24).

`POST /chat/session` issues (or renews) the visitor token, as before, and now also takes
the embedding site's signed identity: a signed-in customer joins their contact
(router/engine/identities.py), so their history links up, and a visitor known as someone else
starts afresh. A visitor who was signed in and comes back without the identity (signed
out, or the next person at a shared computer) starts afresh too: the conversation stays
with the customer. The answer says whether to show the pre-chat form, and
`POST /chat/profile` takes what the visitor fills in.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from channels.webchat import identity, protocol, tokens
from channels.webchat.web import origin_allowed
from router.domain.errors import PayloadRejected
from router.web import jsonbody
from router.web.http_errors import json_error
from router.web.static import is_secure

if TYPE_CHECKING:
    from channels.webchat.adapter import WebchatAdapter

log = logging.getLogger(__name__)

COOKIE = "ir_webchat"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHANNEL = protocol.CHANNEL


async def _body(request: web.Request) -> dict[str, Any]:
    """A junk body is treated as empty: the visitor simply gets a new token."""
    if not request.can_read_body:
        return {}
    raw = await request.read()
    try:
        body = jsonbody.loads(raw) if raw else {}
    except PayloadRejected:
        return {}
    return body if isinstance(body, dict) else {}


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


async def session(adapter: WebchatAdapter, request: web.Request) -> web.Response:
    if not origin_allowed(request, adapter.settings.allowed_origins):
        return json_error(403, "origin", "this site may not open the chat")
    s, host = adapter.settings, adapter.host
    ttl = s.visitor_ttl.total_seconds()
    body = await _body(request)
    given = _text(body, "token", 200)
    visitor = (tokens.verify(s.secret, given, ttl)
               or tokens.verify(s.secret, request.cookies.get(COOKIE, ""), ttl))
    visitor_id = visitor.id if visitor else ""
    signed = _text(body, "identity", identity.MAX_TOKEN)
    user = identity.verify(s.identity_secret, signed) if signed else None
    state = "none" if not signed else "accepted" if user else "rejected"
    if signed and user is None:
        log.warning("webchat: a signed identity was refused (forged, expired or malformed; "
                    "identity_secret %s)", "set" if s.identity_secret else "NOT set")
    known = None
    if host is not None and user is not None:
        if visitor_id:
            known = await host.site_vouches(visitor_id, user, address=request.remote or "")
        if known is None:  # a new visitor, or one known as another customer
            visitor_id = tokens.new_visitor_id()
            known = await host.site_vouches(visitor_id, user, address=request.remote or "")
    elif host is not None and visitor_id and await host.site_user_of(visitor_id) is not None:
        visitor_id = ""  # signed in before, not now: the conversation stays theirs
    visitor_id = visitor_id or tokens.new_visitor_id()
    token = tokens.issue(s.secret, visitor_id)
    resp = web.json_response({"token": token, "visitor": visitor_id, "identity": state,
                              "prechat": await _wants_form(adapter, visitor_id, user)})
    resp.set_cookie(COOKIE, token, max_age=int(ttl), path="/chat", httponly=True,
                    samesite="Lax", secure=is_secure(request))
    resp.headers["Cache-Control"] = "no-store"
    return resp


async def _wants_form(adapter: WebchatAdapter, visitor_id: str, user: Any) -> bool:
    """Show the pre-chat form: it is on, the site does not vouch for the visitor, and they
    have not filled it in yet (no contact, or a required field still blank)."""
    form, host = adapter.settings.prechat, adapter.host
    if form is None or user is not None or host is None:
        return False
    contact = await host.contact(visitor_id)
    if contact is None:
        return True
    have = {"name": contact.display_name, "email": contact.email}
    return any(not have[f] for f in form.required)


async def profile(adapter: WebchatAdapter, request: web.Request) -> web.Response:
    """The pre-chat form's answers: `{"token", "name", "email"}`; 400 names the field."""
    s, host = adapter.settings, adapter.host
    if not origin_allowed(request, s.allowed_origins):
        return json_error(403, "origin", "this site may not open the chat")
    if s.prechat is None or host is None:
        return json_error(404, "not_found", "this chat has no pre-chat form")
    body = await _body(request)
    ttl = s.visitor_ttl.total_seconds()
    visitor = (tokens.verify(s.secret, _text(body, "token", 200), ttl)
               or tokens.verify(s.secret, request.cookies.get(COOKIE, ""), ttl))
    if visitor is None:
        return json_error(401, "bad_token", "visitor token invalid or expired")
    values = {"name": _text(body, "name", 200) if "name" in s.prechat.fields else "",
              "email": _text(body, "email", 254) if "email" in s.prechat.fields else ""}
    for field in s.prechat.fields:
        if field in s.prechat.required and not values[field]:
            return json_error(400, f"{field}_required", f"{field}: required")
    if values["email"] and not EMAIL.match(values["email"]):
        return json_error(400, "email_invalid", "email: not an email address")
    if not all(v.isprintable() for v in values.values()):
        return json_error(400, "rejected", "name and email must be plain text")
    contact = await host.sender_said(visitor.id, name=values["name"], email=values["email"])
    return web.json_response({"ok": True, "name": contact.display_name, "email": contact.email},
                             headers={"Cache-Control": "no-store"})
