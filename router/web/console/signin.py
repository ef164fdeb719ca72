"""Signing in to the console, and the session check the API uses for console requests.

`POST /console/login` takes `{email, password}` (argon2 hash, `agents passwd`) or
`{token}` (an API token) and sets the session cookie; `GET /console/session` gives the
page its CSRF token and agent; `POST /console/logout` clears the cookie. The answer to a
failed sign-in never says whether the agent exists. Every attempt is reserved in the
store before its password is checked (router/web/console/throttle.py), so failures per
account and per address are limited with 429s on every instance, however many arrive at
once; argon2 runs in a small dedicated thread pool (passwords.POOL). An agent with
two-factor sign-in (or one who must enrol) gets a code step instead of the cookie
(router/web/console/twofactor_http.py). Sign-ins and refusals go into the audit log.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from router.domain.errors import PayloadRejected
from router.domain.model import Agent
from router.engine import audit
from router.engine.agents import auth
from router.store.base import Store, Tx, utcnow
from router.web.api import serialize as js
from router.web.console import passwords, throttle
from router.web.console.sessions import COOKIE, Session, SessionCodec, clear_cookie, set_cookie
from router.web.http_errors import json_error, read_json
from router.web.static import is_secure

TTL = 12 * 3600  # one working day; signing in again is cheap


def same_origin(request: web.Request) -> bool:
    """No Origin header (not a browser, or a same-origin GET) or our own host."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc.lower() == request.host.lower()


