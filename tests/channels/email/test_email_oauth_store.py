"""The OAuth2 pieces that need no server: the encrypted token store, the settings, which
refresh token a source uses, and one fetch for many callers. The provider here is a fake
at the seam (what msal/google-auth would return); the store is real files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError

from channels.email.oauth import ConsentRevoked, Fetched, TokenSource, store_refresh_token
from channels.email.oauth_settings import OAuth2Settings
from channels.email.settings import EmailSettings
from channels.email.tokens import EncryptedTokenStore, TokenStoreError

KEY = "unit-test-oauth-key-0123456789"


class FakeProvider:
    """Returns numbered tokens and, like Entra, a rotated refresh token each time."""

    needs_refresh_token = True

    def __init__(self, refused: set[str] | None = None) -> None:
        self.used: list[str | None] = []
        self.refused = refused or set()

    def fetch(self, refresh_token: str | None) -> Fetched:
        self.used.append(refresh_token)
        if refresh_token in self.refused:
            raise ConsentRevoked("provider refused the grant (invalid_grant: revoked)")
        n = len(self.used)
        return f"at-{n}", 3600.0, f"rotated-{n}"


def settings(**extra: object) -> OAuth2Settings:
    return OAuth2Settings.model_validate({"provider": "microsoft", "flow": "refresh_token",
                                          "tenant": "t", "client_id": "c", **extra})


def source(tmp_path: Path, provider: FakeProvider, **extra: object) -> TokenSource:
    return TokenSource(account="m365", settings=settings(**extra), provider=provider,
                       store=EncryptedTokenStore(tmp_path / "oauth", lambda: KEY))


def test_store_round_trip_private_files_and_a_wrong_key_named(tmp_path: Path) -> None:
    store = EncryptedTokenStore(tmp_path / "oauth", lambda: KEY)
    store.save("m365", {"refresh_token": "rt-secret-value"})
    path = tmp_path / "oauth" / "m365.token"
    assert b"rt-secret-value" not in path.read_bytes()
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert store.load("m365") == {"refresh_token": "rt-secret-value"}
    assert store.load("other") is None

    with pytest.raises(TokenStoreError) as wrong:
        EncryptedTokenStore(tmp_path / "oauth", lambda: "another key, 16+ chars").load("m365")
    assert "EMAIL_OAUTH_SECRET" in str(wrong.value) and "rt-secret" not in str(wrong.value)
    path.write_bytes(b"not a fernet token")
    with pytest.raises(TokenStoreError, match="email-oauth login m365"):
        store.load("m365")
    with pytest.raises(TokenStoreError, match="letters, digits"):
        store.path("../escape")


def test_settings_name_what_is_missing_and_refuse_wrong_references() -> None:
    with pytest.raises(ValidationError, match="client_credentials needs client_secret"):
        settings(flow="client_credentials")
    with pytest.raises(ValidationError, match="google supports refresh_token or service_account"):
        OAuth2Settings.model_validate({"provider": "google", "flow": "client_credentials"})
    with pytest.raises(ValidationError, match="service_account_file"):
        OAuth2Settings.model_validate({"provider": "google", "flow": "service_account"})
    assert "secret" not in repr(settings(client_secret="s3cret-value"))
    box = {"name": "support", "imap": {"host": "h", "username": "a@b", "oauth2": "m365"}}
    with pytest.raises(ValidationError, match=r"no account 'm365' under channels\.email\.oauth2"):
        EmailSettings.model_validate({"mailboxes": [box]})
    oauth2 = {"m365": {"provider": "microsoft", "flow": "refresh_token", "tenant": "t",
                       "client_id": "c"}}
    with pytest.raises(ValidationError, match="either password or oauth2"):
        EmailSettings.model_validate({"oauth2": oauth2, "mailboxes": [
            {**box, "imap": {**box["imap"], "password": "pw"}}]})
    ok = EmailSettings.model_validate({"oauth2": oauth2, "mailboxes": [box]})
    assert ok.oauth2["m365"].scope_list()[0].endswith("IMAP.AccessAsUser.All")


async def test_rotated_refresh_token_kept_and_a_changed_variable_wins(tmp_path: Path) -> None:
    provider = FakeProvider()
    first = source(tmp_path, provider, refresh_token="seed-1")
    assert await first.get() == "at-1"
    # a restart: the kept (rotated) token is used, not the configured seed it came from
    again = source(tmp_path, provider, refresh_token="seed-1")
    assert await again.get() == "at-2"
    assert provider.used == ["seed-1", "rotated-1"]
    # the admin exported a new refresh token: it wins over the kept one
    changed = source(tmp_path, provider, refresh_token="seed-2")
    await changed.get()
    assert provider.used[-1] == "seed-2"
    # without any refresh token: a clear error that says how to sign in
    with pytest.raises(ConsentRevoked, match="email-oauth login m365"):
        await source(tmp_path / "empty", FakeProvider()).get()


async def test_a_new_sign_in_is_picked_up_after_a_refusal(tmp_path: Path) -> None:
    provider = FakeProvider(refused={"seed"})
    tokens = source(tmp_path, provider, refresh_token="seed")
    with pytest.raises(ConsentRevoked, match="sign in again"):
        await tokens.get()
    assert tokens.state == "revoked"
    store_refresh_token(tokens.store, "m365", tokens.settings, "from-login")
    assert await tokens.get() == "at-2" and provider.used[-1] == "from-login"
    tokens.accepted()
    assert tokens.state == "ok"


async def test_concurrent_callers_share_one_fetch(tmp_path: Path) -> None:
    provider = FakeProvider()
    tokens = source(tmp_path, provider, refresh_token="seed")
    callers = [asyncio.create_task(tokens.get()) for _ in range(5)]
    assert set(await asyncio.gather(*callers)) == {"at-1"}
    assert len(provider.used) == 1
    tokens.invalidate("at-1")  # a server refused it: the next caller fetches anew
    assert await tokens.get() == "at-2"


async def test_the_service_factory_wires_store_key_and_metrics(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from channels.email.factory import create
    from router.ports.channel import ChannelContext
    from router.web.metrics import Metrics

    monkeypatch.delenv("EMAIL_OAUTH_SECRET", raising=False)
    metrics = Metrics()
    email = EmailSettings.model_validate({
        "oauth2": {"m365": {"provider": "microsoft", "flow": "refresh_token", "tenant": "t",
                            "client_id": "c"}},
        "smtp_out": {"host": "127.0.0.1", "username": "support@example.com",
                     "from_address": "support@example.com", "oauth2": "m365"}})
    adapter = create(email, ChannelContext(data_dir=tmp_path, metrics=metrics))
    try:
        tokens = adapter.token_source("m365", "support@example.com")
        assert tokens is not None and tokens.metrics is not None
        store_refresh_token(tokens.store, "m365", tokens.settings, "rt-kept")
        assert (tmp_path / "email" / "oauth" / "m365.token").exists()
        key = tmp_path / "email_oauth.secret"  # made on first use, beside the other keys
        assert key.stat().st_mode & 0o777 == 0o600
        assert "inquiry_router_email_oauth_revoked" in metrics.render().decode()
    finally:
        await adapter.stop()
