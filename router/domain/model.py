"""Domain model: the only types that cross between channels, rules, bots and the core.

Platform objects (aiogram, slack_sdk, email.message) never leave `channels/`; adapters
translate them into these frozen dataclasses. Rules and bots see read-only snapshots
(`ConversationView`, `ContactView`) so that they stay pure functions of their inputs.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Status(enum.StrEnum):
    """Conversation states: bot -> queued -> assigned -> resolved (-> queued on reopen)."""

    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class AuthorKind(enum.StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


PRIORITY_RANK: Mapping[str, int] = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


class InboundKind(enum.StrEnum):
    """What an adapter saw: a new message, an edit of one, or a button press."""

    MESSAGE = "message"
    EDIT = "edit"
    CALLBACK = "callback"


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str  # photo, document, voice, video, sticker, location, contact, file, image
    name: str = ""
    mime: str = ""
    size: int = 0
    ref: str = ""  # platform file id, storage key or URL
    caption: str = ""
    # channel-specific keys stored with the attachment (Telegram: a pending download job,
    # `{"download": "pending"}`, so a job committed with the message survives a restart)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "mime": self.mime,
            "size": self.size,
            "ref": self.ref,
            "caption": self.caption,
            **self.extra,
        }


@dataclass(frozen=True, slots=True)
class Sender:
    """Who wrote a message, as the platform identifies them."""

    external_id: str  # chat user id, email address, slack user id, web visitor id
    display_name: str = ""
    username: str = ""  # telegram @username, slack handle
    email: str = ""
    team: str = ""  # slack team id
    language_hint: str = ""  # telegram language_code, slack locale, browser language
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A normalised customer message, as an adapter hands it to the pipeline.

    `external_id` is the inbox dedupe key within `channel`: a redelivery carries the same
    value and is recognised. `thread_key` says which conversation thread on the platform
    the message belongs to (a Telegram chat, a Slack channel+thread, an email thread root).
    """

    channel: str
    external_id: str
    thread_key: str
    sender: Sender
    text: str
    received_at: datetime
    attachments: tuple[Attachment, ...] = ()
    kind: InboundKind = InboundKind.MESSAGE
    is_automatic: bool = False  # auto-replies, bounces, bots: never answered
    reply_to: str = ""  # external id of the message this one answers, if known
    # further keys that identify the same thread; see PINNED_KEY_PREFIX for keys that
    # only find a conversation and are never added to the one the message lands in
    thread_aliases: tuple[str, ...] = ()
    edits: str = ""  # for kind=EDIT: external id of the edited message
    callback_data: str = ""  # for kind=CALLBACK: the button's payload
    metadata: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] | None = None
    # the stored message's external id when it differs from the inbox key (Telegram: the
    # inbox key is the update_id, an edit finds its message by chat:message_id); "" = same
    message_external_id: str = ""
    # for kind=EDIT: run the rules again on the edited text (Telegram rerun_rules_on_edit)
    rerun_rules: bool = False


# Thread keys a conversation hands out itself, through `SendResult.thread_keys` (an email
# reply token): an inbound message may look one up, after its other strong keys and before
# weak ones, but the pipeline never adds it to the conversation the message lands in, so
# such a key names the conversation that handed it out, whoever quotes it.
PINNED_KEY_PREFIX = "pin:"


@dataclass(frozen=True, slots=True)
class UnparsedInbound:
    """Raw platform input under its dedupe key, as a channel hands it to its inbox.

    Validating a payload into an `InboundMessage` can cost more than storing it (a
    Telegram update goes through aiogram's pydantic models), so with `service.acknowledge:
    stored` the core stores the payload as it is and the channel's `decode` turns it into
    a message during processing; otherwise `decode` runs before the acknowledgement.
    `external_id` must be the decoded message's.
    """

    channel: str
    external_id: str
    #: decoded, or the platform's JSON text as it came: one object instead of a tree
    #: while it waits (a burst's backlog is then little work for the garbage collector),
    #: and written to the inbox without encoding it again
    payload: Mapping[str, Any] | bytes


Accepted = InboundMessage | UnparsedInbound


