"""Console sign-in, the session cookie on /api/v1 (CSRF, WebSocket origin), and the API
routes the console added (canned replies, typing, resolve runs the rules)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from router.domain.model import InboundMessage, Sender
from router.engine.agents import auth
from router.service import Service
from router.web.console.sessions import COOKIE, CSRF_HEADER
from tests.web.conftest import AGENT_EMAIL, AGENT_PASSWORD

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe=True: keep cookies for 127.0.0.1 (aiohttp drops cookies of bare IPs otherwise)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


def base(service: Service) -> str:
    return f"http://127.0.0.1:{service.port}"


async def sign_in(http: aiohttp.ClientSession, service: Service, **body: str) -> tuple[int, Any]:
    body = body or {"email": AGENT_EMAIL, "password": AGENT_PASSWORD}
    async with http.post(base(service) + "/console/login", json=body) as r:
        return r.status, await r.json()


async def customer(service: Service, text: str, channel: str = "loopback") -> int:
    now = datetime.now(UTC)
    result = await service.intake(InboundMessage(
        channel, f"m-{now.timestamp()}", f"t-{now.timestamp()}", Sender("u1", "Ulla"), text, now))
    assert result.conversation_id is not None
    return result.conversation_id


async def test_the_page_is_served_with_a_strict_policy(console_service, http) -> None:
    async with http.get(base(console_service) + "/console") as r:
        page = await r.text()
        assert r.status == 200 and "Exempel AB · Agent console" in page
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
    async with http.get(base(console_service) + "/console/static/console.js") as r:
        assert r.status == 200 and r.content_type == "text/javascript" and r.headers["ETag"]
    async with http.get(base(console_service) + "/console/static/nope.js") as r:
        assert r.status == 404
    async with http.get(base(console_service) + "/console/", allow_redirects=False) as r:
        assert r.status == 302 and r.headers["Location"] == "../console"
    async with http.get(base(console_service) + "/console/session") as r:
        assert r.status == 401


async def test_password_sign_in_sets_a_strict_http_only_cookie(console_service, http) -> None:
    status, body = await sign_in(http, console_service, email="ANNA@example.com",
                                 password=AGENT_PASSWORD)
    assert status == 200 and body["agent"]["name"] == "anna" and body["csrf"]
    async with http.post(base(console_service) + "/console/login",
                         json={"email": AGENT_EMAIL, "password": AGENT_PASSWORD}) as r:
        cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    async with aiohttp.ClientSession() as other, other.post(
            base(console_service) + "/console/login", headers={"X-Forwarded-Proto": "https"},
            json={"email": "anna", "password": AGENT_PASSWORD}) as r:
        assert r.status == 200 and "Secure" in r.headers["Set-Cookie"]  # behind TLS
    async with http.get(base(console_service) + "/console/session") as r:
        again = await r.json()
    assert r.status == 200 and again["agent"]["name"] == "anna" and again["csrf"]
    async with http.get(base(console_service) + "/api/v1/me") as r:
        assert r.status == 200 and (await r.json())["name"] == "anna"
    async with http.post(base(console_service) + "/console/logout",
                         headers={CSRF_HEADER: again["csrf"]}) as r:
        assert r.status == 200
    async with http.get(base(console_service) + "/api/v1/me") as r:
        assert r.status == 401


async def test_wrong_passwords_unknown_agents_and_foreign_origins_are_refused(console_service,
                                                                            http) -> None:
    for body in ({"email": AGENT_EMAIL, "password": "wrong horse battery"},
                 {"email": "nobody@example.com", "password": AGENT_PASSWORD},
                 {"email": "olle@example.com", "password": AGENT_PASSWORD},  # no password set
                 {"token": "irt_not-a-token"}, {"email": AGENT_EMAIL}):
        status, error = await sign_in(http, console_service, **body)
        assert status == 401 and error["error"]["message"] == "wrong email or password (or token)"
    async with http.post(base(console_service) + "/console/login", headers={
            "Origin": "https://evil.example"}, json={"email": AGENT_EMAIL,
                                                     "password": AGENT_PASSWORD}) as r:
        assert r.status == 403 and COOKIE not in r.cookies


async def test_repeated_failures_are_slowed_down(console_service, http) -> None:
    statuses = [(await sign_in(http, console_service, token="irt_wrong"))[0] for _ in range(11)]
    assert statuses == [401] * 10 + [429]  # token guesses from one address are limited
    status, body = await sign_in(http, console_service, token="irt_another_guess")
    assert status == 429 and body["error"]["retry_after"] > 0
    # ... without locking out an agent who signs in with a password from that address
    # (per-account limits: tests/web/test_console_signin_limits.py)
    status, _ = await sign_in(http, console_service)
    assert status == 200


async def test_an_api_token_signs_in_too(console_service, http) -> None:
    desk = console_service.agents.desk  # type: ignore[union-attr]
    token = await desk.store.write(lambda tx: auth.issue_token(tx, "olle", desk.clock()))
    status, body = await sign_in(http, console_service, token=token)
    assert status == 200 and body["agent"]["name"] == "olle"


async def test_state_changes_need_the_csrf_token_and_our_origin(console_service, http) -> None:
    cid = await customer(console_service, "hej, jag vill prata med en människa")
    _, session = await sign_in(http, console_service)
    url = base(console_service) + f"/api/v1/conversations/{cid}/claim"
    async with http.post(url) as r:
        assert r.status == 403 and (await r.json())["error"]["code"] == "csrf"
    async with http.post(url, headers={CSRF_HEADER: "guess"}) as r:
        assert r.status == 403
    async with http.post(url, headers={CSRF_HEADER: session["csrf"],
                                       "Origin": "https://evil.example"}) as r:
        assert r.status == 403
    async with http.post(url, headers={CSRF_HEADER: session["csrf"],
                                       "Origin": base(console_service)}) as r:
        assert r.status == 200 and (await r.json())["assignee"] == "anna"
    async with http.get(base(console_service) + f"/api/v1/conversations/{cid}") as r:
        assert r.status == 200  # reading needs no token


async def test_the_stream_takes_the_cookie_only_from_our_origin(console_service, http) -> None:
    await sign_in(http, console_service)
    url = base(console_service).replace("http", "ws") + "/api/v1/stream"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect(url, origin="https://evil.example")
    assert refused.value.status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(url)  # no Origin: not a browser, so use a bearer token
    async with http.ws_connect(url, origin=base(console_service)) as ws:
        hello = await ws.receive_json(timeout=5)
    assert hello["type"] == "hello" and hello["agent"] == "anna"


async def test_canned_replies_render_in_the_conversations_language(console_service,
                                                                   http) -> None:
    cid = await customer(console_service, "Hej! Jag har glömt mitt lösenord till kontot")
    _, session = await sign_in(http, console_service)
    api = base(console_service) + "/api/v1"
    async with http.get(api + f"/replies?conversation_id={cid}&q=lösenord") as r:
        items = (await r.json())["items"]
    assert [(i["id"], i["language"]) for i in items] == [("password", "sv")]
    assert items[0]["text"].startswith("Du kan byta lösenord själv")
    async with http.get(api + "/replies") as r:
        ids = [i["id"] for i in (await r.json())["items"]]
    assert {"welcome", "handoff", "password", "resolved"} <= set(ids)
    headers = {CSRF_HEADER: session["csrf"]}
    async with http.post(api + f"/conversations/{cid}/render-reply", headers=headers,
                         json={"reply_id": "handoff"}) as r:
        assert (await r.json())["text"].startswith("Självklart!")
    async with http.post(api + f"/conversations/{cid}/render-reply", headers=headers,
                         json={"reply_id": "nope"}) as r:
        assert r.status == 404
    async with http.post(api + f"/conversations/{cid}/typing", headers=headers) as r:
        assert await r.json() == {"delivered": 0}  # loopback: nobody to tell


async def test_resolve_runs_the_rules_and_bots_with_event_resolved(console_service,
                                                                   http) -> None:
    cid = await customer(console_service, "Jag vill prata med en människa")
    _, session = await sign_in(http, console_service)
    headers = {CSRF_HEADER: session["csrf"]}
    api = base(console_service) + f"/api/v1/conversations/{cid}"
    async with http.post(api + "/resolve", headers=headers) as r:
        assert r.status == 200 and (await r.json())["status"] == "resolved"
    messages = await console_service.store.read(lambda tx: tx.list_messages(cid))
    texts = [m.text for m in messages if m.author_kind == "bot"]
    assert texts[-2].startswith("Ditt ärende är nu avslutat")  # rule "thank on resolve"
    assert texts[-1].startswith("Vi har avslutat ärendet")  # the CSAT survey (bots)
    events = await console_service.store.read(lambda tx: tx.list_events(cid))
    assert [e.data["event"] for e in events if e.kind == "rules_applied"][-1] == "resolved"
