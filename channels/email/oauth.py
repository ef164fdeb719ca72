"""OAuth2 access tokens for IMAP and SMTP (SASL XOAUTH2): Microsoft Entra through msal,
Google through google-auth.

A `TokenSource` hands out one account's access token and fetches a new one `refresh_margin`
seconds (5 minutes) before the current one expires, or when a mail server refused it.
msal and google-auth are synchronous (requests), so each fetch runs in a worker thread;
a lock makes concurrent callers share one fetch. Refresh-token flows read the token
from the encrypted store (`channels.email.tokens`) or the environment at every fetch, so
a new sign-in (`inquiry-router email-oauth login`, another process) takes effect without a
restart, and a rotated refresh token is kept at once.

When the provider refuses the grant (consent revoked, secret or refresh token no longer
valid) the source raises `ConsentRevoked` with what the admin has to do, counts it in
`inquiry_router_email_oauth_failures_total{account,reason}` and sets
`inquiry_router_email_oauth_revoked{account}` to 1 until a token works again. Callers keep
their state: the IMAP importer retries with backoff and resumes from its saved position.

Tokens are never logged, never in an error message and never in a repr.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from channels.email.oauth_errors import ConsentRevoked as ConsentRevoked
from channels.email.oauth_errors import Fetched as Fetched
from channels.email.oauth_errors import OAuthError as OAuthError
from channels.email.oauth_errors import Provider as Provider
from channels.email.oauth_errors import TokenRejected as TokenRejected
from channels.email.oauth_settings import OAuth2Settings
from channels.email.tokens import EncryptedTokenStore, TokenStoreError

log = logging.getLogger(__name__)

class OAuthMetrics:
    """The OAuth2 counters and gauge, registered on the service's registry."""

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Counter, Gauge

        self.failures = Counter(
            "inquiry_router_email_oauth_failures_total",
            "Email OAuth2 token failures by account and reason (revoked, rejected, unavailable)",
            ["account", "reason"], registry=registry)
        self.revoked = Gauge(
            "inquiry_router_email_oauth_revoked",
            "1 while the identity provider refuses the account's grant (consent revoked) or the "
            "mail server refuses its fresh tokens; 0 once a token works", ["account"],
            registry=registry)
        self.refreshes = Counter("inquiry_router_email_oauth_refreshes_total",
                                 "Access tokens fetched", ["account"], registry=registry)


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else ""


