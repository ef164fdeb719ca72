"""Two-factor sign-in for local accounts (issue 29): TOTP codes and recovery codes.

- The TOTP secret (RFC 6238: 30-second steps, 6 digits, SHA-1, what every authenticator
  app speaks) is made by the server, shown once as an otpauth:// URI and QR code, and
  stored encrypted (Fernet) under the installation's two-factor key: `TWOFACTOR_SECRET`,
  else `<data_dir>/twofactor.secret` (made at the first enrolment). A copy of the database
  alone gives no codes.
- A code is accepted for the current step or the one before or after (clock drift), and
  only for a step newer than the last one accepted: a code seen once (over a shoulder,
  in a proxy's log) cannot be used again, on any instance (`Tx.use_totp_step` is a
  conditional UPDATE).
- Ten recovery codes of 80 random bits each, shown once, kept as sha256 digests (like
  API tokens: nothing to brute-force at that length), each usable once.
- Between the password and the code, the browser holds a signed "pending" token
  (agent, first factor, time; five minutes), never a session.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken

from router.domain.model import Agent
from router.store.base import TwoFactor, Tx

log = logging.getLogger(__name__)

STEP = 30  # seconds per TOTP step (the authenticator apps' default)
DRIFT = 1  # steps accepted either side of now
RECOVERY_CODES = 10
PENDING_TTL = 300  # seconds between the first factor and the code
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_CODE = re.compile(r"^\d{6}$")


class Sealer:
    """Encrypts TOTP secrets at rest with a key derived from the installation's secret.

    `secret` is called when a secret is first sealed or opened: an installation where
    nobody uses two-factor sign-in never makes a key file.
    """

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret

    @functools.cached_property
    def _fernet(self) -> Fernet:
        digest = hashlib.sha256(b"inquiry-router two-factor:" + self._secret().encode()).digest()
        return Fernet(base64.urlsafe_b64encode(digest))

    def load(self) -> None:
        """Read (or make) the key now, outside any unit of work."""
        _ = self._fernet

    def seal(self, totp_secret: str) -> str:
        return self._fernet.encrypt(totp_secret.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The secret, or None when this key did not seal it (the key changed)."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            log.warning("console: a two-factor secret cannot be decrypted with this "
                        "installation's two-factor key (TWOFACTOR_SECRET or twofactor.secret "
                        "changed?); reset it with: inquiry-router agents 2fa NAME --reset")
            return None


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the agent's authenticator app needs; shown once."""

    secret: str
    uri: str
    qr: str  # an SVG image as a data: URI (the console's CSP allows data: images)

    def as_dict(self) -> dict[str, str]:
        return {"secret": self.secret, "otpauth_uri": self.uri, "qr": self.qr}


def enrolment(secret: str, agent: Agent, issuer: str) -> Enrolment:
    uri = pyotp.TOTP(secret, interval=STEP).provisioning_uri(
        name=agent.email or agent.name, issuer_name=issuer)
    return Enrolment(secret, uri, segno.make(uri, error="m").svg_data_uri(scale=4, border=2))


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step `code` belongs to (now, or DRIFT steps either side), or None."""
    code = code.strip().replace(" ", "")
    if not _CODE.match(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP)
    found = None
    for offset in range(-DRIFT, DRIFT + 1):  # every candidate, so the time says nothing
        when = now + offset * STEP
        if hmac.compare_digest(totp.at(when), code):
            found = totp.timecode(when)
    return found


def is_totp_code(code: str) -> bool:
    return bool(_CODE.match(code.strip().replace(" ", "")))


def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """`xxxx-xxxx-xxxx-xxxx`: 16 characters of a 31-letter alphabet, about 80 bits."""
    codes = set()
    while len(codes) < n:
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
        codes.add("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return sorted(codes)


def hash_recovery_code(code: str) -> str:
    """Digest of the code as typed in any case, with or without dashes and spaces."""
    clean = re.sub(r"[\s-]", "", code).lower()
    return hashlib.sha256(f"recovery:{clean}".encode()).hexdigest()


async def use_code(tx: Tx, tf: TwoFactor, secret: str | None, code: str,
                   now: datetime) -> str | None:
    """Check a code of an enabled enrolment and use it up: "totp", "recovery_code", or
    None when it is wrong or was used before."""
    if is_totp_code(code):
        step = matching_step(secret, code, now.timestamp()) if secret else None
        if step is not None and await tx.use_totp_step(tf.agent_id, step):
            return "totp"
        return None
    if code.strip() and await tx.use_recovery_code(tf.agent_id, hash_recovery_code(code), now):
        return "recovery_code"
    return None


async def confirm(tx: Tx, tf: TwoFactor, secret: str | None, code: str,
                  now: datetime) -> list[str] | None:
    """Enable a waiting enrolment with its first code: the new recovery codes, or None."""
    step = matching_step(secret, code, now.timestamp()) if secret else None
    if step is None:
        return None
    codes = new_recovery_codes()
    if not await tx.enable_two_factor(tf.agent_id, step, now,
                                      [hash_recovery_code(c) for c in codes]):
        return None
    return codes


# --- the pending token between the first factor and the code ----------------------------
@dataclass(frozen=True, slots=True)
class Pending:
    agent: str
    method: str  # the first factor: "password" or "token"


class PendingCodec:
    """`<agent>.<method>.<issued>.<nonce>.<HMAC>`, signed with the console's secret."""

    def __init__(self, secret: str, ttl: int = PENDING_TTL) -> None:
        self.secret = secret.encode()
        self.ttl = ttl

    def _mac(self, body: str) -> str:
        digest = hmac.new(self.secret, f"two-factor-pending:{body}".encode(),
                          hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def issue(self, agent: str, method: str, now: float | None = None) -> str:
        body = f"{agent}.{method}.{int(now if now is not None else time.time())}." \
               f"{secrets.token_urlsafe(9)}"
        return f"{body}.{self._mac(body)}"

    def verify(self, value: object, now: float | None = None) -> Pending | None:
        if not isinstance(value, str) or len(value) > 300:
            return None
        body, _, sig = value.rpartition(".")
        if not hmac.compare_digest(sig.encode(), self._mac(body).encode()):
            return None
        head, _, _nonce = body.rpartition(".")
        head, _, issued = head.rpartition(".")
        agent, _, method = head.rpartition(".")  # names may hold dots; methods do not
        current = now if now is not None else time.time()
        if not issued.isdigit() or not 0 <= current - int(issued) <= self.ttl or not agent:
            return None
        return Pending(agent, method)
