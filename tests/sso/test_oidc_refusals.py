"""Single sign-on over HTTP against the real provider (issue 29): what a browser cannot
produce (a forged state, a code moved into another flow), who may sign in as whom
(role claims, just-in-time agents, disabled agents, unverified addresses), passwords
switched off; and a provider that cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest

from router.domain.model import Agent, Role
from router.engine.agents import auth
from router.service import Service
from router.store.base import AuditFilter
from router.web.console.oidc import FLOW_COOKIE
from router.web.console.sessions import COOKIE
from tests.sso.conftest import PROVIDER_KEY, OidcProvider, http_sign_in, start_sso_service

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _base(service: Service) -> str:
    return f"http://127.0.0.1:{service.port}"


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | params
    return urlunsplit(parts._replace(query=urlencode(query)))


async def _callback(url: str, jar: aiohttp.CookieJar) -> tuple[str, set[str]]:
    """Deliver a callback with this jar's cookies: (where it sends us, cookies set)."""
    async with aiohttp.ClientSession(cookie_jar=jar) as http, \
            http.get(url, allow_redirects=False) as resp:
        assert resp.status == 303
        return resp.headers["Location"], {k for k, m in resp.cookies.items() if m.value}


def _refused(location: str) -> str:
    assert location.startswith("../../../console?"), location
    return parse_qs(urlsplit(location).query)["sso_error"][0]


def _signed_in(jar: aiohttp.CookieJar) -> bool:
    return any(c.key == COOKIE and c.value for c in jar)


async def test_a_forged_state_is_refused_before_the_code_is_used(sso_service: Service) -> None:
    base = _base(sso_service)
    url, jar = await http_sign_in(base, "alice", hold=True)
    assert any(c.key == FLOW_COOKIE for c in jar)
    where, cookies = await _callback(_with_query(url, state="forged-by-an-attacker"), jar)
    assert _refused(where) == "state" and COOKIE not in cookies
    # the refusal ended the flow: the genuine callback is refused as well
    where, cookies = await _callback(url, jar)
    assert _refused(where) == "state" and COOKIE not in cookies
    # and a callback without any flow cookie, however genuine its parameters
    _, other = await http_sign_in(base, "alice", hold=True)
    where, _ = await _callback(url, aiohttp.CookieJar(unsafe=True))
    assert _refused(where) == "state"
    # a flow cookie edited by hand (its signature no longer matches) is no flow cookie
    flow = next(c.value for c in other if c.key == FLOW_COOKIE)
    head, _, sig = flow.partition(".")
    for forged in (f"{head}.{sig[::-1]}", f"{head[:-4]}AAAA.{sig}"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http, \
                http.get(url, headers={"Cookie": f"{FLOW_COOKIE}={forged}"},
                         allow_redirects=False) as resp:
            assert _refused(resp.headers["Location"]) == "state"


async def test_a_code_moved_into_another_flow_is_refused(sso_service: Service) -> None:
    """A code intercepted from one sign-in and delivered with another browser's flow:
    the provider refuses it (its PKCE challenge was made for the other verifier)."""
    base = _base(sso_service)
    stolen, _ = await http_sign_in(base, "alice", hold=True)
    fresh, jar = await http_sign_in(base, "eve", hold=True)
    code = parse_qs(urlsplit(stolen).query)["code"][0]
    where, cookies = await _callback(_with_query(fresh, code=code), jar)
    assert _refused(where) == "code" and COOKIE not in cookies


async def test_a_provider_error_is_refused(sso_service: Service) -> None:
    base = _base(sso_service)
    url, jar = await http_sign_in(base, "alice", hold=True)
    state = parse_qs(urlsplit(url).query)["state"][0]
    callback = f"{base}/console/sso/{PROVIDER_KEY}/callback?" + urlencode(
        {"state": state, "error": "access_denied", "iss": "ignored"})
    where, _ = await _callback(callback, jar)
    assert _refused(where) == "provider"


async def test_another_issuer_in_the_response_is_refused(sso_service: Service) -> None:
    """RFC 9207: the response names its issuer; another one is a mix-up attack."""
    url, jar = await http_sign_in(_base(sso_service), "alice", hold=True)
    where, _ = await _callback(_with_query(url, iss="https://evil.example"), jar)
    assert _refused(where) == "provider"


async def test_roles_from_the_group_claim(sso_service: Service) -> None:
    base, store = _base(sso_service), sso_service.store
    now = datetime.now(UTC)
    await store.write(lambda tx: tx.upsert_agent(Agent(0, "bob", display_name="Bob",
                                                       email="BOB@example.com"), now))
    await store.write(lambda tx: tx.upsert_agent(Agent(0, "dave", email="dave@example.com",
                                                       disabled=True), now))

    # bob exists as an agent; the provider says support-admins: he signs in as admin
    url, jar = await http_sign_in(base, "bob")
    assert urlsplit(url).path == "/console" and _signed_in(jar)
    assert (await store.read(lambda tx: tx.get_agent("bob"))).role == Role.ADMIN

    # carl is new: created at first sign-in, as the agent his group maps to
    url, jar = await http_sign_in(base, "carl")
    assert _signed_in(jar)
    carl = await store.read(lambda tx: tx.get_agent("carl.nilsson"))
    assert carl is not None and carl.role == Role.AGENT and carl.source == "sso"
    assert (carl.email, carl.display_name) == ("carl.nilsson@example.com", "Carl Nilsson")
    async with aiohttp.ClientSession(cookie_jar=jar) as http, \
            http.get(f"{base}/console/session") as resp:
        assert (await resp.json())["agent"]["name"] == "carl.nilsson"
    url, _ = await http_sign_in(base, "carl")  # the second time he is found, not re-made
    assert "sso_error" not in url
    assert len([a for a in await store.read(lambda tx: tx.list_agents())
                if a.email == "carl.nilsson@example.com"]) == 1

    # alice is declared in config.yaml: her role stays the configured one (admin either way)
    for who, reason in [("eve", "not_allowed"), ("dave", "disabled"), ("unverified", "email")]:
        url, jar = await http_sign_in(base, who)
        assert parse_qs(urlsplit(url).query)["sso_error"] == [reason], who
        assert not _signed_in(jar)
    assert await store.read(lambda tx: tx.get_agent("eve")) is None

    # the audit log says who made carl and who changed bob's role
    changes = await store.read(lambda tx: tx.audit_list(
        AuditFilter(actions=("agent_added", "agent_changed")), 100))
    assert sorted((r.action, r.actor, r.object, r.detail.get("role")) for r in changes
                  if r.actor != "config") == [
        ("agent_added", "agent:carl.nilsson", "agent:carl.nilsson", "agent"),
        ("agent_changed", f"sso:{PROVIDER_KEY}", "agent:bob", ["agent", "admin"]),
    ]


async def test_passwords_switched_off(sso_service: Service) -> None:
    base, store = _base(sso_service), sso_service.store
    from router.web.console.passwords import hash_password

    stored = hash_password("a long enough password")
    await store.write(lambda tx: tx.set_agent_password("alice", stored))
    token = await store.write(lambda tx: auth.issue_token(tx, "alice", datetime.now(UTC)))
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/console/login", json={
                "email": "alice@example.com", "password": "a long enough password"}) as resp:
            assert resp.status == 403
            assert (await resp.json())["error"]["code"] == "passwords_off"
            assert COOKIE not in resp.cookies
        async with http.post(f"{base}/console/login", json={"token": token}) as resp:
            assert resp.status == 200  # API tokens still sign in
        async with http.get(f"{base}/console/sso") as resp:
            assert await resp.json() == {"passwords": False, "providers": [{
                "id": PROVIDER_KEY, "label": "Test IdP", "url": f"console/sso/{PROVIDER_KEY}/start"}]}
        async with http.get(f"{base}/console/sso/nope/start") as resp:
            assert resp.status == 404


