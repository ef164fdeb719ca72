"""`console.auth` settings (issue 29): each mistake is one located line, with a hint;
role claims mapped to roles; the flow cookie."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.config import load_config
from router.domain.errors import ConfigError
from router.domain.model import Role
from router.web.console.oidc import FLOW_TTL, Flow, claim_at, role_for, seal, unseal
from router.web.console.sso_settings import SsoProvider
from tests.conftest import write_config


@pytest.mark.parametrize(("auth_yaml", "message"), [
    ("{passwords: false}", "passwords: false needs at least one provider under sso:"),
    ("{sso: {Bad Key: {issuer: 'https://idp.example', client_id: c, client_secret: s}}}",
     "provider key 'Bad Key'"),
    ("{sso: {kc: {issuer: 'http://idp.example', client_id: c, client_secret: s}}}",
     "issuer must use https://"),
    ("{sso: {kc: {issuer: 'https://idp.example', client_id: c}}}",
     "needs client_secret"),
    ("{sso: {kc: {issuer: 'https://idp.example', client_id: c, token_auth: none, "
     "create_agents: true}}}", "create_agents needs roles"),
    ("{sso: {kc: {issuer: 'https://idp.example', client_id: c, token_auth: none, "
     "scopes: [email]}}}", "scopes must include openid"),
    ("{sso: {kc: {issuer: 'https://idp.example', client_id: c, token_auth: none, "
     "role_claim: groups}}}", "did you mean 'roles_claim'?"),
])
def test_settings_are_checked(tmp_path: Path, auth_yaml: str, message: str) -> None:
    path = write_config(tmp_path, f"console: {{auth: {auth_yaml}}}")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert message in text and "config.yaml:" in text, text


def test_role_claims_map_to_roles() -> None:
    s = SsoProvider(issuer="https://kc.example/realms/support", client_id="c", token_auth="none",
                    roles_claim="realm_access.roles",
                    roles={"admin": ["support-admin"], "agent": ["support", "sales"]})
    assert claim_at({"realm_access": {"roles": ["x"]}}, "realm_access.roles") == ["x"]
    assert claim_at({"realm_access": "flat"}, "realm_access.roles") is None
    assert role_for(s, {"realm_access": {"roles": ["support", "support-admin"]}}) == Role.ADMIN
    assert role_for(s, {"realm_access": {"roles": ["sales"]}}) == Role.AGENT
    assert role_for(s, {"realm_access": {"roles": ["marketing", 7]}}) is None
    assert role_for(s, {}) is None
    google = SsoProvider(issuer="https://accounts.google.com", client_id="c", token_auth="none",
                         roles_claim="hd", roles={"agent": ["example.se"]})
    assert role_for(google, {"hd": "example.se"}) == Role.AGENT  # a string claim
    assert role_for(google, {"hd": "gmail.com"}) is None


def test_the_flow_cookie_is_signed_and_short_lived() -> None:
    flow = Flow("entra", "state", "nonce", "verifier", 1_000_000)
    value = seal(flow, "console-secret-0123456789")
    assert unseal(value, "console-secret-0123456789", 1_000_000 + FLOW_TTL) == flow
    assert unseal(value, "console-secret-0123456789", 1_000_000 + FLOW_TTL + 1) is None  # too old
    assert unseal(value, "console-secret-0123456789", 1_000_000 - 1) is None  # from the future
    assert unseal(value, "another-secret-0123456789", 1_000_000) is None
    body, _, sig = value.partition(".")
    assert unseal(f"{body}x.{sig}", "console-secret-0123456789", 1_000_000) is None
    assert unseal("", "console-secret-0123456789", 1_000_000) is None
