"""Bot state kept on the conversation between messages (`ConversationView.metadata`).

Bots are pure functions, so what they must remember (failures in a row, the away reply
already sent, the last reply, the CSAT survey) travels with the conversation: read here
from the view, written back by a `meta` action in the same transaction as the reply it
belongs to. Keys are prefixed `bots.` so that other stages can keep their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from router.domain.model import WANTS_HUMAN_KEY
from router.domain.timestamps import parse_ts, ts

FAILURES = "bots.failures"
AWAY_SENT = "bots.away_sent"
LAST_REPLY = "bots.last_reply"
REPLY_TIMES = "bots.reply_times"
SUGGESTED = "bots.suggested"
HANDOFF = "bots.handoff"
WANTS_HUMAN = WANTS_HUMAN_KEY  # when the customer last asked for a person (agents see it)
LOOP = "bots.loop"
CSAT = "bots.csat"


@dataclass(slots=True)
class BotState:
    failures: int = 0
    away_sent: bool = False
    last_reply: str = ""
    reply_times: list[datetime] = field(default_factory=list)
    suggested: list[str] = field(default_factory=list)
    handoff: str = ""
    loop: bool = False
    csat: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, meta: Mapping[str, Any]) -> BotState:
        if not meta:
            return cls()  # a new conversation (the defaults read from an empty mapping)
        get = meta.get
        raw = get(REPLY_TIMES)
        times = [t for t in map(parse_ts, map(str, raw)) if t] if raw else []
        suggested = get(SUGGESTED)
        return cls(
            failures=int(get(FAILURES, 0) or 0), away_sent=bool(get(AWAY_SENT)),
            last_reply=str(get(LAST_REPLY, "") or ""), reply_times=times,
            suggested=[str(s) for s in suggested] if suggested else [],
            handoff=str(get(HANDOFF, "") or ""), loop=bool(get(LOOP)),
            csat=dict(get(CSAT) or {}),
        )

    def replies_within(self, now: datetime, window: timedelta) -> list[datetime]:
        return [t for t in self.reply_times if now - t < window]

    @property
    def csat_expires(self) -> datetime | None:
        return parse_ts(self.csat.get("expires"))


def stamp(when: datetime) -> str:
    return ts(when) or ""
