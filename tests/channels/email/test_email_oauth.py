"""OAuth2 mail against real servers: dovecot with its `oauth2` passdb (tokens checked by
introspection) and aiosmtpd taking XOAUTH2, with tokens from msal and google-auth talking
to a local stand-in identity provider (oauth_fixtures.py). No network, no sleeps: the
token clock is the test's, and waits are on events."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from prometheus_client import CollectorRegistry

from channels.email.adapter import EmailAdapter
from channels.email.imap import ImapImporter
from channels.email.oauth import OAuthAccounts, OAuthMetrics, store_refresh_token
from channels.email.settings import EmailSettings
from channels.email.tokens import EncryptedTokenStore
from channels.email.xoauth2 import sasl_string
from router.domain.errors import ChannelError

from .conftest import SAMPLES, Dovecot, LocalCA
from .intake_fake import SqliteIntake
from .oauth_fixtures import *  # noqa: F403 - the fixtures: authority, clock, dovecot_oauth, smtp_xoauth2
from .oauth_fixtures import (
    G_CLIENT,
    G_SECRET,
    MS_CLIENT,
    MS_PUBLIC_CLIENT,
    MS_SECRET,
    TENANT,
    FakeClock,
    Grant,
    TokenAuthority,
    XOAuth2Sink,
)
from .test_email_send import _out

KEY = "test-oauth-store-key-0123456789"
MAIL_1, MAIL_2 = (SAMPLES / "gmail_sv.eml").read_bytes(), (SAMPLES / "outlook_en.eml").read_bytes()


class Setup:
    """An EmailAdapter whose OAuth2 sources run on the test clock, with their metrics."""

    def __init__(self, tmp_path: Path, clock: FakeClock, config: dict[str, Any]) -> None:
        self.settings = EmailSettings.model_validate(
            {"own_addresses": ["support@example.com"], **config})
        self.registry = CollectorRegistry()
        self.store = EncryptedTokenStore(tmp_path / "state" / "oauth", lambda: KEY)
        self.oauth = OAuthAccounts(self.settings.oauth2, store=self.store, clock=clock,
                                   metrics=OAuthMetrics(self.registry))
        self.adapter = EmailAdapter(settings=self.settings, state_dir=tmp_path / "state",
                                    imap_min_backoff=0.05, oauth=self.oauth)

    def metric(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def revoked(self, account: str) -> float:
        return self.metric("inquiry_router_email_oauth_revoked", account=account)


def entra(authority: TokenAuthority, ca: LocalCA, **extra: Any) -> dict[str, Any]:
    return {"provider": "microsoft", "tenant": TENANT, "authority": authority.url,
            "ca_file": str(ca.ca), **extra}


def mailbox(dovecot: Dovecot, account: str) -> dict[str, Any]:
    return {"name": "support", "imap": {"host": "127.0.0.1", "port": dovecot.port, "tls": "none",
                                        "username": "alice", "oauth2": account}}


async def wait_error(importer: ImapImporter, text: str) -> None:
    """Until the importer's last failure mentions `text` (a dropped connection comes first)."""
    async def until() -> None:
        while text not in importer.last_error:
            importer.failed.clear()
            await importer.failed.wait()
    await asyncio.wait_for(until(), 10)


def assert_no_secrets_logged(caplog: pytest.LogCaptureFixture, authority: TokenAuthority,
                             *secrets: str) -> None:
    """No token, refresh token, client secret or SASL string in any record of ours or of
    the client libraries (the stand-in servers' own loggers excepted)."""
    ours = [r for r in caplog.records if not r.name.startswith(("mail.log", "aiohttp"))]
    text = "\n".join(r.getMessage() for r in ours)
    assert any(r.name.startswith("aioimaplib") or r.name.startswith("channels") for r in ours)
    values = [*authority.issued(), *authority.refresh_tokens, *secrets]
    values += [sasl_string(user, t) for t in authority.issued() for user in ("alice",)]
    leaked = [v[:8] + "..." for v in values if v and v in text]
    assert not leaked, f"secrets in the log: {leaked}"


