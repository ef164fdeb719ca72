"""Signed CSAT tokens: who may rate which conversation, until when.

A rating link or button carries the conversation id and an expiry, signed with
HMAC-SHA256 under the admin's secret, so nobody can rate a conversation they were not
sent a survey for, or after the survey expired. Replays (a second rating with the same
link) are refused by the state stored on the conversation, not by the token, because a
token cannot know it was used.

Two encodings of the same idea:
- link token  `<conv>.<expires unix>.<sig>`  for `{public_url}/csat/<token>?score=N`;
- button payload `csat:<conv>:<score>:<sig>` (Telegram allows only 64 bytes of callback
  data): the expiry is not in the payload but in the conversation's metadata, and the
  signature covers it, so it cannot be changed either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from router.domain.timestamps import ts

SIG_HEX = 32  # 128 bits of the HMAC: plenty against guessing, short enough for 64 bytes
SCORES = range(1, 6)
PAYLOAD_PREFIX = "csat:"


class InvalidToken(ValueError):
    """A token or payload that is malformed, forged or expired; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def throwaway_key() -> Callable[[], str]:
    """A key for this process only (tests, dry runs): what it signs dies with it."""
    key = secrets.token_urlsafe(32)
    return lambda: key


@dataclass(frozen=True, slots=True)
class LinkToken:
    conversation_id: int
    expires: datetime


@dataclass(frozen=True, slots=True)
class CsatSigner:
    secret: str

    def _sig(self, message: str) -> str:
        mac = hmac.new(self.secret.encode(), message.encode(), hashlib.sha256)
        return mac.hexdigest()[:SIG_HEX]

    # --- links (email, web) -----------------------------------------------------------
    def link_token(self, conversation_id: int, expires: datetime) -> str:
        exp = int(expires.timestamp())
        return f"{conversation_id}.{exp}.{self._sig(f'link:{conversation_id}:{exp}')}"

    def verify_link(self, token: str, now: datetime) -> LinkToken:
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise InvalidToken("malformed")
        conv, exp, sig = int(parts[0]), int(parts[1]), parts[2]
        if not hmac.compare_digest(sig, self._sig(f"link:{conv}:{exp}")):
            raise InvalidToken("forged")
        expires = datetime.fromtimestamp(exp, UTC)
        if now >= expires:
            raise InvalidToken("expired")
        return LinkToken(conv, expires)

    # --- buttons (chat channels) ------------------------------------------------------
    def payload(self, conversation_id: int, score: int, expires: datetime) -> str:
        exp = int(expires.timestamp())
        sig = self._sig(f"btn:{conversation_id}:{score}:{exp}")
        return f"{PAYLOAD_PREFIX}{conversation_id}:{score}:{sig}"

    def verify_payload(self, payload: str, *, conversation_id: int, expires: datetime | None,
                       now: datetime) -> int:
        """The score of a button press for `conversation_id`; InvalidToken otherwise."""
        parts = payload.removeprefix(PAYLOAD_PREFIX).split(":")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise InvalidToken("malformed")
        conv, score, sig = int(parts[0]), int(parts[1]), parts[2]
        if expires is None or conv != conversation_id or score not in SCORES:
            raise InvalidToken("forged")
        exp = int(expires.timestamp())
        if not hmac.compare_digest(sig, self._sig(f"btn:{conv}:{score}:{exp}")):
            raise InvalidToken("forged")
        if now >= expires:
            raise InvalidToken("expired")
        return score


def rating(survey: dict[str, Any], score: int, now: datetime, via: str,
           comment: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """The `csat` event's data and the conversation's survey record after a rating: one
    shape whether the customer pressed a button in a chat or followed a mail's link."""
    event = {"score": score, "comment": comment, "via": via}
    record = {**survey, "rated": score, "rated_at": ts(now) or "", "via": via,
              "commented": bool(comment)}
    return event, record
