"""Who a web chat visitor is, over HTTP (issue 24): signed identities checked strictly, a
signed-in customer joined to their contact (their history links up), a visitor known as
someone else or signed out starting afresh, and the pre-chat form's answers."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from channels.webchat import identity
from router.domain.model import InboundMessage, Sender
from router.store.base import AuditFilter
from tests.web.conftest import WEBCHAT_SECRET
from tests.web.test_webchat_socket import _hello, _session, _until

ON_SESSION_LOOP = pytest.mark.asyncio(loop_scope="session")
SITE_KEY = "site-signing-key-0123456789abcdef"
CONFIG = f"""
channels:
  webchat:
    secret: {WEBCHAT_SECRET}
    identity_secret: {SITE_KEY}
    prechat: {{fields: [name, email], required: [email]}}
  loopback: {{}}
"""


def _signed(sub: str, key: str = SITE_KEY, **claims: Any) -> str:
    return identity.sign(key, {"sub": sub, "exp": int(time.time()) + 600, **claims})


def test_only_a_well_signed_current_token_is_accepted() -> None:
    now = time.time()
    good = identity.sign(SITE_KEY, {"sub": "42", "email": "u@example.se", "name": "Ulla",
                                    "exp": int(now) + 60})
    assert identity.verify(SITE_KEY, good, now) == identity.SiteUser("42", "u@example.se",
                                                                     "Ulla")
    assert identity.verify("another-key-0123456789", good, now) is None
    assert identity.verify("", good, now) is None  # signed identities off
    assert identity.verify(SITE_KEY, good, now + 3600) is None  # expired
    head, body, _sig = good.split(".")
    none_alg = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).decode().rstrip("=")
    assert identity.verify(SITE_KEY, f"{none_alg}.{body}.", now) is None
    assert identity.verify(SITE_KEY, f"{head}.{body}.{_sig[:-2]}", now) is None
    for claims in ({"exp": int(now) + 60}, {"sub": "", "exp": int(now) + 60},
                   {"sub": "42"}, {"sub": "42", "exp": "later"},
                   {"sub": "42", "exp": int(now) + 60, "name": "a\x00b"},
                   {"sub": "42", "exp": int(now) + 60, "email": "no-at-sign"}):
        assert identity.verify(SITE_KEY, identity.sign(SITE_KEY, claims), now) is None, claims


async def _chat(http: aiohttp.ClientSession, base: str, token: str, text: str) -> None:
    async with http.ws_connect(f"{base}/chat/ws") as ws:
        await _hello(ws, token)
        await ws.send_json({"type": "message", "id": f"m-{time.monotonic_ns()}", "text": text})
        await _until(ws, "ack")


async def _contact_of(service: Any, visitor: str) -> Any:
    return await service.store.read(lambda tx: tx.find_contact("webchat", visitor))


@ON_SESSION_LOOP
async def test_signed_in_customer_joins_their_contact_and_others_start_afresh(
        webchat_service: Any) -> None:
    service = await webchat_service(CONFIG)
    base = f"http://127.0.0.1:{service.port}"
    known = await service.intake(InboundMessage(
        "loopback", "mail-1", "t-1", Sender("ulla@example.se", "Ulla Svensson",
                                            email="ulla@example.se"),
        "An earlier question", datetime.now(UTC)))
    async with aiohttp.ClientSession() as http:
        # anonymous first: a chat before signing in
        anon = await _session(http, base)
        assert anon["identity"] == "none" and anon["prechat"] is True
        await _chat(http, base, anon["token"], "Hej, en fråga innan jag loggar in")
        before = await _contact_of(service, anon["visitor"])

        # signed in: same visitor, now on the contact the site's email belongs to, with
        # the anonymous chat merged in (by the system, in the audit log)
        sess = await _session(http, base, json={
            "token": anon["token"], "identity": _signed("42", email="ULLA@example.se")})
        assert sess["identity"] == "accepted" and sess["visitor"] == anon["visitor"]
        assert sess["prechat"] is False  # the site vouches: no form
        joined = await _contact_of(service, sess["visitor"])
        conv = await service.store.read(lambda tx: tx.get_conversation(known.conversation_id))
        assert joined.id == conv.contact_id != before.id
        found = await service.store.read(lambda tx: tx.audit_list(AuditFilter(), 10))
        assert [(r.action, r.actor, r.object) for r in found] == [
            ("contacts_merged", "system", f"contact:{before.id}")]

        # the same customer comes back in this browser, then on another device: the
        # same contact every time
        again = await _session(http, base, json={"token": sess["token"],
                                                 "identity": _signed("42")})
        assert again["visitor"] == sess["visitor"]
    async with aiohttp.ClientSession() as fresh:
        device = await _session(fresh, base, json={"identity": _signed("42")})
        assert device["visitor"] != sess["visitor"]
        assert (await _contact_of(service, device["visitor"])).id == joined.id
        await _chat(fresh, base, device["token"], "Från mobilen")

        # another customer in the same browser is never moved onto Ulla's contact
        bo = await _session(fresh, base, json={"token": device["token"],
                                               "identity": _signed("77", name="Bo")})
        assert bo["visitor"] != device["visitor"]
        assert (await _contact_of(service, bo["visitor"])).display_name == "Bo"
        # signed out (no identity): a new anonymous visitor, Bo's chat stays Bo's
        out = await _session(fresh, base, json={"token": bo["token"]})
        assert out["visitor"] != bo["visitor"] and out["identity"] == "none"
        # a forged identity is refused, and the visitor stays anonymous
        forged = await _session(fresh, base, json={"token": out["token"],
                                                   "identity": _signed("42", key="x" * 20)})
        assert forged["identity"] == "rejected" and forged["visitor"] == out["visitor"]


@ON_SESSION_LOOP
async def test_prechat_form_fills_the_visitors_own_contact(webchat_service: Any) -> None:
    service = await webchat_service(CONFIG)
    base = f"http://127.0.0.1:{service.port}"
    async with aiohttp.ClientSession() as http:
        sess = await _session(http, base)
        assert sess["prechat"] is True

        async def profile(**body: Any) -> tuple[int, dict[str, Any]]:
            async with http.post(f"{base}/chat/profile", json=body) as r:
                return r.status, await r.json()

        status, body = await profile(token=sess["token"], name="Ulla")
        assert status == 400 and body["error"]["code"] == "email_required"
        status, body = await profile(token=sess["token"], name="Ulla", email="ulla@")
        assert status == 400 and body["error"]["code"] == "email_invalid"
        status, body = await profile(token="v_forged.1.x", name="Ulla", email="u@example.se")
        assert status == 401 and body["error"]["code"] == "bad_token"
        status, body = await profile(token=sess["token"], name=" Ulla Svensson ",
                                     email="ulla@example.se")
        assert status == 200 and body == {"ok": True, "name": "Ulla Svensson",
                                          "email": "ulla@example.se"}
        assert (await _session(http, base, json={"token": sess["token"]}))["prechat"] is False
        await _chat(http, base, sess["token"], "Hej!")
    contact = await _contact_of(service, sess["visitor"])
    assert (contact.display_name, contact.email) == ("Ulla Svensson", "ulla@example.se")
    conv = await service.store.read(lambda tx: tx.find_conversation("webchat", [sess["visitor"]]))
    assert conv.contact_id == contact.id
