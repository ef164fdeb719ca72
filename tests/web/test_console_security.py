"""Console sign-in primitives: argon2 passwords, signed sessions, CSRF decisions."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from router.web.console import passwords
from router.web.console.sessions import CSRF_HEADER, SessionCodec

SECRET = "console-test-secret-0123456789"


def test_password_hash_verifies_and_refuses() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse battery")
    assert not passwords.verify(stored, "correct horse batterY")
    assert not passwords.verify(None, "correct horse battery")  # unknown agent: dummy check
    assert not passwords.verify("not a hash", "x")
    assert not passwords.needs_rehash(stored)
    with pytest.raises(passwords.WeakPassword, match="at least 10"):
        passwords.hash_password("short")


def test_session_round_trip_forgery_and_expiry() -> None:
    codec = SessionCodec(SECRET, ttl_seconds=3600)
    value = codec.issue("anna.k", now=1_000_000)
    session = codec.verify(value, now=1_000_010)
    assert session is not None and session.agent == "anna.k"
    assert codec.verify(value, now=1_004_000) is None
    assert codec.verify(value.replace("anna.k", "admin"), now=1_000_010) is None
    assert SessionCodec("another-secret-0123456789", 3600).verify(value, now=1_000_010) is None
    assert codec.verify("", now=0) is None
    with pytest.raises(ValueError):
        codec.issue("bad name<", now=0)


def _request(method: str, headers: dict[str, str]) -> object:
    return make_mocked_request(method, "/api/v1/conversations/1/resolve",
                               headers={"Host": "desk.example", **headers})


def test_csrf_needs_the_token_and_our_origin_for_state_changes() -> None:
    codec = SessionCodec(SECRET, ttl_seconds=3600)
    session = codec.verify(codec.issue("anna", now=1000), now=1001)
    assert session is not None
    token = codec.csrf_token(session)
    assert codec.csrf_ok(_request("GET", {}), session)
    assert not codec.csrf_ok(_request("POST", {}), session)
    assert not codec.csrf_ok(_request("POST", {CSRF_HEADER: "guess"}), session)
    assert codec.csrf_ok(_request("POST", {CSRF_HEADER: token}), session)
    assert codec.csrf_ok(_request("POST", {CSRF_HEADER: token,
                                           "Origin": "https://desk.example"}), session)
    assert not codec.csrf_ok(_request("POST", {CSRF_HEADER: token,
                                               "Origin": "https://evil.example"}), session)
    other = codec.verify(codec.issue("anna", now=1000), now=1001)
    assert other is not None and codec.csrf_token(other) != token  # per session
