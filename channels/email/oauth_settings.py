"""`channels.email.oauth2.<name>`: where an OAuth2 account gets its access tokens.

Kept apart from `channels.email.oauth` so that validating a config (`check`) imports
neither msal nor google-auth. Secrets (`client_secret`, `refresh_token`,
`service_account_json`) come from `${ENV}` substitution and are never in a repr.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"

# what each flow asks for when `scopes` is not given
DEFAULT_SCOPES: dict[tuple[str, str], tuple[str, ...]] = {
    # app-only: the Exchange Online application permissions IMAP.AccessAsApp, SMTP.SendAsApp
    ("microsoft", "client_credentials"): ("https://outlook.office365.com/.default",),
    # delegated: msal adds offline_access (the refresh token) and openid/profile itself
    ("microsoft", "refresh_token"): ("https://outlook.office.com/IMAP.AccessAsUser.All",
                                     "https://outlook.office.com/SMTP.Send"),
    ("google", "refresh_token"): ("https://mail.google.com/",),
    ("google", "service_account"): ("https://mail.google.com/",),
}
FLOWS = {"microsoft": ("client_credentials", "refresh_token"),
         "google": ("refresh_token", "service_account")}


class OAuth2Settings(BaseModel):
    """One identity provider account; `imap.oauth2` and `smtp_out.oauth2` name it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Literal["microsoft", "google"]
    # microsoft: client_credentials (app-only, admin consent in Entra) or refresh_token
    # (a one-time consent by the mailbox's user or an admin: `inquiry-router email-oauth
    # login`); google: refresh_token, or service_account (Workspace domain-wide delegation)
    flow: Literal["client_credentials", "refresh_token", "service_account"]
    client_id: str = ""
    client_secret: str = Field(default="", repr=False)
    tenant: str = ""  # microsoft: the directory (tenant) id or its domain
    # a refresh token from the environment; once used, the one the provider hands back is
    # kept encrypted in the data directory (a changed variable wins over the kept one)
    refresh_token: str = Field(default="", repr=False)
    service_account_file: str = ""  # google service_account: the JSON key file
    service_account_json: str = Field(default="", repr=False)  # or its contents
    # google service_account: the mailbox to act as (default: the IMAP/SMTP username)
    subject: str = ""
    scopes: list[str] = Field(default_factory=list)
    authority: str = MICROSOFT_AUTHORITY  # microsoft: another cloud (or a test stand-in)
    token_uri: str = GOOGLE_TOKEN_URI  # google: the token endpoint
    ca_file: str = ""  # an extra trusted CA (PEM) for the token endpoint
    timeout: float = Field(default=30.0, gt=0)
    # fetch a new access token this long before the current one expires
    refresh_margin: float = Field(default=300.0, ge=0)

    @model_validator(mode="after")
    def _complete(self) -> OAuth2Settings:
        if self.flow not in FLOWS[self.provider]:
            raise ValueError(f"flow: {self.provider} supports {' or '.join(FLOWS[self.provider])}, "
                             f"not {self.flow}")
        missing = []
        if self.provider == "microsoft":
            missing += [k for k in ("tenant", "client_id") if not getattr(self, k)]
            if self.flow == "client_credentials" and not self.client_secret:
                missing.append("client_secret")
        elif self.flow == "refresh_token":
            missing += [k for k in ("client_id", "client_secret") if not getattr(self, k)]
        elif not (self.service_account_file or self.service_account_json):
            missing.append("service_account_file (or service_account_json)")
        if missing:
            raise ValueError(f"{self.provider} {self.flow} needs {', '.join(missing)}")
        return self

    def scope_list(self) -> list[str]:
        return list(self.scopes) or list(DEFAULT_SCOPES[(self.provider, self.flow)])
