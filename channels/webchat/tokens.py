"""Signed visitor tokens: who a browser is, without a server-side session table.

A token is `<visitor id>.<issued unix time>.<HMAC-SHA256>`; the id is random, so a token
cannot be guessed, and the signature stops a visitor from claiming another's id. The
visitor id doubles as the conversation's thread key and the identity's external id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

PREFIX = "v_"


@dataclass(frozen=True, slots=True)
class Visitor:
    id: str
    issued: int


def new_visitor_id() -> str:
    return PREFIX + secrets.token_urlsafe(15)


def _sign(secret: str, body: str) -> str:
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def issue(secret: str, visitor_id: str, now: float | None = None) -> str:
    body = f"{visitor_id}.{int(time.time() if now is None else now)}"
    return f"{body}.{_sign(secret, body)}"


def verify(secret: str, token: str, ttl_seconds: float, now: float | None = None) -> Visitor | None:
    """The visitor a token names, or None when it is forged, malformed or expired."""
    if not token or len(token) > 200:
        return None
    body, _, sig = token.rpartition(".")
    visitor_id, _, issued_text = body.partition(".")
    if not visitor_id.startswith(PREFIX) or not issued_text.isdigit():
        return None
    if not hmac.compare_digest(sig.encode(), _sign(secret, body).encode()):
        return None
    issued = int(issued_text)
    current = time.time() if now is None else now
    if current - issued > ttl_seconds or issued - current > 300:  # 5 min of clock skew
        return None
    return Visitor(visitor_id, issued)
