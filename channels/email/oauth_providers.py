"""The identity providers behind `channels.email.oauth.TokenSource`: Microsoft Entra
through msal, Google through google-auth. Each `fetch` is synchronous (requests) and runs
in a worker thread; msal and google-auth are imported on first use.

A refusal of the grant by the provider becomes `ConsentRevoked`, anything else that keeps
a token from coming `OAuthError`; messages carry the provider's error code and the first
line of its description, never a token or a secret.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from channels.email.oauth_errors import ConsentRevoked, Fetched, OAuthError, Provider
from channels.email.oauth_settings import OAuth2Settings

# provider error codes that mean "an admin has to act": consent revoked or never given,
# the secret or refresh token expired or withdrawn, the app or its permission removed
REFUSED = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "access_denied",
                     "consent_required", "interaction_required", "invalid_scope"})


def http_session(settings: OAuth2Settings) -> Any:
    """A requests session for the token endpoint, with the settings' timeout and CA.

    `ca_file` goes on every request: requests lets a REQUESTS_CA_BUNDLE variable win over a
    session's `verify`, which would silently ignore the configured CA."""
    import requests
    import requests.adapters

    ca_file, timeout = settings.ca_file, settings.timeout

    class Session(requests.Session):
        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            kwargs.setdefault("timeout", timeout)
            if ca_file:
                kwargs["verify"] = ca_file
            return super().request(method, url, *args, **kwargs)

    session = Session()
    retry_once = requests.adapters.HTTPAdapter(max_retries=1)  # as msal's own session does
    session.mount("https://", retry_once)
    session.mount("http://", retry_once)
    return session


def _refused(provider: str, account: str, code: str, description: str) -> OAuthError:
    first_line = (description or "").strip().splitlines()[0] if description else ""
    text = f"email OAuth2 {account}: {provider} refused the grant ({code}: {first_line})"
    if code in REFUSED:
        return ConsentRevoked(f"{text}: consent was revoked or the credentials are no longer "
                              f"valid; an admin must grant consent again")
    return OAuthError(text)


class MicrosoftProvider:
    """Microsoft Entra through msal: client credentials, or a refresh token (delegated)."""

    def __init__(self, account: str, settings: OAuth2Settings) -> None:
        self.account = account
        self.settings = settings
        self.needs_refresh_token = settings.flow == "refresh_token"
        self._app: Any = None

    def application(self) -> Any:
        """The msal application, made on first use (its constructor asks the authority for
        the tenant's OpenID configuration). Instance discovery and authority validation are
        off: they only matter for hosts Microsoft does not know, and they would call
        login.microsoftonline.com for an authority elsewhere."""
        if self._app is None:
            import msal

            s = self.settings
            options: dict[str, Any] = dict(
                authority=f"{s.authority.rstrip('/')}/{s.tenant}", validate_authority=False,
                instance_discovery=False, http_client=http_session(s),
                token_cache=msal.TokenCache())
            if s.client_secret:
                self._app = msal.ConfidentialClientApplication(
                    s.client_id, client_credential=s.client_secret, **options)
            else:
                self._app = msal.PublicClientApplication(s.client_id, **options)
        return self._app

    def fetch(self, refresh_token: str | None) -> Fetched:
        app = self.application()
        scopes = self.settings.scope_list()
        if refresh_token is None:
            app.remove_tokens_for_client()  # we decide when to refresh, not msal's cache
            result = app.acquire_token_for_client(scopes=scopes)
        else:
            result = app.acquire_token_by_refresh_token(refresh_token, scopes=scopes)
        return self.parse(result)

    def parse(self, result: dict[str, Any] | None) -> Fetched:
        if not result or "access_token" not in result:
            result = result or {}
            raise _refused("Microsoft Entra", self.account, str(result.get("error", "no_token")),
                           str(result.get("error_description", "")))
        return (str(result["access_token"]), float(result.get("expires_in", 3600)),
                result.get("refresh_token"))


class GoogleProvider:
    """Google through google-auth: a user's refresh token, or a service account acting as
    the mailbox (Workspace domain-wide delegation)."""

    def __init__(self, account: str, settings: OAuth2Settings, subject: str = "") -> None:
        self.account = account
        self.settings = settings
        self.subject = settings.subject or subject
        self.needs_refresh_token = settings.flow == "refresh_token"

    def _request(self) -> Any:
        import google.auth.transport.requests

        return google.auth.transport.requests.Request(http_session(self.settings))

    def credentials(self, refresh_token: str | None) -> Any:
        s = self.settings
        if refresh_token is not None:
            import google.oauth2.credentials

            return google.oauth2.credentials.Credentials(
                None, refresh_token=refresh_token, client_id=s.client_id,
                client_secret=s.client_secret, token_uri=s.token_uri, scopes=s.scope_list())
        import json
        from pathlib import Path

        import google.oauth2.service_account

        info = json.loads(s.service_account_json or Path(s.service_account_file).read_text())
        info["token_uri"] = s.token_uri
        return google.oauth2.service_account.Credentials.from_service_account_info(
            info, scopes=s.scope_list(), subject=self.subject or None)

    def fetch(self, refresh_token: str | None) -> Fetched:
        import google.auth.exceptions

        creds = self.credentials(refresh_token)
        try:
            creds.refresh(self._request())
        except google.auth.exceptions.RefreshError as exc:
            data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
            code = str(data.get("error", ""))
            if not code:
                raise OAuthError(f"email OAuth2 {self.account}: Google token endpoint failed "
                                 f"({exc.args[0] if exc.args else 'RefreshError'})") from None
            raise _refused("Google", self.account, code,
                           str(data.get("error_description", ""))) from None
        expiry = creds.expiry  # naive UTC (google-auth's convention)
        now = datetime.now(UTC).replace(tzinfo=None)
        lifetime = (expiry - now).total_seconds() if expiry else 3600.0
        rotated = getattr(creds, "refresh_token", None) if refresh_token is not None else None
        return str(creds.token), lifetime, rotated


def make_provider(account: str, settings: OAuth2Settings, user: str = "") -> Provider:
    if settings.provider == "microsoft":
        return MicrosoftProvider(account, settings)
    return GoogleProvider(account, settings, subject=user)