async def test_an_unreachable_provider_is_named_not_a_500(oidc_provider: OidcProvider,
                                                          tmp_path: Path) -> None:
    """Discovery that fails (here: the issuer in the document is another) refuses the
    sign-in with `unavailable`, and the service keeps running."""
    service = await start_sso_service(tmp_path, oidc_provider, extra="")
    try:
        client = next(iter(_clients(service).values()))
        client.settings = client.settings.model_copy(update={"issuer": oidc_provider.issuer + "/"})
        async with aiohttp.ClientSession() as http, http.get(
                f"{_base(service)}/console/sso/{PROVIDER_KEY}/start", allow_redirects=False) as resp:
            assert resp.status == 303
            assert _refused(resp.headers["Location"]) == "unavailable"
    finally:
        await service.stop()


def _clients(service: Service) -> dict:
    from router.web.console.oidc import SingleSignOn

    assert service.app is not None
    for route in service.app.router.routes():
        owner = getattr(route.handler, "__self__", None)
        if isinstance(owner, SingleSignOn):
            return owner.clients
    raise AssertionError("no single sign-on routes")


async def test_sign_ins_and_refusals_are_audited(sso_service: Service) -> None:
    """One `signin` per single sign-on, one `signin_failed` per refusal of a sign-in we
    started; callbacks nobody started are only logged (anyone can send those)."""
    base, store = _base(sso_service), sso_service.store
    now = datetime.now(UTC)
    await store.write(lambda tx: tx.upsert_agent(Agent(0, "dave", email="dave@example.com",
                                                       disabled=True), now))
    first = max((r.id for r in await store.read(lambda tx: tx.audit_list(AuditFilter(), 1))),
                default=0)

    url, _ = await http_sign_in(base, "alice")
    assert "sso_error" not in url
    url, _ = await http_sign_in(base, "eve")
    assert "sso_error=not_allowed" in url
    url, _ = await http_sign_in(base, "dave")
    assert "sso_error=disabled" in url
    held, jar = await http_sign_in(base, "alice", hold=True)
    await _callback(_with_query(held, state="forged"), jar)  # a flow of ours: audited
    await _callback(held, aiohttp.CookieJar(unsafe=True))  # no flow: logged only

    found = sorted((r for r in await store.read(lambda tx: tx.audit_list(AuditFilter(), 100))
                    if r.id > first), key=lambda r: r.id)
    assert [(r.action, r.actor, r.object, r.detail) for r in found] == [
        ("signin", "agent:alice", "agent:alice", {"method": "sso", "provider": PROVIDER_KEY}),
        ("signin_failed", "", "", {"step": "sso", "provider": PROVIDER_KEY,
                                   "reason": "not_allowed"}),
        ("signin_failed", "agent:dave", "agent:dave", {"step": "sso", "provider": PROVIDER_KEY,
                                                       "reason": "disabled"}),
        ("signin_failed", "", "", {"step": "sso", "provider": PROVIDER_KEY, "reason": "state"}),
    ]
    assert all(r.source == "127.0.0.1" for r in found)
