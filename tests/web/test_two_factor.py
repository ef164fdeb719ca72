"""Two-factor sign-in (issue 29) over HTTP against the running service: enrolment with a
first code, then a wrong code, a replayed code (within its window) and a used recovery
code are refused, a fresh code and an unused recovery code sign in; wrong codes count
against the sign-in throttle; with `two_factor.required` an agent enrols during sign-in.
Codes are made in the test with pyotp from the secret the service showed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
import pytest_asyncio

from router.cli import main as cli
from router.config import load_config
from router.service import Decider, Service
from router.store.base import AuditFilter
from router.web.console.passwords import hash_password
from tests.conftest import write_config
from tests.web.conftest import AGENT_EMAIL, AGENT_PASSWORD, chat_decide

CONFIG = f"""
service: {{name: Exempel AB}}
channels: {{loopback: {{}}}}
agents:
  anna: {{name: Anna Berg, email: {AGENT_EMAIL}}}
"""
_HASH = hash_password(AGENT_PASSWORD)


@pytest_asyncio.fixture
async def start(tmp_path: Path) -> AsyncIterator[Any]:
    started: list[Service] = []

    async def run(extra: str = "") -> Service:
        config = load_config(write_config(tmp_path, CONFIG + extra))
        service = Service(config, decider=Decider(chat_decide))
        await service.start(port=0)
        started.append(service)
        await service.store.write(lambda tx: tx.set_agent_password("anna", _HASH))
        return service

    yield run
    for service in started:
        await service.stop()


def _session() -> aiohttp.ClientSession:
    # unsafe=True: keep cookies for 127.0.0.1 (aiohttp drops cookies of bare IPs otherwise)
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


class Browser:
    """One cookie jar: what a browser tab holds."""

    def __init__(self, service: Service, http: aiohttp.ClientSession) -> None:
        self.base, self.http, self.csrf = f"http://127.0.0.1:{service.port}", http, ""

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf} if self.csrf else {}
        async with self.http.post(self.base + path, json=body, headers=headers) as r:
            return r.status, await r.json()

    async def password(self) -> dict[str, Any]:
        status, body = await self.post("/console/login",
                                       {"email": AGENT_EMAIL, "password": AGENT_PASSWORD})
        assert status == 200, body
        return body

    async def signed_in(self) -> None:
        async with self.http.get(self.base + "/console/session") as r:
            assert r.status == 200
            self.csrf = (await r.json())["csrf"]


def codes(secret: str, t0: float) -> tuple[str, str, str]:
    """(the code of t0's step, of the next step, one no step near t0 has)."""
    totp = pyotp.TOTP(secret)
    near = {totp.at(t0 + k * 30) for k in range(-2, 4)}
    wrong = next(c for c in (f"{n:06d}" for n in range(1000)) if c not in near)
    return totp.at(t0), totp.at(t0 + 30), wrong


async def test_enrol_then_codes_replays_and_recovery_codes(start) -> None:
    service = await start()
    async with _session() as http:
        tab = Browser(service, http)
        assert "two_factor" not in await tab.password()  # none yet: signed in at once
        await tab.signed_in()
        status, enrol = await tab.post("/console/2fa/enrol", {})
        assert status == 200 and enrol["otpauth_uri"].startswith("otpauth://totp/")
        assert enrol["qr"].startswith("data:image/svg+xml") and len(enrol["secret"]) == 32
        secret, t0 = enrol["secret"], time.time()
        now_code, next_code, wrong = codes(secret, t0)
        assert (await tab.post("/console/2fa/confirm", {"code": wrong}))[0] == 400
        status, confirmed = await tab.post("/console/2fa/confirm", {"code": now_code})
        assert status == 200 and len(set(confirmed["recovery_codes"])) == 10
        recovery = confirmed["recovery_codes"][0]

    # the secret is kept encrypted: the database alone gives no codes
    with sqlite3.connect(service.config.sqlite_path()) as db:
        (sealed,) = db.execute("SELECT secret FROM agent_two_factor").fetchone()
    assert secret not in sealed

    async def sign_in(code: str) -> tuple[int, Any]:
        async with _session() as fresh:
            tab = Browser(service, fresh)
            challenge = await tab.password()
            assert challenge["two_factor"] == "code" and "csrf" not in challenge
            async with fresh.get(tab.base + "/api/v1/me") as r:
                assert r.status == 401  # the password alone opened nothing
            return await tab.post("/console/login/code",
                                  {"pending": challenge["pending"], "code": code})

    status, refused = await sign_in(wrong)
    assert status == 401 and refused["error"]["code"] == "wrong_code"
    assert (await sign_in(now_code))[0] == 401  # the enrolment's code: used already
    status, session = await sign_in(next_code)
    assert status == 200 and session["agent"]["name"] == "anna" and session["csrf"]
    assert (await sign_in(next_code))[0] == 401  # replayed within its window
    assert (await sign_in(recovery.upper().replace("-", " ")))[0] == 200  # typed loosely
    assert (await sign_in(recovery))[0] == 401  # each recovery code works once
    # a forged or changed pending token is not a first factor
    async with _session() as http:
        tab = Browser(service, http)
        challenge = await tab.password()
        forged = challenge["pending"].replace("anna", "olle", 1)
        status, body = await tab.post("/console/login/code", {"pending": forged, "code": wrong})
        assert status == 401 and body["error"]["code"] == "expired"

    # a lost phone without recovery codes: an admin resets it, the agent signs in (and
    # would enrol again)
    out = await asyncio.to_thread(_cli, "agents", "--config", str(service.config.path), "2fa",
                                  "anna", "--reset")
    assert "removed" in out
    async with _session() as http:
        assert "two_factor" not in await Browser(service, http).password()

    found = await service.store.read(lambda tx: tx.audit_list(AuditFilter(), 100))
    signins = [(r.action, r.detail) for r in reversed(found) if r.action.startswith("signin")
               or r.action.startswith("two_factor")]
    assert signins == [
        ("signin", {"method": "password"}), ("two_factor_enabled", {"at": "console"}),
        ("signin_failed", {"step": "code"}), ("signin_failed", {"step": "code"}),
        ("signin", {"method": "password+totp"}), ("signin_failed", {"step": "code"}),
        ("signin", {"method": "password+recovery_code"}), ("signin_failed", {"step": "code"}),
        ("two_factor_reset", {}), ("signin", {"method": "password"})]


async def test_wrong_codes_count_against_the_sign_in_throttle(start) -> None:
    service = await start()
    async with _session() as http:
        tab = Browser(service, http)
        await tab.password()
        await tab.signed_in()
        secret = (await tab.post("/console/2fa/enrol", {}))[1]["secret"]
        t0 = time.time()
        now_code, next_code, wrong = codes(secret, t0)
        assert (await tab.post("/console/2fa/confirm", {"code": now_code}))[0] == 200
    async with _session() as http:
        tab = Browser(service, http)
        pending = (await tab.password())["pending"]
        statuses = [(await tab.post("/console/login/code", {"pending": pending, "code": wrong}))[0]
                    for _ in range(10)]
        # the password counts until its code is right: 1 + 8 wrong codes reach the limit of
        # 10 for the account at this address with the 9th wrong code, then 429s
        assert statuses == [401] * 9 + [429]
        status, body = await tab.post("/console/login/code", {"pending": pending, "code": next_code})
        assert status == 429 and body["error"]["code"] == "slow_down"


async def test_required_two_factor_enrols_during_sign_in(start) -> None:
    service = await start("two_factor: {required: true, issuer: Exempel Support}\n")
    async with _session() as http:
        tab = Browser(service, http)
        challenge = await tab.password()
        assert challenge["two_factor"] == "enrol"
        assert "issuer=Exempel%20Support" in challenge["otpauth_uri"]
        assert "anna%40example.com" in challenge["otpauth_uri"]
        now_code, _, wrong = codes(challenge["secret"], time.time())
        assert (await tab.post("/console/login/code",
                               {"pending": challenge["pending"], "code": wrong}))[0] == 401
        status, session = await tab.post("/console/login/code",
                                         {"pending": challenge["pending"], "code": now_code})
        assert status == 200 and len(session["recovery_codes"]) == 10
        await tab.signed_in()
        status, state = await tab.post("/console/2fa/disable", {"code": session["recovery_codes"][0]})
        assert status == 409 and state["error"]["code"] == "required"
        async with http.get(tab.base + "/console/2fa") as r:
            assert (await r.json()) == {"enabled": True, "recovery_codes_left": 10, "required": True}
    assert (await tab_login_kind(service)) == "code"  # enrolled: the next sign-in asks a code


async def tab_login_kind(service: Service) -> str:
    async with _session() as http:
        return (await Browser(service, http).password())["two_factor"]


def _cli(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(list(argv)) == 0
    return out.getvalue()


async def test_new_recovery_codes_and_turning_it_off(start) -> None:
    service = await start()
    async with _session() as http:
        tab = Browser(service, http)
        await tab.password()
        await tab.signed_in()
        secret = (await tab.post("/console/2fa/enrol", {}))[1]["secret"]
        now_code, _, wrong = codes(secret, time.time())
        old = (await tab.post("/console/2fa/confirm", {"code": now_code}))[1]["recovery_codes"]
        assert (await tab.post("/console/2fa/enrol", {}))[0] == 409  # on already
        assert (await tab.post("/console/2fa/recovery-codes", {"code": wrong}))[0] == 400
        status, renewed = await tab.post("/console/2fa/recovery-codes", {"code": old[0]})
        assert status == 200 and not set(renewed["recovery_codes"]) & set(old)
        assert (await tab.post("/console/2fa/disable", {"code": old[1]}))[0] == 400  # replaced
        status, off = await tab.post("/console/2fa/disable", {"code": renewed["recovery_codes"][0]})
        assert status == 200 and off == {"enabled": False}
        async with http.get(tab.base + "/console/2fa") as r:
            assert (await r.json())["enabled"] is False
    actions = [r.action for r in await service.store.read(
        lambda tx: tx.audit_list(AuditFilter(actions=(
            "two_factor_enabled", "recovery_codes_renewed", "two_factor_disabled")), 10))]
    assert actions == ["two_factor_disabled", "recovery_codes_renewed", "two_factor_enabled"]
