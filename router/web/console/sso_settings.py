"""Settings of console sign-in (`console: {auth: {...}}`, issue 29): local passwords on or
off, and OpenID Connect providers for single sign-on (router/web/console/oidc.py).

The models live here, next to the code that reads them; router/config.py puts them under
the top-level `console` key, so `inquiry-router check` reports their problems with the
file:line of the offending value like every other setting.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SsoRoles(_Strict):
    """Values of the provider's role claim (group ids or names, app roles, a Google
    Workspace domain) that make someone an admin or an agent here; admin wins."""

    admin: list[str] = []
    agent: list[str] = []


def _web_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} must be an https:// address")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise ValueError(f"{what} must use https:// (plain http only on 127.0.0.1 or localhost)")
    if parts.query or parts.fragment:
        raise ValueError(f"{what} takes no query or fragment")
    return value


class SsoProvider(_Strict):
    """One OpenID Connect provider (Entra ID, Google, Keycloak, any compliant one)."""

    #: the button reads "Sign in with <label>"; default: the provider's key
    label: str = Field("", max_length=60)
    #: exactly the provider's `issuer` (its discovery document is read from
    #: <issuer>/.well-known/openid-configuration and must name the same issuer)
    issuer: str
    client_id: str = Field(min_length=1)
    #: write `${OIDC_CLIENT_SECRET}`: the secret belongs in the environment, never the file
    client_secret: str = ""
    #: how the console authenticates to the token endpoint; `none` for a public client
    #: (PKCE is used either way)
    token_auth: Literal["client_secret_basic", "client_secret_post", "none"] = "client_secret_basic"
    scopes: list[str] = ["openid", "email", "profile"]
    #: registered at the provider; default <service.public_url>/console/sso/<key>/callback
    #: (or the address the browser used when public_url is empty)
    redirect_uri: str = ""
    #: the claim that carries the agent's email address (matched case-insensitively)
    email_claim: str = "email"
    #: refuse an address the provider does not mark `email_verified` (Entra ID does not
    #: send that claim: set false there, its tenant owns the addresses)
    require_verified_email: bool = True
    #: where the role values are; dots go into nested claims (`realm_access.roles`)
    roles_claim: str = "groups"
    #: empty: anyone the provider signs in may use the agent account with their email
    roles: SsoRoles = SsoRoles()
    #: create an agent at first sign-in when none has the address (needs `roles`)
    create_agents: bool = False
    #: seconds for each request to the provider (discovery, keys, token)
    timeout: float = Field(10.0, gt=0, le=60)
    #: allowed difference between our clock and the provider's, in seconds
    clock_skew: int = Field(60, ge=0, le=300)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        return _web_url(value, "issuer")

    @field_validator("redirect_uri")
    @classmethod
    def _redirect(cls, value: str) -> str:
        return _web_url(value, "redirect_uri") if value else value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if "openid" not in value:
            raise ValueError("scopes must include openid")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> SsoProvider:
        if self.token_auth != "none" and not self.client_secret:
            raise ValueError(f"token_auth {self.token_auth} needs client_secret: write "
                             "client_secret: ${OIDC_CLIENT_SECRET} and export it")
        if self.create_agents and not (self.roles.admin or self.roles.agent):
            raise ValueError("create_agents needs roles: map the provider's groups (or a "
                             "Google Workspace hd domain) so only your people get accounts")
        return self


class ConsoleAuthSettings(_Strict):
    #: false: the console refuses email + password sign-in (single sign-on and API
    #: tokens only)
    passwords: bool = True
    #: single sign-on providers by key; the key is part of the callback address
    sso: dict[str, SsoProvider] = {}

    @field_validator("sso")
    @classmethod
    def _keys(cls, value: dict[str, SsoProvider]) -> dict[str, SsoProvider]:
        for key in value:
            if not _ID.match(key):
                raise ValueError(f"provider key {key!r}: use lowercase letters, digits, - "
                                 "and _ (it is part of the callback address)")
        return value

    @model_validator(mode="after")
    def _someone_can_sign_in(self) -> ConsoleAuthSettings:
        if not self.passwords and not self.sso:
            raise ValueError("passwords: false needs at least one provider under sso:")
        return self


class ConsoleSettings(_Strict):
    auth: ConsoleAuthSettings = ConsoleAuthSettings()
