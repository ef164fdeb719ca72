"""Stand-ins for OAuth2 mail: an identity provider, dovecot with its `oauth2` passdb, and an
aiosmtpd server that takes SASL XOAUTH2.

`TokenAuthority` is one aiohttp app on 127.0.0.1 speaking:
- Microsoft Entra's v2.0 endpoints under `/<tenant>` (OpenID configuration, token: client
  credentials, refresh token, device code; devicecode), over HTTPS with the test CA,
  because msal only takes an https authority;
- Google's token endpoint (`/google/token`: refresh token, service-account JWT bearer);
- an RFC 7662 introspection endpoint on a second, plain HTTP port for dovecot.

Its time is the test's `FakeClock`, shared with the token sources: "refresh before expiry"
is tested by moving the clock, not by sleeping. `revoke(subject)` withdraws consent: every
token of that mailbox stops working, refresh tokens and service accounts are refused
(invalid_grant / unauthorized_client) and client credentials still get tokens that the
mail servers refuse (as Entra issues app tokens without the mailbox permission).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

from .conftest import DOVECOT, MAIL_UID, Dovecot, LocalCA, SmtpSink, _spawn, _wait_port, free_port

TENANT = "contoso-test-tenant"
MS_CLIENT, MS_SECRET = "11111111-2222-3333-4444-555555555555", "ms-client-secret-value-0123"
MS_PUBLIC_CLIENT = "99999999-2222-3333-4444-555555555555"
G_CLIENT, G_SECRET = "12345.apps.googleusercontent.com", "google-client-secret-value-0123"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Grant:
    subject: str  # the mailbox user name the tokens are good for
    client_id: str
    revoked: bool = False


@dataclass
class TokenAuthority:
    clock: FakeClock
    lifetime: int = 3600
    url: str = ""  # https base (Entra: url/<tenant>, Google: url/google/token)
    introspection_url: str = ""  # plain http, for dovecot
    grants: list[Grant] = field(default_factory=list)
    app_grants: dict[str, Grant] = field(default_factory=dict)  # client credentials
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    access: dict[str, tuple[Grant, float]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    introspected: list[str] = field(default_factory=list)
    device_codes: dict[str, Grant] = field(default_factory=dict)
    service_accounts: set[str] = field(default_factory=set)  # client emails, delegation on

    # -- what the tests set up -------------------------------------------------------------
    def consent_app(self, client_id: str, subject: str) -> Grant:
        """Admin consent for an app (client credentials) on `subject`'s mailbox."""
        grant = Grant(subject, client_id)
        self.grants.append(grant)
        self.app_grants[client_id] = grant
        return grant

    def refresh_token_for(self, subject: str, client_id: str) -> str:
        """A user's consent: a refresh token as a sign-in would hand it out."""
        grant = Grant(subject, client_id)
        self.grants.append(grant)
        token = "rt-" + secrets.token_urlsafe(24)
        self.refresh_tokens[token] = grant
        return token

    def revoke(self, subject: str) -> None:
        for grant in self.grants:
            if grant.subject == subject:
                grant.revoked = True

    def active(self, token: str) -> Grant | None:
        found = self.access.get(token)
        if found is None:
            return None
        grant, expires_at = found
        return None if grant.revoked or self.clock() >= expires_at else grant

    def issued(self) -> list[str]:
        return list(self.access)

    # -- HTTP --------------------------------------------------------------------------------
    def _issue(self, grant: Grant, *, refresh: bool = False) -> dict[str, Any]:
        token = "at-" + secrets.token_urlsafe(32)
        self.access[token] = (grant, self.clock() + self.lifetime)
        body: dict[str, Any] = {"token_type": "Bearer", "access_token": token,
                                "expires_in": self.lifetime}
        if refresh:  # rotate, as Entra does: the old refresh token stops working
            new = "rt-" + secrets.token_urlsafe(24)
            self.refresh_tokens = {k: v for k, v in self.refresh_tokens.items() if v is not grant}
            self.refresh_tokens[new] = grant
            body["refresh_token"] = new
        return body

    @staticmethod
    def _error(code: str, description: str, status: int = 400) -> web.Response:
        return web.json_response({"error": code, "error_description": description}, status=status)

    async def openid(self, request: web.Request) -> web.Response:
        base = f"{self.url}/{request.match_info['tenant']}"
        return web.json_response({
            "issuer": f"{base}/v2.0", "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode"})

    async def devicecode(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        code = "dc-" + secrets.token_urlsafe(12)
        # the person approves at once: the first poll gets the tokens
        self.device_codes[code] = Grant("alice", str(form.get("client_id", "")))
        return web.json_response({
            "device_code": code, "user_code": "ABCD-EFGH", "expires_in": 900, "interval": 1,
            "verification_uri": "https://microsoft.com/devicelogin",
            "message": "To sign in, open https://microsoft.com/devicelogin and enter ABCD-EFGH"})

    async def entra_token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(form)
        kind = form.get("grant_type", "")
        if kind == "client_credentials":
            if form.get("client_id") != MS_CLIENT or form.get("client_secret") != MS_SECRET:
                return self._error("invalid_client", "AADSTS7000215: Invalid client secret provided.",
                                   401)
            grant = self.app_grants.get(MS_CLIENT)
            if grant is None:
                return self._error("unauthorized_client", "AADSTS700016: Application not found.")
            return web.json_response(self._issue(grant))  # issued even without consent
        if kind == "refresh_token":
            grant = self.refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return self._error("invalid_grant", "AADSTS50173: The provided grant has expired "
                                   "due to it being revoked, a fresh auth token is needed.")
            return web.json_response(self._issue(grant, refresh=True))
        if kind == "urn:ietf:params:oauth:grant-type:device_code":
            grant = self.device_codes.pop(form.get("device_code", ""), None)
            if grant is None:
                return self._error("expired_token", "AADSTS70020: The device code has expired.")
            self.grants.append(grant)
            return web.json_response(self._issue(grant, refresh=True))
        return self._error("unsupported_grant_type", kind)

    async def google_token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(form)
        kind = form.get("grant_type", "")
        if kind == "refresh_token":
            if form.get("client_id") != G_CLIENT or form.get("client_secret") != G_SECRET:
                return self._error("invalid_client", "The OAuth client was not found.", 401)
            grant = self.refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked:
                return self._error("invalid_grant", "Token has been expired or revoked.")
            return web.json_response(self._issue(grant))  # Google keeps its refresh tokens
        if kind == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            claims = _jwt_claims(form.get("assertion", ""))
            subject = str(claims.get("sub", ""))
            grants = [g for g in self.grants if g.client_id == claims.get("iss")
                      and g.subject == subject]
            if claims.get("iss") not in self.service_accounts or not grants or grants[-1].revoked:
                return self._error("unauthorized_client", "Client is unauthorized to retrieve "
                                   "access tokens using this method, or client not authorized "
                                   "for any of the scopes requested.")
            return web.json_response(self._issue(grants[-1]))
        return self._error("unsupported_grant_type", kind)

    async def introspect(self, request: web.Request) -> web.Response:
        token = str((await request.post()).get("token", ""))
        self.introspected.append(token)
        grant = self.active(token)
        if grant is None:
            return web.json_response({"active": False})
        return web.json_response({"active": True, "username": grant.subject})


def _jwt_claims(assertion: str) -> dict[str, Any]:
    try:
        payload = assertion.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (IndexError, ValueError):
        return {}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def authority(local_ca: LocalCA, clock: FakeClock) -> AsyncIterator[TokenAuthority]:
    auth = TokenAuthority(clock)
    app = web.Application()
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", auth.openid)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", auth.entra_token)
    app.router.add_post("/{tenant}/oauth2/v2.0/devicecode", auth.devicecode)
    app.router.add_post("/google/token", auth.google_token)
    app.router.add_post("/introspect", auth.introspect)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    https = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=local_ca.server_context())
    plain = web.TCPSite(runner, "127.0.0.1", 0)
    await https.start()
    await plain.start()
    auth.url = f"https://127.0.0.1:{https._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    port = plain._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    auth.introspection_url = f"http://127.0.0.1:{port}/introspect"
    try:
        yield auth
    finally:
        await runner.cleanup()


