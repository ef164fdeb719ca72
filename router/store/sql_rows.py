"""Rows to domain objects and back, shared by every SQL backend.

Columns hold the same values on SQLite and PostgreSQL: timestamps are fixed-width UTC
TEXT (`ts`/`parse_ts`, so they sort and compare as text), JSON is TEXT, booleans are
INTEGER 0/1. That is what lets one set of SQL strings serve both backends.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import orjson

from router.domain.model import (
    Agent,
    AuthorKind,
    Conversation,
    Direction,
    Event,
    Message,
    OutboxRow,
    OutboxStatus,
    Role,
    Status,
)
from router.store.base import ConversationFilter, parse_ts, parse_ts_all, ts_all


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def loads(value: str | None) -> Any:
    if not value:
        return None
    # most tags/metadata/attachments columns are empty: the same fresh objects, no parser
    if value == "[]":
        return []
    if value == "{}":
        return {}
    return orjson.loads(value)


@lru_cache(maxsize=64)  # the few sizes a message uses; any size works
def marks(n: int) -> str:
    """`?, ?, ?` for an IN list of n values."""
    return ",".join("?" * n)


CONV_COLS = ("id, contact_id, channel, thread_key, recipient, status, language, queue, priority, "
             "tags, assignee, message_count, bot_turns, metadata, created_at, updated_at, "
             "queued_at, first_response_at, resolved_at, last_customer_at, assigned_at, "
             "last_agent_at, first_response_due, resolution_due, sla_paused_at, "
             "sla_first_breached_at, sla_resolution_breached_at, snoozed_until")
AGENT_COLS = ("id, name, display_name, email, role, languages, capacity, online, online_changed_at, "
              "disabled, last_assigned_at, source, created_at")
MSG_COLS = ("id, conversation_id, direction, author_kind, author_id, text, language, external_id, "
            "attachments, internal, created_at, edited_at")
OUTBOX_COLS = ("id, idempotency_key, channel, thread_key, recipient, payload, status, attempts, "
               "next_attempt_at, created_at, conversation_id, message_id, last_error, sent_at, "
               "external_id")
AGENT_CONV_SET = ("assigned_at = ?, last_agent_at = ?, first_response_due = ?, resolution_due = ?, "
                  "sla_paused_at = ?, sla_first_breached_at = ?, sla_resolution_breached_at = ?, "
                  "snoozed_until = ?")


# The columns a save may write, in order, and where each is in a CONV_COLS row.
CONV_SAVED = ("status", "language", "queue", "priority", "tags", "assignee", "message_count",
              "bot_turns", "metadata", "updated_at", "queued_at", "first_response_at",
              "resolved_at", "last_customer_at", "recipient", "assigned_at", "last_agent_at",
              "first_response_due", "resolution_due", "sla_paused_at", "sla_first_breached_at",
              "sla_resolution_breached_at", "snoozed_until")
_CONV_SAVED_AT = tuple(CONV_COLS.split(", ").index(c) for c in CONV_SAVED)
_conv_saved = operator.itemgetter(*_CONV_SAVED_AT)  # one C call per row read


def conversation(r: Sequence[Any]) -> Conversation:
    conv = _conversation(r)
    conv.stored = _conv_saved(r)
    return conv


def conversation_values(cv: Conversation) -> tuple[Any, ...]:
    """The CONV_SAVED columns of `cv` as stored."""
    return (str(cv.status), cv.language, cv.queue, cv.priority, dumps(cv.tags), cv.assignee,
            cv.message_count, cv.bot_turns, dumps(cv.metadata),
            *ts_all((cv.updated_at, cv.queued_at, cv.first_response_at, cv.resolved_at,
                     cv.last_customer_at)),
            cv.recipient, *agent_conv_values(cv))


def _conversation(r: Sequence[Any]) -> Conversation:
    (created_at, updated_at, queued_at, first_response_at, resolved_at, last_customer_at,
     assigned_at, last_agent_at, first_response_due, resolution_due, sla_paused_at,
     sla_first_breached_at, sla_resolution_breached_at, snoozed_until) = parse_ts_all(r[14:28])
    return Conversation(
        id=r[0], contact_id=r[1], channel=r[2], thread_key=r[3], recipient=r[4],
        status=Status(r[5]), language=r[6], queue=r[7], priority=r[8], tags=loads(r[9]) or [],
        assignee=r[10], message_count=r[11], bot_turns=r[12], metadata=loads(r[13]) or {},
        created_at=created_at, updated_at=updated_at, queued_at=queued_at,
        first_response_at=first_response_at, resolved_at=resolved_at,
        last_customer_at=last_customer_at, assigned_at=assigned_at,
        last_agent_at=last_agent_at, first_response_due=first_response_due,
        resolution_due=resolution_due, sla_paused_at=sla_paused_at,
        sla_first_breached_at=sla_first_breached_at,
        sla_resolution_breached_at=sla_resolution_breached_at, snoozed_until=snoozed_until,
    )


def agent(r: Sequence[Any]) -> Agent:
    return Agent(
        id=r[0], name=r[1], display_name=r[2], email=r[3], role=Role(r[4]),
        languages=loads(r[5]) or [], capacity=r[6], online=bool(r[7]),
        online_changed_at=parse_ts(r[8]), disabled=bool(r[9]), last_assigned_at=parse_ts(r[10]),
        source=r[11], created_at=parse_ts(r[12]),
    )


def message(r: Sequence[Any]) -> Message:
    return Message(
        id=r[0], conversation_id=r[1], direction=Direction(r[2]), author_kind=AuthorKind(r[3]),
        author_id=r[4], text=r[5], language=r[6], external_id=r[7],
        attachments=loads(r[8]) or [], internal=bool(r[9]), created_at=parse_ts(r[10]),  # type: ignore[arg-type]
        edited_at=parse_ts(r[11]),
    )


def outbox(r: Sequence[Any]) -> OutboxRow:
    return OutboxRow(
        id=r[0], idempotency_key=r[1], channel=r[2], thread_key=r[3], recipient=r[4],
        payload=loads(r[5]) or {}, status=OutboxStatus(r[6]), attempts=r[7],
        next_attempt_at=parse_ts(r[8]), created_at=parse_ts(r[9]),  # type: ignore[arg-type]
        conversation_id=r[10], message_id=r[11], last_error=r[12], sent_at=parse_ts(r[13]),
        external_id=r[14],
    )


def agent_conv_values(cv: Conversation) -> tuple[str | None, ...]:
    return tuple(ts_all((cv.assigned_at, cv.last_agent_at, cv.first_response_due,
                         cv.resolution_due, cv.sla_paused_at, cv.sla_first_breached_at,
                         cv.sla_resolution_breached_at, cv.snoozed_until)))


def conversation_where(flt: ConversationFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if flt.statuses:
        where.append(f"status IN ({marks(len(flt.statuses))})")
        params.extend(flt.statuses)
    if flt.queues:
        where.append(f"queue IN ({marks(len(flt.queues))})")
        params.extend(flt.queues)
    if flt.assignee is not None:
        where.append("assignee = ?")
        params.append(flt.assignee)
    if flt.priority:
        where.append("priority = ?")
        params.append(flt.priority)
    if flt.tag:  # tags are a JSON list of strings: match the quoted element
        where.append("tags LIKE ?")
        params.append('%' + dumps(flt.tag) + '%')
    if flt.contact_id is not None:
        where.append("contact_id = ?")
        params.append(flt.contact_id)
    if not flt.include_snoozed:
        where.append("snoozed_until IS NULL")
    return where, params


#: an event's columns, in the order `event` reads them
EVENT_COLS = "id, kind, created_at, conversation_id, actor, data"


def event(r: Sequence[Any]) -> Event:
    """A row of `EVENT_COLS` as an Event."""
    return Event(id=r[0], kind=r[1], created_at=parse_ts(r[2]), conversation_id=r[3],  # type: ignore[arg-type]
                 actor=r[4], data=loads(r[5]) or {})
