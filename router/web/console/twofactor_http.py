"""The console's two-factor routes (issue 29): the code step of sign-in and enrolment.

Sign-in: after a right password (or API token) an agent with two-factor sign-in gets
`{"two_factor": "code", "pending": ...}` instead of the session; `POST /console/login/code`
with `{pending, code}` (a TOTP code or a recovery code) finishes it. With
`two_factor.required`, an agent without it gets `{"two_factor": "enrol", ...}` with the
QR code, and the first code both enables it and signs in (the answer then carries the
ten recovery codes, shown once).

Signed in, `/console/security` (page) and `/console/2fa` (`GET` status, `POST .../enrol`,
`.../confirm`, `.../disable`, `.../recovery-codes`) enrol, turn it off and renew codes.

Every code check is one unit of work that first reserves the attempt against the sign-in
throttle (router/web/console/throttle.py, the account's keys), so wrong codes count like wrong
passwords, and gives it back only when the code was right. The correct password of a
code step stays counted until its code is right: a password cannot reset the count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

from router.config import Config
from router.domain.errors import PayloadRejected
from router.domain.model import Agent
from router.engine import audit
from router.store.base import Tx
from router.web.console import throttle
from router.web.console import twofactor as tf
from router.web.console.signin import ConsoleAuth, _slow_down, same_origin
from router.web.http_errors import json_error, read_json

log = logging.getLogger(__name__)
T = TypeVar("T")
WRONG = "wrong code, or a code that was used already; wait for the next one"


class TwoFactorHttp:
    def __init__(self, auth: ConsoleAuth, sealer: tf.Sealer, *, required: bool, issuer: str,
                 clock: Callable[[], datetime]) -> None:
        self.auth, self.store, self.sealer = auth, auth.store, sealer
        self.required, self.issuer, self.clock = required, issuer, clock
        self.pending = tf.PendingCodec(auth.codec.secret)

    # --- sign-in ---------------------------------------------------------------------
    async def challenge(self, request: web.Request, agent: Agent,
                        method: str) -> web.Response | None:
        """After the first factor: the code step, the enrolment step, or None (no 2FA)."""
        found = await self.store.read(lambda tx: tx.get_two_factor(agent.id))
        body: dict[str, Any] = {"pending": self.pending.issue(agent.name, method)}
        if found is not None and found.enabled_at is not None:
            body["two_factor"] = "code"
        elif self.required:
            body |= {"two_factor": "enrol", **(await self._start(agent)).as_dict()}
        else:
            return None
        resp = web.json_response(body)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    async def login_code(self, request: web.Request) -> web.Response:
        if not same_origin(request):
            return json_error(403, "origin", "sign in from the console's own page")
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        pending = self.pending.verify(body.get("pending"))
        if pending is None:
            return json_error(401, "expired", "the sign-in took too long; start again")
        code = body.get("code")
        code = code if isinstance(code, str) else ""
        address = request.remote or "?"

        async def check(tx: Tx) -> tuple[Agent, dict[str, Any]] | None:
            agent = await tx.get_agent(pending.agent)
            found = await tx.get_two_factor(agent.id, for_update=True) if agent else None
            if agent is None or agent.disabled or found is None:
                return None
            secret = self.sealer.open(found.secret)
            now = self.clock()
            extra: dict[str, Any] = {}
            if found.enabled_at is None:
                codes = await tf.confirm(tx, found, secret, code, now)
                if codes is None:
                    return None
                kind, extra = "totp", {"recovery_codes": codes}
                await audit.record(tx, audit.by_agent(agent, address), "two_factor_enabled",
                                   f"agent:{agent.name}", now=now, detail={"at": "signin"})
            else:
                used = await tf.use_code(tx, found, secret, code, now)
                if used is None:
                    return None
                kind = used
            await audit.record(tx, audit.by_agent(agent, address), "signin",
                               f"agent:{agent.name}", now=now,
                               detail={"method": f"{pending.method}+{kind}"})
            return agent, extra

        async def refused(tx: Tx) -> None:
            who = audit.by_agent(pending.agent, address)
            await audit.record(tx, who, "signin_failed", who.name, now=self.clock(),
                               detail={"step": "code"})

        result = await self._attempt(request, pending.agent, check, on_wrong=refused)
        if isinstance(result, web.Response):
            return result
        if result is None:
            return json_error(401, "wrong_code", WRONG)
        return self.auth.signed_in(request, *result)

    # --- signed in: enrol, confirm, disable, renew ----------------------------------------
    async def _signed_in(self, request: web.Request) -> Agent | web.Response:
        found = await self.auth._session_agent(request)
        if found is None:
            return json_error(401, "unauthorized", "not signed in")
        session, agent = found
        if not self.auth.codec.csrf_ok(request, session):
            return json_error(403, "csrf", "missing or wrong X-CSRF-Token header; reload")
        return agent

    async def status(self, request: web.Request) -> web.Response:
        agent = await self._signed_in(request)
        if isinstance(agent, web.Response):
            return agent
        found = await self.store.read(lambda tx: tx.get_two_factor(agent.id))
        return _no_store({"enabled": bool(found and found.enabled_at),
                          "recovery_codes_left": found.recovery_left if found else 0,
                          "required": self.required})

    async def enrol(self, request: web.Request) -> web.Response:
        agent = await self._signed_in(request)
        if isinstance(agent, web.Response):
            return agent
        found = await self.store.read(lambda tx: tx.get_two_factor(agent.id))
        if found is not None and found.enabled_at is not None:
            return json_error(409, "enabled", "two-factor sign-in is on already; turn it off "
                              "first to move it to another device")
        return _no_store((await self._start(agent)).as_dict())

    async def confirm(self, request: web.Request) -> web.Response:
        return await self._with_code(request, self._confirm)

    async def _confirm(self, tx: Tx, agent: Agent, code: str, address: str) -> Any:
        found = await tx.get_two_factor(agent.id, for_update=True)
        if found is None or found.enabled_at is not None:
            return None
        now = self.clock()
        codes = await tf.confirm(tx, found, self.sealer.open(found.secret), code, now)
        if codes is not None:
            await audit.record(tx, audit.by_agent(agent, address), "two_factor_enabled",
                               f"agent:{agent.name}", now=now, detail={"at": "console"})
        return None if codes is None else {"enabled": True, "recovery_codes": codes}

    async def disable(self, request: web.Request) -> web.Response:
        if self.required:
            return json_error(409, "required", "two-factor sign-in is required here "
                              "(two_factor.required); an admin can reset it with "
                              "`inquiry-router agents 2fa NAME --reset`")
        return await self._with_code(request, self._disable)

    async def _code_ok(self, tx: Tx, agent: Agent, code: str, now: datetime) -> bool:
        """A current code (or a recovery code) of the agent's enabled enrolment, used up."""
        found = await tx.get_two_factor(agent.id, for_update=True)
        if found is None or found.enabled_at is None:
            return False
        return await tf.use_code(tx, found, self.sealer.open(found.secret), code, now) is not None

    async def _disable(self, tx: Tx, agent: Agent, code: str, address: str) -> Any:
        now = self.clock()
        if not await self._code_ok(tx, agent, code, now):
            return None
        await tx.delete_two_factor(agent.id)
        await audit.record(tx, audit.by_agent(agent, address), "two_factor_disabled",
                           f"agent:{agent.name}", now=now)
        return {"enabled": False}

    async def renew(self, request: web.Request) -> web.Response:
        return await self._with_code(request, self._renew)

    async def _renew(self, tx: Tx, agent: Agent, code: str, address: str) -> Any:
        now = self.clock()
        if not await self._code_ok(tx, agent, code, now):
            return None
        codes = tf.new_recovery_codes()
        await tx.replace_recovery_codes(agent.id, [tf.hash_recovery_code(c) for c in codes])
        await audit.record(tx, audit.by_agent(agent, address), "recovery_codes_renewed",
                           f"agent:{agent.name}", now=now)
        return {"recovery_codes": codes}

    # --- shared ----------------------------------------------------------------------
    async def _start(self, agent: Agent) -> tf.Enrolment:
        """A new secret, stored (sealed) as a waiting enrolment; shown once."""
        secret = tf.new_secret()
        sealed, now = self.sealer.seal(secret), self.clock()
        await self.store.write(lambda tx: tx.start_two_factor(agent.id, sealed, now))
        return tf.enrolment(secret, agent, self.issuer)

    async def _with_code(self, request: web.Request,
                         work: Callable[[Tx, Agent, str, str], Awaitable[Any]]) -> web.Response:
        agent = await self._signed_in(request)
        if isinstance(agent, web.Response):
            return agent
        body = await _body(request)
        if isinstance(body, web.Response):
            return body
        code = body.get("code") if isinstance(body.get("code"), str) else ""
        address = request.remote or "?"
        result = await self._attempt(request, agent.name,
                                     lambda tx: work(tx, agent, code, address))
        if isinstance(result, web.Response):
            return result
        if result is None:
            return json_error(400, "wrong_code", WRONG)
        return _no_store(result)

    async def _attempt(self, request: web.Request, account: str,
                       check: Callable[[Tx], Awaitable[T | None]], *,
                       on_wrong: Callable[[Tx], Awaitable[None]] | None = None
                       ) -> T | web.Response | None:
        """One unit: reserve the attempt on the account's throttle keys, check the code,
        give the reservation back when it was right (else record `on_wrong`)."""
        keys = throttle.keys_for(account, request.remote or "?")
        now_ms = int(time.time() * 1000)
        self.sealer.load()  # the key file is read (or made) here, never inside the unit

        async def unit(tx: Tx) -> tuple[float, T | None]:
            wait = await throttle.reserve(tx, keys, now_ms)
            if wait:
                return wait, None
            result = await check(tx)
            if result is not None:
                await throttle.release(tx, keys)
            elif on_wrong is not None:
                await on_wrong(tx)
            return 0.0, result

        async with self.auth.reserving:
            wait, result = await self.store.write(unit)
        if wait:
            return _slow_down(wait, "too many wrong codes; wait and retry")
        return result

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/console/login/code", self.login_code),
                web.get("/console/2fa", self.status),
                web.post("/console/2fa/enrol", self.enrol),
                web.post("/console/2fa/confirm", self.confirm),
                web.post("/console/2fa/disable", self.disable),
                web.post("/console/2fa/recovery-codes", self.renew)]


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await read_json(request)
    except PayloadRejected as exc:
        return json_error(400, "invalid", exc.reason)
    return body if isinstance(body, dict) else {}


def _no_store(body: dict[str, Any]) -> web.Response:
    resp = web.json_response(body)
    resp.headers.update({"Cache-Control": "no-store"})
    return resp



def install(auth: ConsoleAuth, config: Config, clock: Callable[[], datetime]) -> list[web.RouteDef]:
    """The hook router/web/console/mount.py calls: the code step, /console/2fa and the pages."""
    from router.configuration.local_secret import lazy_secret
    from router.web.console import account_pages

    s = config.settings
    sealer = tf.Sealer(lazy_secret(config.data_path(), "twofactor"))
    auth.two_factor = TwoFactorHttp(auth, sealer, required=s.two_factor.required,
                                    issuer=s.two_factor.issuer or s.service.name, clock=clock)
    return [*auth.two_factor.routes(), *account_pages.routes(s.service.name)]
