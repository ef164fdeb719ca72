"""`CsatRecorder`: the port through which a survey answer reaches the conversation.

The rating link page (`bots/csat_http.py`) decides what an answer means (a rating, a
comment on the rating just given, a refusal) as a pure function of the survey record on
the conversation; the recorder runs that decision and keeps its outcome in one unit of
work, so two clicks on the same link at once cannot both count. The composition root
hands the page a recorder on the store (`router/engine/csat_recorder_store.py`).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

#: the refusal for a conversation that does not exist (any more)
UNKNOWN: Final = "unknown"


@dataclass(frozen=True, slots=True)
class SurveyAnswer:
    """What an answer changes: the conversation's survey record after it, and the event
    (`kind`, `data`) that reports and webhooks see."""

    record: dict[str, Any]
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


#: the survey record as stored (empty if none) -> the change, or why nothing is recorded
Decide = Callable[[dict[str, Any]], SurveyAnswer | str]


class CsatRecorder(abc.ABC):
    @abc.abstractmethod
    async def answer(self, conversation_id: int, key: str, decide: Decide,
                     now: datetime) -> str:
        """Apply `decide` to the survey record under `metadata[key]` of the conversation
        and keep the outcome with its event (actor `customer`). Returns "" once recorded,
        `decide`'s refusal, or `UNKNOWN` for a conversation that is not there."""
