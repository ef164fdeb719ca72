"""What conditions look at while one decision is made.

Built once per `decide()` from the `DecisionContext`. Conversation state (tags, queue,
status...) starts from the snapshot and is updated as earlier rules' actions are decided,
so a later rule sees `tag: vip` that an earlier rule just added, exactly as the pipeline
will apply them. Expensive facts (business hours) are computed on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from router.domain.model import DecisionContext

if TYPE_CHECKING:
    from router.domain.hours import Schedule


class Facts:
    __slots__ = ("_open", "_utf8", "assignee", "ctx", "event", "found", "language", "normalized",
                 "priority", "queue", "schedule", "status", "tags", "text")

    def __init__(self, ctx: DecisionContext, schedule: Schedule, language: str) -> None:
        conv = ctx.conversation
        self.ctx = ctx
        self.event = ctx.event
        self.schedule = schedule
        self.text = ctx.message.text or ""
        self.normalized = ""
        self.found: set[int] = set()
        self.language = language
        self.tags = set(conv.tags)
        self.queue = conv.queue
        self.priority = str(conv.priority)
        self.status = str(conv.status)
        self.assignee = conv.assignee
        self._open: bool | None = None
        self._utf8: bytes | None = None

    @property
    def utf8(self) -> bytes:
        """The text as UTF-8, what regexes search (encoded once per decision)."""
        if self._utf8 is None:
            self._utf8 = self.text.encode("utf-8", "surrogatepass")
        return self._utf8

    @property
    def is_open(self) -> bool:
        if self._open is None:
            self._open = self.schedule.is_open(self.ctx.now)
        return self._open