class ConsoleAuth:
    #: false (`console.auth.passwords`, issue 29): email + password sign-in is refused;
    #: single sign-on (router/web/console/oidc.py) and API tokens remain
    passwords: bool = True
    #: the second step (issue 29: router/web/console/twofactor_http.TwoFactorHttp), set by mount
    two_factor: Any = None

    def __init__(self, store: Store, secret: str, *, ttl: int = TTL) -> None:
        self.store = store
        self.codec = SessionCodec(secret, ttl)
        self.pool = passwords.POOL
        # Reservations queue here rather than for the store's connections: a burst of
        # sign-ins (serialised on one key anyway) must not hold the pool webhooks need.
        self.reserving = asyncio.Semaphore(2)

    # --- the session behind a request ---------------------------------------------------
    async def _session_agent(self, request: web.Request) -> tuple[Session, Agent] | None:
        session = self.codec.verify(request.cookies.get(COOKIE, ""), time.time())
        if session is None:
            return None
        agent = await self.store.read(lambda tx: tx.get_agent(session.agent))
        if agent is None or agent.disabled:
            return None
        return session, agent

    async def api_auth(self, request: web.Request) -> Agent | web.Response | None:
        """For /api/v1 (router.web.api.hooks.SESSION_AUTH): None when there is no cookie."""
        if COOKIE not in request.cookies:
            return None
        found = await self._session_agent(request)
        if found is None:
            return json_error(401, "unauthorized", "the console session ended; sign in again")
        session, agent = found
        if request.headers.get("Upgrade", "").lower() == "websocket":
            # A WebSocket handshake is a GET that other sites can start (CSWSH): the
            # browser always says where it comes from, and it must be us.
            if request.headers.get("Origin") is None or not same_origin(request):
                return json_error(403, "origin", "WebSockets with the console session only "
                                  "from the console's own origin")
        elif not self.codec.csrf_ok(request, session):
            return json_error(403, "csrf", "missing or wrong X-CSRF-Token header (or a "
                              "foreign Origin); reload the console")
        return agent

    # --- routes ----------------------------------------------------------------------
    async def login(self, request: web.Request) -> web.Response:
        if not same_origin(request):
            return json_error(403, "origin", "sign in from the console's own page")
        try:
            body = await read_json(request)
        except PayloadRejected as exc:
            return json_error(400, "invalid", exc.reason)
        body = body if isinstance(body, dict) else {}
        if not self.passwords and not (isinstance(body.get("token"), str) and body["token"]):
            return json_error(403, "passwords_off", "sign-in with a password is switched "
                              "off; use single sign-on")
        account = await self._account(body)
        keys = throttle.keys_for(account, request.remote or "?")
        now = time.time()
        async with self.reserving:
            wait = await self.store.write(lambda tx: throttle.reserve(tx, keys, int(now * 1000)))
        if wait:
            return _slow_down(wait, "too many failed sign-ins; wait and retry")
        try:
            agent = await self._check(body)
        except passwords.Busy:
            return _slow_down(1, "too many sign-ins at once; retry in a moment")
        method = "token" if isinstance(body.get("token"), str) and body["token"] else "password"
        if agent is None:
            # the account tried, when it exists (what was typed may be anyone's address)
            who = audit.by_agent(account, request.remote) if account and account[0] != "?" \
                else audit.Actor("", request.remote or "")
            await self.store.write(lambda tx: audit.record(
                tx, who, "signin_failed", who.name, now=utcnow(), detail={"step": method}))
            return json_error(401, "unauthorized", "wrong email or password (or token)")
        if self.two_factor is not None:  # issue 29: the code (or enrolment) comes next
            challenge = await self.two_factor.challenge(request, agent, method)
            if challenge is not None:
                return challenge

        async def unit(tx: Tx) -> None:
            await throttle.release(tx, keys)
            await audit.record(tx, audit.by_agent(agent, request.remote), "signin",
                               f"agent:{agent.name}", now=utcnow(), detail={"method": method})

        await self.store.write(unit)
        return self.signed_in(request, agent)

    def signed_in(self, request: web.Request, agent: Agent,
                  extra: dict[str, Any] | None = None) -> web.Response:
        """The answer to a complete sign-in: the session cookie and the session body."""
        now = time.time()
        value = self.codec.issue(agent.name, now)
        session = self.codec.verify(value, now)
        assert session is not None
        resp = web.json_response({**self._session_body(session, agent), **(extra or {})})
        set_cookie(resp, value, max_age=TTL, secure=is_secure(request))
        resp.headers["Cache-Control"] = "no-store"
        return resp

    async def _account(self, body: dict[str, Any]) -> str | None:
        """The name the attempt counts against: the agent's, else what was typed (so
        unknown names are limited alike); None for a token sign-in."""
        login = body.get("email")
        token = body.get("token")
        if (isinstance(token, str) and token) or not isinstance(login, str):
            return None
        login = login.strip()
        found = await self.store.read(lambda tx: tx.find_agent_login(login)) if login else None
        return found[0].name if found else "?" + login.lower()

    async def _check(self, body: dict[str, Any]) -> Agent | None:
        token = body.get("token")
        if isinstance(token, str) and token:
            return await self.store.read(lambda tx: auth.authenticate(tx, token.strip()))
        login, password = body.get("email"), body.get("password")
        if not isinstance(login, str) or not isinstance(password, str) or not login or not password:
            return None
        found = await self.store.read(lambda tx: tx.find_agent_login(login.strip()))
        agent, stored = found if found else (None, None)
        # Unknown agents are checked against a dummy hash, so the time does not tell who
        # exists.
        ok = await self.pool.verify(stored, password)
        if not ok or agent is None or agent.disabled or stored is None:
            return None
        if passwords.needs_rehash(stored):
            fresh = await self.pool.hash_password(password)

            async def rehash(tx: Tx) -> None:
                await tx.set_agent_password(agent.name, fresh)

            await self.store.write(rehash)
        return agent

    async def session(self, request: web.Request) -> web.Response:
        found = await self._session_agent(request)
        if found is None:
            return json_error(401, "unauthorized", "not signed in")
        resp = web.json_response(self._session_body(*found))
        resp.headers["Cache-Control"] = "no-store"
        return resp

    async def logout(self, request: web.Request) -> web.Response:
        found = await self._session_agent(request)
        if found is not None and not self.codec.csrf_ok(request, found[0]):
            return json_error(403, "csrf", "missing or wrong X-CSRF-Token header")
        resp = web.json_response({"signed_out": True})
        clear_cookie(resp)
        return resp

    def _session_body(self, session: Session, agent: Agent) -> dict[str, Any]:
        return {"agent": js.agent(agent), "csrf": self.codec.csrf_token(session),
                "expires_in": max(0, int(session.issued + self.codec.ttl - time.time()))}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/console/login", self.login),
                web.get("/console/session", self.session),
                web.post("/console/logout", self.logout)]


def _slow_down(wait: float, message: str) -> web.Response:
    seconds = int(wait) + 1
    resp = json_error(429, "slow_down", message, retry_after=seconds)
    resp.headers["Retry-After"] = str(seconds)
    return resp
