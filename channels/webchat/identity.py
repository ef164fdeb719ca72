"""Signed identities: the embedding site says which of its customers is signed in.

The site signs `{"sub": "<its user id>", "email": ..., "name": ..., "exp": <unix time>}`
as a JSON Web Token with HS256 (HMAC-SHA256) under `identity_secret`, a key it shares
with us and nobody else, and passes it to the widget (`data-identity`, docs/web.md). Any
JWT library makes one; checking it takes no library: only HS256 is accepted (the `alg`
a token names is never trusted to pick another), the signature is compared in constant
time, `exp` is required and honoured with a minute of clock skew, and `sub` must be a
short non-empty string. Anything else is refused as a whole, never read in part.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from router.engine.identities import SiteUser

MAX_TOKEN = 4096
SKEW = 60  # seconds of clock difference tolerated on exp, iat and nbf


def _b64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def _part(data: str) -> dict[str, Any] | None:
    try:
        value = json.loads(_b64(data))
    except (ValueError, binascii.Error):
        return None
    return value if isinstance(value, dict) else None


def sign(secret: str, claims: dict[str, Any]) -> str:
    """An HS256 token of `claims` (what the embedding site does; tests and docs use it)."""
    def enc(obj: Any) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    body = f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc(claims)}"
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def verify(secret: str, token: str, now: float | None = None) -> SiteUser | None:
    """The site user a token vouches for, or None (forged, expired, malformed, or off)."""
    if not secret or not token or len(token) > MAX_TOKEN or token.count(".") != 2:
        return None
    head, body, sig = token.split(".")
    header, claims = _part(head), _part(body)
    if header is None or claims is None or header.get("alg") != "HS256":
        return None
    try:
        given = _b64(sig)
    except (ValueError, binascii.Error):
        return None
    expected = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected):
        return None
    current = time.time() if now is None else now
    exp, nbf, iat = claims.get("exp"), claims.get("nbf", 0), claims.get("iat", 0)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (exp, nbf, iat)):
        return None
    if exp + SKEW < current or nbf - SKEW > current or iat - SKEW > current:
        return None
    sub, email, name = claims.get("sub"), claims.get("email", ""), claims.get("name", "")
    if not isinstance(sub, str) or not 0 < len(sub) <= 200 or not sub.isprintable():
        return None
    if not isinstance(email, str) or len(email) > 254 or (email and "@" not in email):
        return None
    if not isinstance(name, str) or len(name) > 200:
        return None
    if not (email.isprintable() and name.isprintable()):  # no NUL, no lone surrogate
        return None
    return SiteUser(sub, email.strip(), name.strip())
