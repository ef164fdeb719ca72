"""Single sign-on for agents with OpenID Connect (issue 29).

The authorization code flow with PKCE (S256), as a confidential client (or a public one,
`token_auth: none`), against any provider with a discovery document: Entra ID, Google,
Keycloak, ... authlib builds the requests and validates the ID token's claims
(`authlib.oidc.core.CodeIDToken`); joserfc, authlib's JOSE layer, checks its signature
against the provider's published keys. aiohttp carries the three requests (discovery,
keys, token), so no second HTTP client is needed.

    GET /console/sso                 {"passwords": bool, "providers": [{id, label, url}]}
    GET /console/sso/<id>/start      sets the flow cookie, redirects to the provider
    GET /console/sso/<id>/callback   checks everything, sets the console session cookie

What is checked, and what a failure is called (`?sso_error=` on the sign-in page, and
the log line's reason; neither carries a code, a token or a secret):
- `state`: the flow cookie (HMAC with the console secret, 10 minutes, bound to this
  browser: SameSite=Lax so the provider's redirect carries it) must exist and hold the
  `state` the provider sent back; a forged or missing state is refused before any code
  is redeemed. A state is accepted once per instance (a replayed callback is refused
  without asking the provider), and the provider refuses a code redeemed twice anyway.
- `provider`: the provider answered with an error (the person cancelled, say), or with
  another issuer (`iss`, RFC 9207) than ours.
- `code`: the token endpoint refused the code (replayed, expired, or the PKCE verifier
  does not match) or did not answer with an ID token.
- `id_token`: signature (the provider's keys, asymmetric algorithms only), `iss`, `aud`
  (must contain our client id; `azp` ours when present), `exp`/`iat` (with `clock_skew`),
  `nonce` (the flow's), `at_hash`.
- `unavailable`: discovery or keys could not be fetched.
- `email`, `not_allowed`, `no_agent`, `ambiguous`, `disabled`: the person is not one of
  our agents (see `_agent_for`).

A sign-in that passes gets the console's normal session (router/web/console/sessions.py): the
same cookie, CSRF token and lifetime as a password sign-in, so signing out, disabling
the agent and the API behave the same. Local two-factor codes are not asked for: the
provider's own multi-factor policy applies.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from aiohttp import web
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from router.config import Config
from router.domain.agent_errors import ConflictError
from router.domain.model import Agent, Role
from router.engine import audit
from router.engine.agents import roster
from router.store.base import Store, Tx
from router.web.console.sessions import set_cookie
from router.web.console.signin import TTL, ConsoleAuth
from router.web.console.sso_settings import ConsoleAuthSettings, SsoProvider
from router.web.static import is_secure

log = logging.getLogger(__name__)

FLOW_COOKIE = "ir_sso"
FLOW_PATH = "/console/sso/"
FLOW_TTL = 600  # seconds from "Sign in with ..." to the provider's redirect back
METADATA_TTL = 3600  # discovery documents are re-read hourly (key rotation, moves)
MAX_BODY = 1 << 20
#: signatures an ID token may carry: asymmetric only (an HMAC "signature" keyed with a
#: public key, or `none`, must never pass)
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
              "ES512", "EdDSA", "Ed25519")
_NAME_CHARS = re.compile(r"[^a-z0-9_.-]+")
_ERROR_CODE = re.compile(r"[^A-Za-z0-9_.-]")


class Refused(Exception):
    """A sign-in that must not go through: `code` for the page, `reason` for the log."""

    def __init__(self, code: str, reason: str, *, agent: str = "", audited: bool = True) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.agent = agent  # when known (a disabled agent)
        #: False for callbacks no sign-in of ours started (anyone can send those): they are
        #: logged, not added to the audit log
        self.audited = audited


@dataclass(frozen=True, slots=True)
class Flow:
    """What the browser carries between start and callback (signed, not secret from it)."""

    provider: str
    state: str
    nonce: str
    verifier: str
    issued: int


def _mac(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), ("sso-flow:" + text).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def seal(flow: Flow, secret: str) -> str:
    body = base64.urlsafe_b64encode(orjson.dumps(
        [flow.provider, flow.state, flow.nonce, flow.verifier, flow.issued])).rstrip(b"=").decode()
    return f"{body}.{_mac(secret, body)}"


def unseal(value: str, secret: str, now: float) -> Flow | None:
    """The flow in a cookie, or None when it is missing, forged, malformed or too old."""
    body, _, sig = value.partition(".")
    if not body or len(value) > 1000 or not hmac.compare_digest(sig.encode(), _mac(secret, body).encode()):
        return None
    try:
        fields = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        flow = Flow(*fields)
    except (ValueError, TypeError):
        return None
    if not isinstance(flow.issued, int) or not 0 <= now - flow.issued <= FLOW_TTL:
        return None
    return flow


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """`realm_access.roles` -> claims["realm_access"]["roles"] (None when absent)."""
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def role_for(settings: SsoProvider, claims: Mapping[str, Any]) -> Role | None:
    """The role the claims give; None when `roles` maps nothing this person has."""
    raw = claim_at(claims, settings.roles_claim)
    values = {raw} if isinstance(raw, str) else {v for v in raw if isinstance(v, str)} \
        if isinstance(raw, list) else set()
    if values & set(settings.roles.admin):
        return Role.ADMIN
    if values & set(settings.roles.agent):
        return Role.AGENT
    return None


class OidcClient:
    """One provider: its discovery document and keys (cached), the two requests."""

    def __init__(self, key: str, settings: SsoProvider, http: Callable[[], aiohttp.ClientSession]
                 ) -> None:
        self.key = key
        self.settings = settings
        self._http = http
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._lock = asyncio.Lock()

    @property
    def label(self) -> str:
        return self.settings.label or self.key

    async def _get_json(self, url: str) -> Any:
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        try:
            async with self._http().get(url, timeout=timeout) as resp:
                body = await resp.content.read(MAX_BODY)
                if resp.status != 200:
                    raise Refused("unavailable", f"{url} answered {resp.status}")
                return orjson.loads(body)
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
            raise Refused("unavailable", f"{url}: {type(exc).__name__}") from None

    async def metadata(self) -> dict[str, Any]:
        async with self._lock:
            if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL:
                issuer = self.settings.issuer
                found = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
                if not isinstance(found, dict) or found.get("issuer") != issuer:
                    raise Refused("unavailable", "the discovery document names another issuer "
                                  f"than {issuer}")
                for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(needed), str):
                        raise Refused("unavailable", f"the discovery document has no {needed}")
                self._metadata, self._metadata_at, self._keys = found, time.monotonic(), None
            return self._metadata

    async def keys(self, *, fresh: bool = False) -> KeySet:
        meta = await self.metadata()
        if self._keys is None or fresh:
            found = await self._get_json(meta["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(found)
            except (JoseError, ValueError, TypeError, KeyError):
                raise Refused("unavailable", "the provider's keys (jwks_uri) are unreadable") from None
        return self._keys

    def redirect_uri(self, request: web.Request, public_url: str) -> str:
        if self.settings.redirect_uri:
            return self.settings.redirect_uri
        base = public_url.rstrip("/") if public_url else \
            f"{'https' if is_secure(request) else 'http'}://{request.host}"
        return f"{base}/console/sso/{self.key}/callback"

    async def authorize_url(self, flow: Flow, redirect_uri: str) -> str:
        meta = await self.metadata()
        return prepare_grant_uri(
            meta["authorization_endpoint"], self.settings.client_id, "code",
            redirect_uri=redirect_uri, scope=self.settings.scopes, state=flow.state,
            nonce=flow.nonce, code_challenge=create_s256_code_challenge(flow.verifier),
            code_challenge_method="S256")

    async def redeem(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The token response for `code`; Refused("code") when the provider says no."""
        meta = await self.metadata()
        s = self.settings
        body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri,
                                     code_verifier=verifier)
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json"}
        url, headers, body = ClientAuth(s.client_id, s.client_secret, s.token_auth).prepare(
            "POST", meta["token_endpoint"], headers, body)
        try:
            async with self._http().post(url, data=body.encode(), headers=headers,
                                         allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=s.timeout)) as resp:
                raw = await resp.content.read(MAX_BODY)
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Refused("unavailable", f"token endpoint: {type(exc).__name__}") from None
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            answer = None
        if status != 200 or not isinstance(answer, dict):
            error = answer.get("error", "") if isinstance(answer, dict) else ""
            raise Refused("code", f"the token endpoint refused the code ({status} "
                          f"{_ERROR_CODE.sub('', str(error))[:40]})")
        if not isinstance(answer.get("id_token"), str):
            raise Refused("code", "the token response carries no id_token")
        return answer

    async def id_token_claims(self, answer: Mapping[str, Any], nonce: str) -> dict[str, Any]:
        """The validated claims of the ID token in a token response."""
        meta = await self.metadata()
        offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in offered if a in ASYMMETRIC] or ["RS256"]
        raw = answer["id_token"]
        try:
            try:
                token = jwt.decode(raw, await self.keys(), algorithms=algorithms)
            except InvalidKeyIdError:  # keys rotated since we fetched them
                token = jwt.decode(raw, await self.keys(fresh=True), algorithms=algorithms)
        except (JoseError, ValueError) as exc:
            raise Refused("id_token", f"ID token rejected: {type(exc).__name__}") from None
        s = self.settings
        params = {"nonce": nonce, "client_id": s.client_id}
        if isinstance(answer.get("access_token"), str):
            params["access_token"] = answer["access_token"]
        claims = CodeIDToken(token.claims, token.header, {
            "iss": {"essential": True, "value": s.issuer},
            "aud": {"essential": True, "value": s.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }, params)
        try:
            claims.validate(now=int(time.time()), leeway=s.clock_skew)
        except JoseError as exc:
            what = getattr(exc, "claim", None) or getattr(exc, "error", "") or type(exc).__name__
            raise Refused("id_token", f"ID token rejected: {what} "
                          f"({getattr(exc, 'description', '') or type(exc).__name__})") from None
        return dict(claims)


class SingleSignOn:
    """The routes and the agent mapping; one per service."""

    def __init__(self, store: Store, secret: str, settings: ConsoleAuthSettings, *,
                 public_url: str, issue_session: Callable[[web.StreamResponse, web.Request, str], None],
                 clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.secret = secret
        self.settings = settings
        self.public_url = public_url
        self.issue_session = issue_session
        self.clock = clock or (lambda: datetime.now(UTC))
        self._session: aiohttp.ClientSession | None = None
        self.clients = {k: OidcClient(k, p, self._http) for k, p in settings.sso.items()}
        self._used: dict[str, float] = {}  # state -> monotonic expiry (replayed callbacks)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers={"User-Agent": "inquiry-router-sso"})
        return self._session

    async def close(self, _app: web.Application | None = None) -> None:
        if self._session is not None:
            await self._session.close()

    # --- routes -------------------------------------------------------------------------
    async def list_providers(self, request: web.Request) -> web.Response:
        items = [{"id": c.key, "label": c.label, "url": f"console/sso/{c.key}/start"}
                 for c in self.clients.values()]
        return web.json_response({"passwords": self.settings.passwords, "providers": items},
                                 headers={"Cache-Control": "no-store"})

    def _client(self, request: web.Request) -> OidcClient:
        client = self.clients.get(request.match_info["provider"])
        if client is None:
            raise web.HTTPNotFound()
        return client

    async def start(self, request: web.Request) -> web.StreamResponse:
        client = self._client(request)
        flow = Flow(client.key, generate_token(32), generate_token(32),
                    secrets.token_urlsafe(48), int(time.time()))
        try:
            url = await client.authorize_url(flow, client.redirect_uri(request, self.public_url))
        except Refused as exc:
            return self._refuse(request, client, exc)
        resp = _redirect(url, 302)
        resp.set_cookie(FLOW_COOKIE, seal(flow, self.secret), max_age=FLOW_TTL, path=FLOW_PATH,
                        httponly=True, samesite="Lax", secure=is_secure(request))
        return resp

    async def callback(self, request: web.Request) -> web.StreamResponse:
        client = self._client(request)
        try:
            agent = await self._sign_in(request, client)
        except Refused as exc:
            if exc.audited:
                await self._audit_refusal(request, client, exc)
            return self._refuse(request, client, exc)
        resp = _redirect("../../../console")
        self.issue_session(resp, request, agent.name)
        resp.del_cookie(FLOW_COOKIE, path=FLOW_PATH)
        log.info("console: agent %s signed in through %s", agent.name, client.key)
        return resp

    async def _audit_refusal(self, request: web.Request, client: OidcClient, exc: Refused) -> None:
        """`signin_failed` in a unit of its own (the refused unit, if any, rolled back)."""
        who = f"agent:{exc.agent}" if exc.agent else ""
        detail = {"step": "sso", "provider": client.key, "reason": exc.code}
        now = self.clock()
        await self.store.write(lambda tx: audit.record(
            tx, audit.Actor(who, request.remote or ""), "signin_failed", who, now=now,
            detail=detail))

    def _refuse(self, request: web.Request, client: OidcClient, exc: Refused) -> web.StreamResponse:
        log.warning("console: single sign-on through %s refused (%s): %s", client.key, exc.code,
                    exc.reason)
        # back to the sign-in page, which says what went wrong (relative: works under a
        # proxy's path prefix too)
        resp = _redirect("../../../console?" + urlencode({"sso_error": exc.code}))
        resp.del_cookie(FLOW_COOKIE, path=FLOW_PATH)
        return resp

    # --- the checks, in order -------------------------------------------------------------
    async def _sign_in(self, request: web.Request, client: OidcClient) -> Agent:
        q = request.query
        now = time.time()
        flow = unseal(request.cookies.get(FLOW_COOKIE, ""), self.secret, now)
        if flow is None or flow.provider != client.key:
            raise Refused("state", "no sign-in started in this browser (flow cookie missing, "
                          "expired or forged)", audited=False)
        if not hmac.compare_digest(q.get("state", "").encode(), flow.state.encode()):
            raise Refused("state", "the state sent back is not the one this browser started with")
        self._consume(flow.state)
        if "error" in q:
            raise Refused("provider", "the provider answered "
                          f"{_ERROR_CODE.sub('', q['error'])[:40]}")
        meta = await client.metadata()
        iss = q.get("iss")
        if (iss is not None and iss != client.settings.issuer) or (
                iss is None and meta.get("authorization_response_iss_parameter_supported")):
            raise Refused("provider", "the response's iss is not our provider (mix-up)")
        code = q.get("code", "")
        if not code:
            raise Refused("code", "the provider sent no code")
        redirect_uri = client.redirect_uri(request, self.public_url)
        answer = await client.redeem(code, flow.verifier, redirect_uri)
        claims = await client.id_token_claims(answer, flow.nonce)
        return await self._agent_for(client, claims, request.remote or "")

    def _consume(self, state: str) -> None:
        """Accept `state` once on this instance (the oldest entries come first: when the
        first has expired, the expired ones are dropped)."""
        mono = time.monotonic()
        if self._used and next(iter(self._used.values())) < mono:
            self._used = {k: t for k, t in self._used.items() if t >= mono}
        if state in self._used:
            raise Refused("state", "this sign-in was already completed (replayed callback)")
        self._used[state] = mono + FLOW_TTL + 60

    async def _agent_for(self, client: OidcClient, claims: Mapping[str, Any], source: str) -> Agent:
        """The agent these claims sign in as, created or its role updated as configured.

        - the email claim must be present (and `email_verified`, unless switched off);
        - with `roles` set, the role claim must map to admin or agent, else `not_allowed`;
          the mapped role is given to agents not declared in config.yaml (those keep
          their configured role: config.yaml is re-applied at every start);
        - exactly one agent with that email (case-insensitive), enabled; none: created
          when `create_agents` is on (`no_agent` otherwise); two: `ambiguous`."""
        s = client.settings
        email = claim_at(claims, s.email_claim)
        if not isinstance(email, str) or "@" not in email:
            raise Refused("email", f"the ID token has no address in {s.email_claim}")
        if s.require_verified_email and claims.get("email_verified") not in (True, "true"):
            raise Refused("email", "the provider does not say the address is verified")
        mapped = role_for(s, claims) if (s.roles.admin or s.roles.agent) else None
        if (s.roles.admin or s.roles.agent) and mapped is None:
            raise Refused("not_allowed", f"no value of {s.roles_claim} is mapped to a role")
        now = self.clock()

        async def unit(tx: Tx) -> Agent:
            found = [a for a in await tx.list_agents() if a.email.lower() == email.lower()]
            if len(found) > 1:
                raise Refused("ambiguous", "more than one agent has this address")
            if not found:
                if not s.create_agents:
                    raise Refused("no_agent", "no agent has this address")
                agent = Agent(0, await _free_name(tx, claims, email),
                              display_name=_display(claims, email), email=email,
                              role=mapped or Role.AGENT, source="sso")
                await roster.save(tx, agent, now, audit.by_agent(agent, source))
                agent = await tx.get_agent(agent.name) or agent
                log.info("console: agent %s created at first sign-in through %s", agent.name,
                         client.key)
            else:
                agent = found[0]
                if agent.disabled:
                    raise Refused("disabled", f"agent {agent.name} is disabled", agent=agent.name)
                if mapped is not None and agent.source != "config" and agent.role != mapped:
                    try:
                        await roster.save(tx, _with_role(agent, mapped), now,
                                          audit.Actor(f"sso:{client.key}", source))
                        agent = await tx.get_agent(agent.name) or agent
                    except ConflictError:
                        log.warning("console: %s keeps the admin role: the provider maps them "
                                    "to %s, but they are the last active admin", agent.name, mapped)
            await audit.record(tx, audit.by_agent(agent, source), "signin", f"agent:{agent.name}",
                               now=now, detail={"method": "sso", "provider": client.key})
            return agent

        return await self.store.write(unit)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/console/sso", self.list_providers),
                web.get("/console/sso/{provider}/start", self.start),
                web.get("/console/sso/{provider}/callback", self.callback)]


def _with_role(agent: Agent, role: Role) -> Agent:
    return replace(agent, role=role)


def _redirect(location: str, status: int = 303) -> web.Response:
    return web.Response(status=status, headers={"Location": location, "Cache-Control": "no-store"})


def _display(claims: Mapping[str, Any], email: str) -> str:
    name = claims.get("name")
    return name.strip()[:100] if isinstance(name, str) and name.strip() else email.split("@")[0]


async def _free_name(tx: Tx, claims: Mapping[str, Any], email: str) -> str:
    """A new agent's handle: preferred_username or the address's local part, cleaned;
    `-2`, `-3`, ... when it is taken."""
    wanted = claims.get("preferred_username")
    if not isinstance(wanted, str) or not wanted.strip():
        wanted = email
    base = _NAME_CHARS.sub("-", wanted.split("@")[0].lower()).strip("-.")[:40] or "agent"
    for n in range(1, 1000):
        name = base if n == 1 else f"{base}-{n}"
        if await tx.get_agent(name) is None:
            return name
    return f"{base}-{secrets.token_hex(4)}"


def issue_with(codec_issue: Callable[[str, float], str], ttl: int
               ) -> Callable[[web.StreamResponse, web.Request, str], None]:
    """The console's own session cookie, as a password sign-in sets it."""

    def issue(resp: web.StreamResponse, request: web.Request, agent: str) -> None:
        set_cookie(resp, codec_issue(agent, time.time()), max_age=ttl, secure=is_secure(request))

    return issue


def install(app: web.Application, config: Config, auth: ConsoleAuth,
            clock: Callable[[], datetime] | None = None) -> list[web.RouteDef]:
    """The hook router/web/console/mount.py calls: passwords on or off, and the SSO routes."""
    settings = config.settings.console.auth
    auth.passwords = settings.passwords
    sso = SingleSignOn(auth.store, auth.codec.secret, settings,
                       public_url=config.settings.service.public_url,
                       issue_session=issue_with(auth.codec.issue, TTL), clock=clock)
    app.on_cleanup.append(sso.close)
    if settings.sso:
        log.info("console: single sign-on through %s%s", ", ".join(settings.sso),
                 "" if settings.passwords else " (passwords off)")
    return sso.routes()
