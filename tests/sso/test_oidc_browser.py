"""Single sign-on in Chromium against a real OpenID provider (issue 29).

The happy path runs end to end in the browser: the sign-in page's provider link, the
provider's own sign-in form, back to the console with a normal console session; its
callback is then replayed at the HTTP level with the browser's own flow cookie. A wrong
audience and an expired ID token (the provider re-signs the token with its own key) are
refused in the browser too: the sign-in page says so and there is no session. A forged
state and a code moved to another flow need a held redirect, which Playwright cannot
route: tests/sso/test_oidc_refusals.py drives those over HTTP.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from playwright.async_api import expect

from router.service import Service
from router.web.console.oidc import FLOW_COOKIE, SingleSignOn
from router.web.console.sessions import COOKIE
from tests.sso.conftest import PASSWORD, PROVIDER_KEY, OidcProvider
from tests.web.conftest import shot_path

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _base(service: Service) -> str:
    return f"http://127.0.0.1:{service.port}"


async def _new_context(browser: Any) -> Any:
    ctx = await browser.new_context(locale="en-GB", viewport={"width": 1100, "height": 760})
    ctx.set_default_timeout(10_000)
    return ctx


async def _to_provider_form(page: Any, base: str, shot: str = "") -> None:
    """The console's sign-in page (SSO link, no password fields), then the provider's."""
    await page.goto(f"{base}/console")
    link = page.locator(f"#sso-{PROVIDER_KEY}")
    await expect(link).to_have_text("Sign in with Test IdP")
    await expect(page.locator("body")).to_have_attribute("data-passwords", "off")
    await expect(page.locator("#password")).to_be_hidden()
    await expect(page.locator("#signin-btn")).to_be_hidden()  # for a token: with its box
    if shot:
        await page.screenshot(path=shot_path(shot))
    await link.click()
    await expect(page.locator("#login")).to_be_visible()


async def _provider_sign_in(page: Any, login: str, password: str = PASSWORD) -> None:
    await page.fill("#login", login)
    await page.fill("#password", password)
    await page.click("#submit")


async def _refused_on_page(page: Any, ctx: Any, base: str, message: str) -> None:
    await expect(page.locator("#signin-error")).to_have_text(message)
    assert urlsplit(page.url).path == "/console"
    assert COOKIE not in {c["name"] for c in await ctx.cookies(base)}
    r = await page.request.get(f"{base}/console/session")
    assert r.status == 401


async def _callback(base_url: str, flow_cookie: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http, \
            http.get(base_url, headers={"Cookie": f"{FLOW_COOKIE}={flow_cookie}"},
                     allow_redirects=False) as resp:
        await resp.read()
        return resp


def _sso(service: Service) -> SingleSignOn:
    assert service.app is not None
    for route in service.app.router.routes():
        owner = getattr(route.handler, "__self__", None)
        if isinstance(owner, SingleSignOn):
            return owner
    raise AssertionError("no single sign-on routes")


async def test_sign_in_with_the_provider_in_chromium(sso_service: Service, browser: Any,
                                                     oidc_provider: OidcProvider,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="router.web.console.oidc")
    base = _base(sso_service)
    ctx = await _new_context(browser)
    callbacks: list[str] = []
    flow_cookies: list[str] = []

    def watch(request: Any) -> None:  # redirects are seen, not routed, by Playwright
        if f"/console/sso/{PROVIDER_KEY}/callback" in request.url:
            callbacks.append(request.url)

    try:
        page = await ctx.new_page()
        page.on("request", watch)
        await _to_provider_form(page, base, "sso-signin-page")
        flow_cookies.extend(c["value"] for c in await ctx.cookies(f"{base}/console/sso/")
                            if c["name"] == FLOW_COOKIE)
        await page.screenshot(path=shot_path("sso-provider-form"))
        await _provider_sign_in(page, "alice", "wrong password")
        await expect(page.locator("#error")).to_have_text("Wrong username or password")
        await _provider_sign_in(page, "alice")

        # back in the console, signed in as the admin alice (matched by her address,
        # case-insensitively), with the console's own session cookie
        await expect(page.locator("body")).to_have_attribute("data-ready", "1")
        await expect(page.locator("#live")).to_have_text("Live")
        await expect(page.locator("#me")).to_have_text("Alice Admin")
        await expect(page.locator("#reports-link")).to_be_visible()
        assert urlsplit(page.url).path == "/console"
        cookies = {c["name"]: c for c in await ctx.cookies(base)}
        assert cookies[COOKIE]["httpOnly"] and cookies[COOKIE]["sameSite"] == "Strict"
        assert FLOW_COOKIE not in cookies  # the flow is over
        session = await (await page.request.get(f"{base}/console/session")).json()
        assert session["agent"]["name"] == "alice" and session["csrf"]
        await page.screenshot(path=shot_path("sso-signed-in"))

        # the API works with the session like after a password sign-in
        r = await page.request.get(f"{base}/api/v1/agents")
        assert r.status == 200

        # a replayed code: the same callback again, with the browser's flow cookie as it
        # was, is refused (this instance saw the state); so it is on another instance,
        # where the provider refuses the code it already redeemed
        assert len(callbacks) == 1 and flow_cookies
        replay = await _callback(callbacks[0], flow_cookies[0])
        assert replay.status == 303 and COOKIE not in replay.cookies
        assert replay.headers["Location"].endswith("?sso_error=state")
        _sso(sso_service)._used.clear()  # as if the replay reached another instance
        replay = await _callback(callbacks[0], flow_cookies[0])
        assert replay.headers["Location"].endswith("?sso_error=code")
        assert COOKIE not in replay.cookies

        # the log names who signed in and why replays were refused, never a secret
        code = parse_qs(urlsplit(callbacks[0]).query)["code"][0]
        assert "agent alice signed in through test" in caplog.text
        for secret in (oidc_provider.client_secret, code, flow_cookies[0],
                       cookies[COOKIE]["value"]):
            assert secret not in caplog.text

        # signing out ends the session as usual
        await page.click("#logout")
        await expect(page.locator("#signin")).to_be_visible()
        await page.click("#token-box summary")  # API tokens still sign in
        await expect(page.locator("#signin-btn")).to_have_text("Sign in with the token")
        r = await page.request.get(f"{base}/console/session")
        assert r.status == 401
    finally:
        await ctx.close()


@pytest.mark.parametrize(("change", "why"), [
    ({"aud": "some-other-client"}, "ID token rejected: aud"),
    ({"aud": ["some-other-client", "and-another"]}, "ID token rejected: aud"),
    ({"exp": -600, "iat": -1200}, "ID token rejected: exp"),
    ({"nonce": "from-another-sign-in"}, "ID token rejected: nonce"),
], ids=["wrong audience", "wrong audiences", "expired", "another nonce"])
async def test_an_id_token_not_for_us_or_expired_is_refused(
        sso_service: Service, browser: Any, oidc_provider: OidcProvider,
        caplog: pytest.LogCaptureFixture, change: dict[str, Any], why: str) -> None:
    base = _base(sso_service)
    ctx = await _new_context(browser)
    try:
        page = await ctx.new_page()
        await _to_provider_form(page, base)
        oidc_provider.tamper_next_id_token(**change)
        await _provider_sign_in(page, "alice")
        await _refused_on_page(page, ctx, base, "The identity provider's answer could not be "
                               "verified. Try again, or ask an admin.")
        assert why in caplog.text
        if "aud" in change and isinstance(change["aud"], str):
            await page.screenshot(path=shot_path("sso-refused"))
    finally:
        await ctx.close()