async def test_imap_xoauth2_client_credentials_consent_withdrawn_and_given_again(
        dovecot_oauth: Dovecot, authority: TokenAuthority, clock: FakeClock, local_ca: LocalCA,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    authority.consent_app(MS_CLIENT, "alice")
    setup = Setup(tmp_path, clock, {
        "oauth2": {"m365": entra(authority, local_ca, flow="client_credentials",
                                 client_id=MS_CLIENT, client_secret=MS_SECRET)},
        "mailboxes": [mailbox(dovecot_oauth, "m365")]})
    intake = SqliteIntake(tmp_path / "inbox.db")
    dovecot_oauth.deliver(MAIL_1)
    await setup.adapter.start(intake)
    importer = setup.adapter.importers[0]
    try:
        await asyncio.wait_for(importer.synced.wait(), 10)
        assert intake.count() == 1
        await dovecot_oauth.logged("method=XOAUTH2")  # raises if it never appears
        assert authority.token_requests[0]["grant_type"] == "client_credentials"

        # the admin withdraws the app's consent: Entra still issues app tokens, but without
        # the mailbox permission, so the server refuses them (even a freshly fetched one)
        authority.revoke("alice")
        dovecot_oauth.drop_connections()
        await wait_error(importer, "refused a fresh access token")
        assert "Add-MailboxPermission" in importer.last_error
        assert setup.revoked("m365") == 1
        assert setup.metric("inquiry_router_email_oauth_failures_total",
                            account="m365", reason="rejected") >= 1
        dovecot_oauth.deliver(MAIL_2)  # arrives while the mailbox is refused

        importer.synced.clear()
        authority.consent_app(MS_CLIENT, "alice")  # consent given again
        await asyncio.wait_for(importer.synced.wait(), 10)
        assert intake.count() == 2
        # the position was kept: only the new mail was read (no re-import of the first)
        assert intake.calls == 2
        position = await setup.adapter.imap_state.get("support", "INBOX")
        assert position is not None and position.last_uid == 2
        assert setup.revoked("m365") == 0
    finally:
        await setup.adapter.stop()
    assert_no_secrets_logged(caplog, authority, MS_SECRET)


async def test_imap_refresh_token_rotated_kept_encrypted_then_revoked_and_signed_in_again(
        dovecot_oauth: Dovecot, authority: TokenAuthority, clock: FakeClock, local_ca: LocalCA,
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seed = authority.refresh_token_for("alice", MS_PUBLIC_CLIENT)  # e.g. ${M365_REFRESH_TOKEN}
    setup = Setup(tmp_path, clock, {
        "oauth2": {"m365": entra(authority, local_ca, flow="refresh_token",
                                 client_id=MS_PUBLIC_CLIENT, refresh_token=seed)},
        "mailboxes": [mailbox(dovecot_oauth, "m365")]})
    intake = SqliteIntake(tmp_path / "inbox.db")
    dovecot_oauth.deliver(MAIL_1)
    await setup.adapter.start(intake)
    importer = setup.adapter.importers[0]
    try:
        await asyncio.wait_for(importer.synced.wait(), 10)
        assert intake.count() == 1
        # Entra rotated the refresh token (the seed no longer works): the new one is kept,
        # encrypted, readable by this installation's key only
        path = tmp_path / "state" / "oauth" / "m365.token"
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        kept = setup.store.load("m365")
        assert kept is not None and kept["refresh_token"] in authority.refresh_tokens
        assert seed not in authority.refresh_tokens
        raw = path.read_bytes()
        assert kept["refresh_token"].encode() not in raw and b"refresh" not in raw

        authority.revoke("alice")  # the user's consent withdrawn: refresh tokens refused
        dovecot_oauth.drop_connections()
        await wait_error(importer, "email-oauth login m365")
        assert "invalid_grant" in importer.last_error
        assert setup.metric("inquiry_router_email_oauth_failures_total",
                            account="m365", reason="revoked") >= 1
        assert setup.revoked("m365") == 1
        dovecot_oauth.deliver(MAIL_2)

        # a new sign-in (what `inquiry-router email-oauth login m365` keeps) is picked up
        # without a restart, and the import goes on where it stopped
        store_refresh_token(setup.store, "m365", setup.settings.oauth2["m365"],
                            authority.refresh_token_for("alice", MS_PUBLIC_CLIENT))
        await intake.wait_count(2)
        assert intake.calls == 2
        assert setup.revoked("m365") == 0
    finally:
        await setup.adapter.stop()
    assert_no_secrets_logged(caplog, authority, seed)


def smtp_out(sink: XOAuth2Sink, account: str) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": sink.port, "tls": "none", "oauth2": account,
            "username": "support@example.com", "from_address": "support@example.com"}


async def test_smtp_xoauth2_google_token_refreshed_before_expiry(
        smtp_xoauth2: XOAuth2Sink, authority: TokenAuthority, clock: FakeClock,
        local_ca: LocalCA, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refresh = authority.refresh_token_for("support@example.com", G_CLIENT)
    setup = Setup(tmp_path, clock, {
        "oauth2": {"gmail": {"provider": "google", "flow": "refresh_token", "client_id": G_CLIENT,
                             "client_secret": G_SECRET, "refresh_token": refresh,
                             "token_uri": f"{authority.url}/google/token",
                             "ca_file": str(local_ca.ca)}},
        "smtp_out": smtp_out(smtp_xoauth2, "gmail")})
    adapter = setup.adapter

    def fetched() -> int:
        return setup.metric("inquiry_router_email_oauth_refreshes_total", account="gmail")

    await adapter.send(_out(key="k1"))
    assert len(authority.token_requests) == 1 and fetched() == 1
    first = smtp_xoauth2.logins[0][1]

    clock.advance(3600 - 400)  # 400 s left, more than the 300 s margin: the same token
    await adapter.send(_out(key="k2"))
    assert smtp_xoauth2.logins[1][1] == first and fetched() == 1

    clock.advance(200)  # 200 s left: a new token now, while the old one still works
    assert authority.active(first) is not None
    await adapter.send(_out(key="k3"))
    second = smtp_xoauth2.logins[2][1]
    assert second != first and fetched() == 2
    assert authority.token_requests[-1]["grant_type"] == "refresh_token"

    clock.advance(250)  # the first token has expired by now; the second serves on
    assert authority.active(first) is None
    await adapter.send(_out(key="k4"))
    assert smtp_xoauth2.logins[3][1] == second and fetched() == 2

    # one access token revoked at the provider: refused once, fetched fresh, delivered
    del authority.access[second]
    await adapter.send(_out(key="k5"))
    assert smtp_xoauth2.refused == 1 and fetched() == 3
    assert len(await smtp_xoauth2.wait_for(5)) == 5
    assert [user for user, _ in smtp_xoauth2.logins] == ["support@example.com"] * 5
    assert_no_secrets_logged(caplog, authority, G_SECRET, refresh)


def service_account_key(email: str) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "router-test", "private_key_id": "k1",
            "private_key": pem, "client_email": email, "client_id": "1000",
            "token_uri": "https://oauth2.googleapis.com/token"}


async def test_smtp_google_service_account_delegation_revoked(
        smtp_xoauth2: XOAuth2Sink, authority: TokenAuthority, clock: FakeClock,
        local_ca: LocalCA, tmp_path: Path) -> None:
    email = "router@router-test.iam.gserviceaccount.com"
    authority.service_accounts.add(email)
    authority.grants.append(Grant("support@example.com", email))  # domain-wide delegation
    setup = Setup(tmp_path, clock, {
        "oauth2": {"workspace": {"provider": "google", "flow": "service_account",
                                 "service_account_json": json.dumps(service_account_key(email)),
                                 "token_uri": f"{authority.url}/google/token",
                                 "ca_file": str(local_ca.ca)}},
        "smtp_out": smtp_out(smtp_xoauth2, "workspace")})
    await setup.adapter.send(_out(key="k1"))
    assert smtp_xoauth2.logins[0][0] == "support@example.com"  # acting as the mailbox
    claims = authority.token_requests[0]["assertion"].split(".")[1]
    assert json.loads(base64.urlsafe_b64decode(claims + "==="))["sub"] == "support@example.com"

    authority.revoke("support@example.com")  # the Workspace admin removed the delegation
    with pytest.raises(ChannelError) as raised:
        await setup.adapter.send(_out(key="k2"))
    error = raised.value
    assert not error.permanent  # the outbox retries; the reply is not lost meanwhile
    assert "refused the grant (unauthorized_client" in str(error) and "consent" in str(error)
    assert not any(t in str(error) for t in authority.issued())
    assert smtp_xoauth2.refused == 1  # the cached token was tried once, then a fetch refused
    assert setup.revoked("workspace") == 1
    assert setup.metric("inquiry_router_email_oauth_failures_total",
                        account="workspace", reason="revoked") == 1


async def test_imap_server_without_xoauth2_is_named_before_any_token_is_fetched(
        dovecot: Dovecot, authority: TokenAuthority, clock: FakeClock, local_ca: LocalCA,
        tmp_path: Path) -> None:
    setup = Setup(tmp_path, clock, {  # the password-only dovecot of the other tests
        "oauth2": {"m365": entra(authority, local_ca, flow="client_credentials",
                                 client_id=MS_CLIENT, client_secret=MS_SECRET)},
        "mailboxes": [mailbox(dovecot, "m365")]})
    await setup.adapter.start(SqliteIntake(tmp_path / "inbox.db"))
    try:
        await wait_error(setup.adapter.importers[0], "does not offer AUTH=XOAUTH2")
        assert authority.token_requests == []
    finally:
        await setup.adapter.stop()