class TokenSource:
    """Access tokens of one OAuth2 account, refreshed before they expire."""

    def __init__(self, *, account: str, settings: OAuth2Settings, provider: Provider,
                 store: EncryptedTokenStore, metrics: OAuthMetrics | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.account = account
        self.settings = settings
        self.provider = provider
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self.state = ""  # "", ok, revoked, rejected, unavailable
        self.last_error = ""
        self.fetches = 0
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TokenSource({self.account!r}, state={self.state!r})"

    @property
    def expires_at(self) -> float:
        return self._expires_at

    async def get(self) -> str:
        """A token valid for at least `refresh_margin` more seconds (fetched if need be)."""
        async with self._lock:
            if self._token and self._expires_at - self.clock() > self.settings.refresh_margin:
                return self._token
            started = self.clock()
            try:
                token, lifetime, rotated = await asyncio.to_thread(self._fetch)
            except OAuthError as exc:
                raise self._failed(exc) from None
            except Exception as exc:  # msal/google-auth/requests: say what, never a token
                raise self._failed(OAuthError(
                    f"email OAuth2 {self.account}: no token from {self._provider_name()} "
                    f"({type(exc).__name__}: {exc})")) from None
            self._token, self._expires_at = token, started + lifetime
            self.fetches += 1
            if self.metrics:
                self.metrics.refreshes.labels(self.account).inc()
            log.info("email OAuth2 %s: new access token, valid %.0fs%s", self.account, lifetime,
                     ", refresh token rotated" if rotated else "")
            return token

    def invalidate(self, token: str) -> None:
        """A server refused `token`: the next `get` fetches a new one (once, if several ask)."""
        if token and token == self._token:
            self._token, self._expires_at = "", 0.0

    def accepted(self) -> None:
        """A server took the token: clear a revoked/rejected state."""
        if self.state != "ok":
            if self.state in ("revoked", "rejected", "unavailable"):
                log.warning("email OAuth2 %s: working again", self.account)
            self.state, self.last_error = "ok", ""
            if self.metrics:
                self.metrics.revoked.labels(self.account).set(0)

    def rejected(self, what: str) -> TokenRejected:
        """The server refused a fresh token too: record it and return the error to raise."""
        return self._failed(TokenRejected(
            f"email OAuth2 {self.account}: {what} refused a fresh access token; check that the "
            f"app may use this mailbox ({self._permission_hint()})"))

    def _failed(self, exc: OAuthError) -> OAuthError:
        first = self.state != exc.reason
        self.state, self.last_error = exc.reason, str(exc)
        if self.metrics:
            self.metrics.failures.labels(self.account, exc.reason).inc()
            if exc.reason in ("revoked", "rejected"):
                self.metrics.revoked.labels(self.account).set(1)
        # the first time at ERROR (an admin must act), repeats at WARNING
        log.log(logging.ERROR if first and exc.reason != "unavailable" else logging.WARNING,
                "%s", exc)
        return exc

    # -- in the worker thread ---------------------------------------------------------------
    def _fetch(self) -> Fetched:
        if not self.provider.needs_refresh_token:
            return self.provider.fetch(None)
        refresh_token = self._refresh_token()
        try:
            token, lifetime, rotated = self.provider.fetch(refresh_token)
        except ConsentRevoked as exc:
            raise ConsentRevoked(f"{exc}; sign in again with `inquiry-router email-oauth login "
                                 f"{self.account}` (or give a new refresh_token)") from None
        if rotated and rotated != refresh_token:
            self._keep(rotated)
        return token, lifetime, rotated if rotated != refresh_token else None

    def _refresh_token(self) -> str:
        """The kept refresh token, unless the configured one is newer (a changed variable)."""
        seed = self.settings.refresh_token
        try:
            kept = self.store.load(self.account)
        except TokenStoreError as exc:
            if not seed:
                raise ConsentRevoked(f"email OAuth2 {self.account}: {exc}") from None
            log.warning("email OAuth2 %s: %s; using the configured refresh_token", self.account, exc)
            kept = None
        if kept and kept.get("client_id") != self.settings.client_id:
            kept = None  # signed in for another app registration: not ours to use
        if kept and kept.get("refresh_token") and kept.get("seed", "") == fingerprint(seed):
            return str(kept["refresh_token"])
        if kept and kept.get("refresh_token") and not seed:
            return str(kept["refresh_token"])
        if seed:
            return seed
        raise ConsentRevoked(
            f"email OAuth2 {self.account}: no refresh token yet; sign in once with "
            f"`inquiry-router email-oauth login {self.account}` (or set refresh_token)")

    def _keep(self, refresh_token: str) -> None:
        self.store.save(self.account, {
            "provider": self.settings.provider, "client_id": self.settings.client_id,
            "refresh_token": refresh_token, "seed": fingerprint(self.settings.refresh_token),
            "saved_at": datetime.now(UTC).isoformat(timespec="seconds")})

    def _provider_name(self) -> str:
        return "Microsoft Entra" if self.settings.provider == "microsoft" else "Google"

    def _permission_hint(self) -> str:
        if self.settings.provider == "google":
            return "Gmail IMAP enabled, the https://mail.google.com/ scope granted"
        if self.settings.flow == "client_credentials":
            return ("Exchange: the app's service principal registered and given FullAccess "
                    "(Add-MailboxPermission) and SendAs on the mailbox")
        return "the user's mailbox has IMAP and SMTP AUTH enabled"


def store_refresh_token(store: EncryptedTokenStore, account: str, settings: OAuth2Settings,
                        refresh_token: str) -> None:
    """Keep a refresh token from a sign-in (`email-oauth login`) for `account`."""
    source = TokenSource(account=account, settings=settings, provider=_NoProvider(), store=store)
    source._keep(refresh_token)


class _NoProvider:
    needs_refresh_token = True

    def fetch(self, refresh_token: str | None) -> Fetched:  # pragma: no cover - never called
        raise OAuthError("no provider")


class OAuthAccounts:
    """The token sources of `channels.email.oauth2`, one per account (and, for a Google
    service account, per mailbox it acts as), shared by IMAP and SMTP."""

    def __init__(self, settings: dict[str, OAuth2Settings], *, store: EncryptedTokenStore,
                 metrics: OAuthMetrics | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.clock = clock
        self._sources: dict[tuple[str, str], TokenSource] = {}

    def source(self, account: str, user: str = "") -> TokenSource:
        settings = self.settings[account]
        key = (account, user.lower() if settings.flow == "service_account" else "")
        if key not in self._sources:
            from channels.email.oauth_providers import make_provider  # msal, google-auth: lazily

            self._sources[key] = TokenSource(
                account=account, settings=settings, provider=make_provider(account, settings, user),
                store=self.store, metrics=self.metrics, clock=self.clock)
        return self._sources[key]

    def all(self) -> list[TokenSource]:
        return list(self._sources.values())


__all__ = ["ConsentRevoked", "OAuthAccounts", "OAuthError",
           "OAuthMetrics", "TokenRejected", "TokenSource"]