@dataclass(frozen=True, slots=True)
class QuickReply:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One row of the outbox as the channel's `send` sees it."""

    outbox_id: int
    idempotency_key: str
    channel: str
    thread_key: str
    recipient: str  # the identity's external id on that channel
    text: str
    author_kind: AuthorKind = AuthorKind.BOT
    author_name: str = ""
    conversation_id: int | None = None
    quick_replies: tuple[QuickReply, ...] = ()
    html: str = ""  # optional rich alternative, already escaped for the channel
    reply_to: str = ""  # external id of the message being answered
    attempt: int = 1
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: the stored message this row delivers (None for a row without one, e.g. a webhook):
    #: a channel that shows it (web chat's frame id) needs no read of its own per send
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class ContactView:
    id: int
    display_name: str = ""
    email: str = ""
    language: str = ""
    tags: frozenset[str] = frozenset()
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def first_name(self) -> str:
        return self.display_name.split(" ", 1)[0] if self.display_name else ""


@dataclass(frozen=True, slots=True)
class ConversationView:
    id: int
    channel: str
    status: Status
    language: str = ""
    queue: str = ""
    priority: str = Priority.NORMAL
    tags: frozenset[str] = frozenset()
    assignee: str = ""
    message_count: int = 0  # customer messages including the current one
    bot_turns: int = 0
    is_new: bool = False  # opened by the current message
    created_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_breached: frozenset[str] = frozenset()  # "first_response", "resolution"
    snoozed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """One effect decided by rules or bots, applied by the pipeline in the same transaction.

    kinds: reply, route, assign, priority, tag, untag, set_language, handoff, resolve,
    note, webhook, stop, record (bot bookkeeping stored as an event).
    """

    kind: str
    value: Any = None
    source: str = ""  # rule name or bot name, for the trace


@dataclass(frozen=True, slots=True)
class ReplyContent:
    """A rendered reply ready for one channel."""

    text: str
    html: str = ""
    quick_replies: tuple[QuickReply, ...] = ()
    reply_id: str = ""
    language: str = ""
    # reply ids this one makes redundant when both would go out for the same message
    # ("handoff_closed" names the next opening, so the rules' "away" need not be sent too)
    covers: tuple[str, ...] = ()


