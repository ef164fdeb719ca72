"""Console sessions: a signed cookie plus a CSRF token derived from it.

The session cookie is `<agent>.<issued>.<nonce>.<HMAC>`: HttpOnly (scripts cannot read
it), SameSite=Strict (other sites' requests do not carry it) and Secure behind TLS. It
is stateless, so any instance can check it; every request still re-reads the agent, so
disabling an agent ends their sessions at once.

CSRF uses a synchronizer token derived from the session: HMAC(secret, "csrf:" + nonce).
The page gets it from `GET /console/session` and sends it as `X-CSRF-Token` on every
state-changing request; another site can neither read it nor compute it, and SameSite is
the second, independent layer. A state-changing request must also come from our own
origin when the browser says where it came from (`Origin`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web

COOKIE = "ir_console"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")


@dataclass(frozen=True, slots=True)
class Session:
    agent: str
    issued: int
    nonce: str


def _mac(secret: str, text: str) -> str:
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SessionCodec:
    def __init__(self, secret: str, ttl_seconds: float) -> None:
        if len(secret) < 16:
            raise ValueError("the console secret needs at least 16 characters")
        self.secret = secret
        self.ttl = ttl_seconds

    def issue(self, agent: str, now: float) -> str:
        if not _NAME.match(agent):
            raise ValueError(f"agent name {agent!r} cannot be put in a session")
        body = f"{agent}.{int(now)}.{secrets.token_urlsafe(12)}"
        return f"{body}.{_mac(self.secret, 'session:' + body)}"

    def verify(self, value: str, now: float) -> Session | None:
        """The session, or None when it is forged, malformed or older than the TTL."""
        if not value or len(value) > 300:
            return None
        body, _, sig = value.rpartition(".")
        if not hmac.compare_digest(sig.encode(), _mac(self.secret, "session:" + body).encode()):
            return None
        head, _, nonce = body.rpartition(".")  # the nonce and time hold no dots; names may
        agent, _, issued = head.rpartition(".")
        if not issued.isdigit() or not _NAME.match(agent):
            return None
        if not 0 <= now - int(issued) <= self.ttl:
            return None
        return Session(agent, int(issued), nonce)

    def csrf_token(self, session: Session) -> str:
        return _mac(self.secret, "csrf:" + session.nonce)

    def csrf_ok(self, request: web.Request, session: Session) -> bool:
        """Safe methods always pass; others need our origin (if sent) and the token."""
        if request.method in SAFE_METHODS:
            return True
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower():
            return False
        given = request.headers.get(CSRF_HEADER, "")
        return bool(given) and hmac.compare_digest(given.encode(),
                                                   self.csrf_token(session).encode())


def set_cookie(response: web.StreamResponse, value: str, *, max_age: int, secure: bool) -> None:
    response.set_cookie(COOKIE, value, max_age=max_age, path="/", httponly=True,
                        samesite="Strict", secure=secure)


def clear_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/")