# -- dovecot with the oauth2 passdb ----------------------------------------------------------
_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = xoauth2 oauthbearer
auth_failure_delay = 0
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {tmp}/dovecot-oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={tmp}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
# anvil's auth penalty delays every login from an address after a failed one (2 s, 4 s,
# ... 15 s): the revocation tests fail on purpose, so the auth process is kept from it
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
# RFC 7662 introspection by POST; the token's `username` must be the XOAUTH2 user
_OAUTH2 = """\
introspection_mode = post
introspection_url = {url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


@pytest.fixture
def dovecot_oauth(authority: TokenAuthority) -> Iterator[Dovecot]:
    """dovecot that accepts only XOAUTH2/OAUTHBEARER, checking each token with `authority`."""
    if not Path(DOVECOT).exists():
        pytest.fail(f"{DOVECOT} is missing: install dovecot-imapd (.ci/run does this).")
    root = Path(tempfile.mkdtemp(prefix="dovecot-oauth-"))
    os.chmod(root, 0o755)
    port = free_port()
    (root / "dovecot.conf").write_text(_CONF.format(tmp=root, port=port, uid=MAIL_UID))
    (root / "dovecot-oauth2.conf.ext").write_text(_OAUTH2.format(url=authority.introspection_url))
    maildir = root / "mail" / "alice" / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for path in (root / "mail", root / "mail" / "alice", maildir,
                 *(maildir / s for s in ("cur", "new", "tmp"))):
        os.chown(path, MAIL_UID, MAIL_UID)
    server = Dovecot(root=root, port=port, proc=_spawn(root))
    try:
        _wait_port(port, server.proc, time.monotonic() + 10, root / "dovecot.log")
        yield server
    finally:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
        shutil.rmtree(root, ignore_errors=True)


# -- SMTP with XOAUTH2 -------------------------------------------------------------------------
@dataclass
class XOAuth2Sink(SmtpSink):
    """An SMTP sink that requires AUTH and takes only XOAUTH2 with a token `authority` issued
    (for the mailbox in `user=`); a refused token gets Google's JSON challenge, then 535."""

    authority: TokenAuthority | None = None
    logins: list[tuple[str, str]] = field(default_factory=list)  # (user, token) accepted
    refused: int = 0

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        try:
            fields = base64.b64decode(args[1]).decode().split("\x01")
            user = fields[0].removeprefix("user=")
            token = fields[1].removeprefix("auth=Bearer ")
        except (IndexError, ValueError):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Bad XOAUTH2")
        assert self.authority is not None
        grant = self.authority.active(token)
        if grant is None or grant.subject != user:
            self.refused += 1
            await server.challenge_auth(json.dumps({"status": "400", "schemes": "Bearer",
                                                    "scope": "https://mail.google.com/"}))
            return AuthResult(success=False, handled=False,
                              message="535 5.7.8 Username and Password not accepted")
        self.logins.append((user, token))
        return AuthResult(success=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
async def smtp_xoauth2(authority: TokenAuthority) -> AsyncIterator[XOAuth2Sink]:
    sink = XOAuth2Sink(authority=authority)
    loop = asyncio.get_running_loop()

    def protocol() -> SMTP:
        with warnings.catch_warnings():  # AUTH without TLS: on 127.0.0.1 in a test, on purpose
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(sink, hostname="sink.test", auth_required=True, auth_require_tls=False,
                        auth_exclude_mechanism=["LOGIN", "PLAIN"])

    server = await loop.create_server(protocol, "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
