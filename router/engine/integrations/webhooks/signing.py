"""The webhook signature: HMAC-SHA256 over `<timestamp>.<body>`, as Stripe and Slack sign.

Headers: `X-Router-Timestamp: <unix seconds>` and `X-Router-Signature: v1=<hex digest>`.
The timestamp is part of what is signed, so a receiver that refuses old timestamps (five
minutes is usual) cannot be fed a recorded delivery again later; each attempt is signed
anew with the time it is sent, while its idempotency key stays the same. `v1` names the
scheme, so a later one can be sent beside it. The receiver's side is `verify` (and the
snippet in docs/integrations.md, which does the same without this package).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

SCHEME = "v1"
TIMESTAMP = "X-Router-Timestamp"
SIGNATURE = "X-Router-Signature"
TOLERANCE = 300  # seconds


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `timestamp + "." + body` under `secret`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    stamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP: stamp, SIGNATURE: f"{SCHEME}={signature(secret, stamp, body)}"}


def verify(secret: str, received: Mapping[str, str], body: bytes, *,
           now: float | None = None, tolerance: int = TOLERANCE) -> bool:
    """Whether `body` with these headers was signed with `secret` within `tolerance`."""
    stamp = received.get(TIMESTAMP, "")
    if not stamp.isdigit() or abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        return False
    expected = signature(secret, stamp, body)
    given = [part.strip()[len(SCHEME) + 1:] for part in received.get(SIGNATURE, "").split(",")
             if part.strip().startswith(SCHEME + "=")]
    return any(hmac.compare_digest(expected, g) for g in given)