# Conversation metadata key: when the customer last asked for a person (the bots write it,
# the API and console show it to the agent).
WANTS_HUMAN_KEY = "bots.wants_human"


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Everything a decision stage may look at; it must not do I/O."""

    message: InboundMessage
    conversation: ConversationView
    contact: ContactView
    now: datetime
    event: str = "message"
    # when the bot last answered this contact, on any channel (newest first, recent ones
    # only): per-contact rate limits need it, and a pure decision cannot query for it
    contact_bot_replies: tuple[datetime, ...] = ()


@dataclass(slots=True)
class Decision:
    actions: list[Action] = field(default_factory=list)
    language: str = ""
    trace: list[dict[str, Any]] = field(default_factory=list)
    rules_version: str = ""


# --- Stored records -------------------------------------------------------------------
# Plain mutable records as the store returns them. Rules and bots never see these; they
# get the frozen *View snapshots above.


@dataclass(slots=True)
class Contact:
    id: int
    display_name: str = ""
    email: str = ""
    phone: str = ""
    language: str = ""
    tags: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    unreachable: bool = False
    created_at: datetime | None = None

    def view(self) -> ContactView:
        return ContactView(self.id, self.display_name, self.email, self.language,
                           frozenset(self.tags), dict(self.fields))


@dataclass(slots=True)
class Identity:
    id: int
    contact_id: int
    channel: str
    external_id: str
    username: str = ""
    display_name: str = ""


@dataclass(slots=True)
class Conversation:
    id: int
    contact_id: int
    channel: str
    thread_key: str
    status: Status = Status.BOT
    language: str = ""
    queue: str = ""
    priority: str = Priority.NORMAL
    tags: list[str] = field(default_factory=list)
    assignee: str = ""
    message_count: int = 0
    bot_turns: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    queued_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    last_customer_at: datetime | None = None
    recipient: str = ""  # the customer's identity on this channel (outbound address)
    metadata: dict[str, Any] = field(default_factory=dict)
    # agents (issue 6): SLA clocks, snooze, assignment bookkeeping
    assigned_at: datetime | None = None
    last_agent_at: datetime | None = None  # last agent reply: "unanswered" is after this
    first_response_due: datetime | None = None
    resolution_due: datetime | None = None
    sla_paused_at: datetime | None = None  # waiting on the customer (if the queue says so)
    sla_first_breached_at: datetime | None = None
    sla_resolution_breached_at: datetime | None = None
    snoozed_until: datetime | None = None
    # the stored column values as read, so a save writes only what changed (each written
    # column of an index costs that index an update): see router/store/sql_conversations.py
    stored: tuple[Any, ...] = field(default=(), init=False, repr=False, compare=False)

    def view(self, *, is_new: bool = False) -> ConversationView:
        breached = {k for k, v in (("first_response", self.sla_first_breached_at),
                                   ("resolution", self.sla_resolution_breached_at)) if v}
        return ConversationView(
            id=self.id, channel=self.channel, status=self.status, language=self.language,
            queue=self.queue, priority=self.priority, tags=frozenset(self.tags),
            assignee=self.assignee, message_count=self.message_count,
            bot_turns=self.bot_turns, is_new=is_new, created_at=self.created_at,
            metadata=dict(self.metadata), first_response_due=self.first_response_due,
            resolution_due=self.resolution_due, sla_breached=frozenset(breached),
            snoozed_until=self.snoozed_until,
        )


@dataclass(slots=True)
class Message:
    id: int
    conversation_id: int
    direction: Direction
    author_kind: AuthorKind
    text: str
    created_at: datetime
    author_id: str = ""
    external_id: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    language: str = ""
    edited_at: datetime | None = None
    internal: bool = False  # agent notes: never sent to the customer


@dataclass(slots=True)
class Event:
    id: int
    kind: str
    created_at: datetime
    conversation_id: int | None = None
    actor: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class Role(enum.StrEnum):
    ADMIN = "admin"
    AGENT = "agent"


@dataclass(slots=True)
class Agent:
    """A person who answers conversations; `name` is the stable handle (assignee)."""

    id: int
    name: str
    display_name: str = ""
    email: str = ""
    role: Role = Role.AGENT
    languages: list[str] = field(default_factory=list)
    capacity: int = 5
    online: bool = False
    online_changed_at: datetime | None = None
    disabled: bool = False
    last_assigned_at: datetime | None = None  # round-robin: longest idle goes first
    source: str = "cli"  # "config" (synced at start) or "cli"/"api"
    created_at: datetime | None = None

    def speaks(self, language: str) -> bool:
        return not language or not self.languages or language in self.languages


@dataclass(slots=True)
class ApiToken:
    id: int
    agent_id: int
    token_hash: str  # sha256 hex; the token itself is shown once and never stored
    label: str = ""
    created_at: datetime | None = None
    revoked_at: datetime | None = None


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # permanent error: never retried automatically
    DEAD = "dead"  # gave up after max attempts: an admin may retry


@dataclass(slots=True)
class OutboxRow:
    id: int
    idempotency_key: str
    channel: str
    thread_key: str
    recipient: str
    payload: dict[str, Any]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    conversation_id: int | None = None
    message_id: int | None = None
    last_error: str = ""
    sent_at: datetime | None = None
    external_id: str = ""

    @property
    def address(self) -> str:
        """Where the row goes on its platform: the thread (a chat), else the recipient;
        the address a channel names when it records one unreachable."""
        return self.thread_key or self.recipient

    def to_outbound(self) -> OutboundMessage:
        p = self.payload
        return OutboundMessage(
            outbox_id=self.id, idempotency_key=self.idempotency_key, channel=self.channel,
            thread_key=self.thread_key, recipient=self.recipient, text=p.get("text", ""),
            author_kind=AuthorKind(p.get("author_kind", "bot")),
            author_name=p.get("author_name", ""), conversation_id=self.conversation_id,
            quick_replies=tuple(QuickReply(q["label"], q["payload"])
                                for q in p.get("quick_replies", ())),
            html=p.get("html", ""), reply_to=p.get("reply_to", ""), attempt=self.attempts,
            metadata=p.get("metadata", {}), message_id=self.message_id,
        )
