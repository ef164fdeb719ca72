"""`inquiry-router email-oauth`: the one-time consent (msal's device code sign-in, or a
refresh token on standard input), status and forget, against the stand-in identity
provider. The commands are synchronous (msal, requests), so they run in a worker thread
while the stand-in serves on the test's loop."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from channels.email.tokens import EncryptedTokenStore
from router.cli import main
from tests.conftest import write_config

from .conftest import LocalCA
from .oauth_fixtures import *  # noqa: F403 - the fixtures: authority, clock
from .oauth_fixtures import G_CLIENT, G_SECRET, MS_CLIENT, MS_PUBLIC_CLIENT, MS_SECRET, TENANT, TokenAuthority

KEY = "cli-test-oauth-key-0123456789"


def config(tmp_path: Path, authority: TokenAuthority, ca: LocalCA) -> Path:
    common = f'authority: "{authority.url}", ca_file: "{ca.ca}"'
    return write_config(tmp_path, f"""
channels:
  email:
    oauth2:
      m365: {{provider: microsoft, flow: refresh_token, tenant: {TENANT},
              client_id: "{MS_PUBLIC_CLIENT}", {common}}}
      app: {{provider: microsoft, flow: client_credentials, tenant: {TENANT},
             client_id: "{MS_CLIENT}", client_secret: "{MS_SECRET}", {common}}}
      gmail: {{provider: google, flow: refresh_token, client_id: "{G_CLIENT}",
               client_secret: "{G_SECRET}", token_uri: "{authority.url}/google/token",
               ca_file: "{ca.ca}"}}
    mailboxes:
      - name: support
        imap: {{host: 127.0.0.1, port: 993, username: alice, oauth2: m365}}
    smtp_out: {{host: 127.0.0.1, port: 587, username: support@example.com,
                from_address: support@example.com, oauth2: gmail}}
""")


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_login_with_the_device_code_keeps_the_refresh_token_encrypted(
        authority: TokenAuthority, local_ca: LocalCA, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_OAUTH_SECRET", KEY)
    authority.consent_app(MS_CLIENT, "alice")
    path = str(config(tmp_path, authority, local_ca))
    assert await cli("email-oauth", "status", "--config", path) == 0
    assert "m365: microsoft refresh_token, no kept refresh token" in capsys.readouterr().out

    assert await cli("email-oauth", "login", "m365", "--config", path) == 0
    out = capsys.readouterr().out
    assert "enter ABCD-EFGH" in out and "m365: signed in" in out
    assert authority.token_requests[-1]["grant_type"].endswith("device_code")
    store = EncryptedTokenStore(tmp_path / "data" / "email" / "oauth", lambda: KEY)
    kept = store.load("m365")
    assert kept is not None and kept["refresh_token"] in authority.refresh_tokens

    # status --check fetches a token for every account with what is kept or configured
    assert await cli("email-oauth", "status", "--check", "--config", path) == 1  # gmail: none
    out = capsys.readouterr().out
    assert "m365: microsoft refresh_token, refresh token kept" in out
    assert "app: microsoft client_credentials; token fetched, valid" in out
    assert "gmail: google refresh_token, no kept refresh token; FAILED:" in out
    assert "email-oauth login gmail" in out
    secrets = [*authority.issued(), *authority.refresh_tokens]
    assert not any(s in out for s in secrets)

    assert await cli("email-oauth", "forget", "m365", "--config", path) == 0
    assert store.load("m365") is None


async def test_login_with_a_refresh_token_on_stdin(
        authority: TokenAuthority, local_ca: LocalCA, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_OAUTH_SECRET", KEY)
    path = str(config(tmp_path, authority, local_ca))
    monkeypatch.setattr("sys.stdin", io.StringIO("rt-not-issued-by-google\n"))
    assert await cli("email-oauth", "login", "gmail", "--refresh-token-stdin", "--config", path) == 1
    err = capsys.readouterr().err
    assert "Google refused the grant (invalid_grant" in err and "rt-not-issued" not in err

    given = authority.refresh_token_for("support@example.com", G_CLIENT)
    monkeypatch.setattr("sys.stdin", io.StringIO(given + "\n"))
    assert await cli("email-oauth", "login", "gmail", "--refresh-token-stdin", "--config", path) == 0
    assert given not in capsys.readouterr().out
    store = EncryptedTokenStore(tmp_path / "data" / "email" / "oauth", lambda: KEY)
    kept = store.load("gmail")
    assert kept is not None and kept["refresh_token"] == given
    assert await cli("email-oauth", "login", "nobody", "--config", path) == 1
    assert "no account 'nobody'" in capsys.readouterr().err
