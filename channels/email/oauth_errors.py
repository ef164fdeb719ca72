"""What an OAuth2 token source and its providers share: the errors and the provider shape.

Its own module so that the providers (channels/email/oauth_providers.py, imported lazily:
msal and google-auth load only when an account uses them) and the token source
(channels/email/oauth.py) both build on it without importing each other.
"""

from __future__ import annotations

from typing import Protocol


class OAuthError(Exception):
    """No access token now (provider unreachable or failing): retried later."""

    reason = "unavailable"


class ConsentRevoked(OAuthError):
    """The provider refused the account's grant: an admin must consent or sign in again."""

    reason = "revoked"


class TokenRejected(OAuthError):
    """The mail server refused a freshly fetched token (mailbox permission, user name)."""

    reason = "rejected"


Fetched = tuple[str, float, str | None]  # access token, seconds valid, rotated refresh token


class Provider(Protocol):
    """One identity provider flow; `fetch` is synchronous and runs in a worker thread."""

    needs_refresh_token: bool

    def fetch(self, refresh_token: str | None) -> Fetched: ...
