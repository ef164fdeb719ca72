"""The backend-neutral store interface.

Work is expressed as units of work: `await store.write(fn)` runs `fn(tx)` inside one
transaction and returns its result only after the commit is durable. The pipeline, the
outbox and the agent queue are written once against `Tx`; each backend (SQLite now,
PostgreSQL next) implements `Tx` with its own SQL. A unit of work must do nothing but
store work (no network, no sleeping): the SQLite backend runs many of them in one commit.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from router.domain.model import (
    Agent,
    ApiToken,
    Contact,
    Conversation,
    Event,
    Identity,
    Message,
    OutboxRow,
    OutboxStatus,
)

# Timestamps as every backend stores them live in router.domain.timestamps, so that the bots and
# channels use them without depending on the store; re-exported here for the backends.
from router.domain.timestamps import parse_ts as parse_ts
from router.domain.timestamps import parse_ts_all as parse_ts_all
from router.domain.timestamps import ts as ts
from router.domain.timestamps import ts_all as ts_all
from router.domain.timestamps import utcnow as utcnow

T = TypeVar("T")
#: the largest payload `Store.broadcast` takes (PostgreSQL's NOTIFY takes under 8,000 bytes)
BROADCAST_MAX_BYTES = 7000


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """What the agents' list asks for; empty fields do not filter.

    `order` is "newest" (keyset on id, descending) or "urgency" (the queue order: priority,
    SLA due, age, id; keyset on that tuple). `after` is the keyset of the last row seen.
    """

    statuses: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    assignee: str | None = None
    priority: str = ""
    tag: str = ""
    contact_id: int | None = None
    include_snoozed: bool = True
    order: str = "newest"
    after: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class LeaseRound:
    """What one outbox lease round found (`Tx.outbox_lease_round`)."""

    rows: list[OutboxRow]  # leased now, attempts already counted
    refused: set[int]  # ids among `rows` whose address is recorded unreachable
    next_due: datetime | None  # the next pending row's time (None: none, or `rows` filled the limit)


#: how many of the bot's newest replies to a contact `Tx.bot_reply_times` reads unless
#: told otherwise, and `Tx.find_sender` with it
BOT_REPLIES_READ = 50


@dataclass(frozen=True, slots=True)
class SenderLookup:
    """What the pipeline reads about a message's sender and thread before it decides
    (`Tx.find_sender`)."""

    contact: Contact | None
    conversation: Conversation | None  # the newest of the thread keys', locked as found
    bot_replies: list[datetime] | None  # the bot's replies to the contact; None: no contact


@dataclass(frozen=True, slots=True)
class QueueCount:
    queue: str
    waiting: int = 0  # queued and not snoozed
    assigned: int = 0
    snoozed: int = 0
    oldest_queued_at: datetime | None = None


PRIORITY_SQL = ("CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 "
                "ELSE 3 END")
NO_DUE = "9999-12-31T23:59:59.999999Z"  # sorts after every real due time


def urgency_key(conv: Conversation) -> tuple[int, str, str, int]:
    """The queue order as a tuple: priority, SLA due, age, id. Backends sort the same way.

    The due time is the first-response target until someone answered, then the
    resolution target; conversations without SLA sort after those with one.
    """
    from router.domain.model import PRIORITY_RANK

    due = conv.first_response_due if conv.first_response_at is None else conv.resolution_due
    return (PRIORITY_RANK.get(conv.priority, 3), ts(due) or NO_DUE,
            ts(conv.queued_at or conv.created_at) or "", conv.id)


@dataclass(frozen=True, slots=True)
class SigninLimit:
    """Failed sign-ins counted under one key (times in epoch milliseconds)."""

    key: str
    failures: int  # in the window that began at window_start
    window_start: int
    strikes: int  # lock-outs so far: each one doubles the next
    blocked_until: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the audit log (issue 29): ids, names and counts, never message text
    or a contact's personal data (router/engine/audit decides what goes in)."""

    id: int
    at: datetime
    actor: str  # "agent:alice", "cli:root", "config", "system", "" (an unknown account)
    action: str
    object: str = ""  # "agent:bob", "contact:42", "report"
    source: str = ""  # the client's address, "cli", "" (the service itself)
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What an audit listing asks for, newest first; empty fields do not filter."""

    actions: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    before_id: int | None = None  # keyset: only records older than this one


@dataclass(frozen=True, slots=True)
class TwoFactor:
    """An agent's TOTP enrolment (issue 29); `secret` is encrypted (never plain here)."""

    agent_id: int
    secret: str
    enabled_at: datetime | None  # None while the enrolment waits for its first code
    last_step: int  # the newest time step a code was accepted for
    recovery_left: int = 0


@dataclass(slots=True)
class Macro:
    """An agent-written reply (issue 24): a template per language, shared (`owner` "")
    or personal (`owner` the agent's name), and what it also does when applied."""

    id: int
    name: str
    owner: str = ""
    texts: dict[str, str] = field(default_factory=dict)  # language -> Jinja2 template
    actions: dict[str, Any] = field(default_factory=dict)  # add_tags, priority, resolve
    created_by: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


class Scrubber(Protocol):
    """What erasure keeps of rows it anonymises (router/engine/privacy/scrub.py decides)."""

    def event(self, kind: str, data: dict[str, Any]) -> dict[str, Any]: ...

    def metadata(self, metadata: dict[str, Any]) -> dict[str, Any]: ...

    def attachments(self, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]: ...


class Tx(abc.ABC):
    """Operations available inside one transaction."""

    # inbox
    @abc.abstractmethod
    async def inbox_claim(self, channel: str, external_id: str, now: datetime) -> bool:
        """Record a delivery key; False if it was seen before (a redelivery)."""

    @abc.abstractmethod
    async def inbox_link(self, channel: str, external_id: str, message_id: int) -> None: ...

    # deferred processing (router/engine/backlog.py): accepted now, processed in arrival order
    async def inbox_accept(self, channel: str, external_id: str, now: datetime,
                           pending: str) -> bool:
        """Record a delivery key with its message (JSON) awaiting processing; False if
        the key was seen before (a redelivery)."""
        raise NotImplementedError

    async def inbox_take(self, channel: str, external_id: str, *, sender: str | None = None,
                         thread_keys: Sequence[str] = ()) -> bool:
        """Claim a pending message for processing in this unit; False when it was
        processed already (or by another instance), or has failed. With `sender` and
        `thread_keys`, it also takes the find-or-create locks that `find_contact(channel,
        sender)` and `find_conversation(channel, thread_keys)` would take (PostgreSQL: in
        the same round trip, and those lookups then take none)."""
        raise NotImplementedError

    async def inbox_pending(self, limit: int, *, older_than: datetime | None = None,
                            failed: bool = False) -> list[tuple[str, str, str]]:
        """(channel, external_id, message JSON) of pending messages, oldest first:
        the ones not failed, or with `failed=True` only the failed ones."""
        raise NotImplementedError

    async def inbox_fail(self, channel: str, external_id: str, error: str) -> None:
        """Processing gave up on a message: keep it (pending) with the reason."""
        raise NotImplementedError

    async def inbox_failures(self, limit: int) -> list[tuple[str, str, str, str]]:
        """(channel, external_id, received_at, reason) of messages processing gave up on."""
        raise NotImplementedError

    async def inbox_counts(self) -> dict[str, int]:
        """How many messages wait for processing (`pending`) and how many failed."""
        raise NotImplementedError

    async def inbox_retry(self, channel: str | None = None) -> int:
        """Clear `failed` so the messages are processed again; returns how many."""
        raise NotImplementedError

    # contacts
    @abc.abstractmethod
    async def find_identity(self, channel: str, external_id: str) -> Identity | None: ...

    @abc.abstractmethod
    async def create_contact(self, contact: Contact, now: datetime,
                             identity: Identity | None = None) -> int:
        """A new contact, with its first `identity` when given (its contact id is the
        new contact's): on PostgreSQL both in one round trip."""

    @abc.abstractmethod
    async def create_identity(self, identity: Identity, now: datetime) -> int: ...

    @abc.abstractmethod
    async def get_contact(self, contact_id: int) -> Contact | None: ...

    async def find_contact(self, channel: str, external_id: str) -> Contact | None:
        """`get_contact` of `find_identity`'s contact (None if either is missing), with the
        same locking as `find_identity`; SQL backends do it in one statement."""
        identity = await self.find_identity(channel, external_id)
        return None if identity is None else await self.get_contact(identity.contact_id)

    @abc.abstractmethod
    async def update_contact(self, contact: Contact) -> None:
        """Every field an agent or the pipeline edits; not `unreachable`, which only the
        channel that reports it writes (`set_contact_unreachable`)."""

    @abc.abstractmethod
    async def set_contact_unreachable(self, contact_id: int, unreachable: bool) -> None:
        """Only the flag a channel reports (a customer blocked the bot, or came back): a
        full `update_contact` writes back every field as the unit read it, so an agent's
        edit committed in between (another instance) was lost, and it rewrote the search
        index."""

    @abc.abstractmethod
    async def set_contact_language(self, contact_id: int, language: str) -> None:
        """Only the language: the search index of names, emails and phones is not touched
        (a full `update_contact` rewrites it, and the pipeline sets the language of every
        new contact)."""

    # conversations
    @abc.abstractmethod
    async def find_conversation(self, channel: str, keys: Sequence[str]) -> Conversation | None:
        """Newest conversation registered under any of `keys` on `channel`."""

    @abc.abstractmethod
    async def get_conversation(self, conversation_id: int) -> Conversation | None: ...

    @abc.abstractmethod
    async def create_conversation(self, conversation: Conversation,
                                  thread_keys: Sequence[str] = ()) -> int:
        """A new conversation, with `thread_keys` on its channel (as `add_thread_keys`):
        on PostgreSQL in one round trip."""

    @abc.abstractmethod
    async def save_conversation(self, conversation: Conversation, now: datetime) -> None: ...

    @abc.abstractmethod
    async def add_thread_keys(self, channel: str, keys: Iterable[str], conversation_id: int) -> None: ...

    # messages and events
    @abc.abstractmethod
    async def insert_message(self, message: Message, raw: dict[str, Any] | None = None, *,
                             inbox: tuple[str, str] | None = None,
                             outbox: OutboxRow | None = None) -> int:
        """A new message; the inbox entry (channel, external id) it came from is linked
        to it (`inbox_link`), and an `outbox` row delivering it is added with its
        message id: on PostgreSQL all in one round trip."""

    @abc.abstractmethod
    async def find_message(self, conversation_channel: str, external_id: str) -> Message | None: ...

    @abc.abstractmethod
    async def edit_message(self, message_id: int, text: str, now: datetime) -> None: ...

    @abc.abstractmethod
    async def list_messages(self, conversation_id: int, limit: int = 1000) -> list[Message]: ...

    @abc.abstractmethod
    async def bot_reply_times(self, contact_id: int, since: datetime,
                              limit: int = BOT_REPLIES_READ) -> list[datetime]:
        """When the bot wrote to this contact since `since`, in any conversation, newest first."""

    async def find_sender(self, channel: str, external_id: str, thread_keys: Sequence[str],
                          bot_since: datetime) -> SenderLookup:
        """`find_contact`, `find_conversation` of `thread_keys` (none: no conversation) and
        the contact's `bot_reply_times` since `bot_since`: every message's first reads,
        with the locks of the first two. PostgreSQL reads them in one round trip; each
        round trip is a wake of the event loop and a statement for the server (issue 28)."""
        contact = await self.find_contact(channel, external_id)
        conversation = await self.find_conversation(channel, thread_keys) if thread_keys else None
        bot_replies = (None if contact is None
                       else await self.bot_reply_times(contact.id, bot_since))
        return SenderLookup(contact, conversation, bot_replies)

    # Telegram attachment downloads: the job state lives in the message's attachments JSON
    @abc.abstractmethod
    async def update_message_attachments(self, message_id: int,
                                         attachments: list[dict[str, Any]]) -> None: ...

    @abc.abstractmethod
    async def messages_with_attachment_mark(self, channel: str, mark: str,
                                            limit: int = 100) -> list[Message]:
        """Messages on `channel` whose attachments JSON contains the text `mark` (compact
        JSON such as `"download":"pending"`), oldest first."""

    @abc.abstractmethod
    async def insert_event(self, event: Event) -> int: ...

    @abc.abstractmethod
    async def list_events(self, conversation_id: int | None = None, *, after_id: int = 0,
                          kinds: Sequence[str] = (), limit: int = 1000) -> list[Event]: ...

    # outbox
    @abc.abstractmethod
    async def outbox_add(self, row: OutboxRow) -> int: ...

    @abc.abstractmethod
    async def outbox_lease(self, now: datetime, until: datetime, limit: int) -> list[OutboxRow]:
        """Take due rows (oldest first, one per thread so order is kept) and lease them."""

    @abc.abstractmethod
    async def outbox_lease_round(self, now: datetime, until: datetime, limit: int,
                                 unreachable_prefix: str,
                                 sent: Sequence[tuple[int, str]] = ()) -> LeaseRound:
        """The dispatcher's round: mark the `sent` rows (id, external id) sent at `now`
        (`outbox_sent`), lease what is due (`outbox_lease`), say which leased
        rows go to an address recorded unreachable (a channel_state entry
        `unreachable_prefix + row.address` with a value, on the row's channel), and, when
        fewer than `limit` rows were due, when the next pending row falls due.
        Backends that honour `Store.write(one_statement=True)` do it in one statement."""

    @abc.abstractmethod
    async def outbox_claim(self, conversation_id: int, channel: str, thread_key: str,
                           now: datetime, until: datetime,
                           unreachable_key: str) -> list[OutboxRow]:
        """Lease, in the unit that wrote it, the reply this unit added at `now` to the
        conversation's thread, when a lease round would lease it now: it is the oldest
        pending row of its thread (per-chat order) and its address is not recorded
        unreachable (`unreachable_key` holds no value on the channel). The dispatcher
        sends what this returns once the unit commits (`Dispatcher.hand`): no round of
        its own, no commit of its own before the reply leaves."""

    @abc.abstractmethod
    async def outbox_sent(self, outbox_id: int, external_id: str, now: datetime) -> None: ...

    @abc.abstractmethod
    async def outbox_retry_later(self, outbox_id: int, when: datetime, error: str) -> None: ...

    @abc.abstractmethod
    async def outbox_give_up(self, outbox_id: int, status: OutboxStatus, error: str) -> None: ...

    @abc.abstractmethod
    async def outbox_list(self, statuses: Sequence[OutboxStatus], limit: int = 100) -> list[OutboxRow]: ...

    @abc.abstractmethod
    async def outbox_requeue(self, ids: Sequence[int] | None, now: datetime) -> int:
        """Dead/failed rows back to pending (all dead ones when ids is None)."""

    @abc.abstractmethod
    async def outbox_next_due(self) -> datetime | None: ...

    @abc.abstractmethod
    async def get_outbox(self, outbox_id: int) -> OutboxRow | None: ...

    # outgoing webhooks (issue 27): what a delivery is about, and forgetting an erased one
    @abc.abstractmethod
    async def webhook_subject(self, conversation_id: int) -> tuple[int, str, bool] | None:
        """(contact id, channel, whether that contact is erased) of a conversation."""

    @abc.abstractmethod
    async def contact_erased(self, contact_id: int) -> bool:
        """Whether the contact was erased (a missing contact counts as erased)."""

    @abc.abstractmethod
    async def outbox_forget(self, channel: str, thread_prefix: str) -> int:
        """Empty the rows of `channel` whose thread key starts with `thread_prefix`: the
        pending and dead ones fail as "contact erased", all keep only their bookkeeping."""

    # metrics
    @abc.abstractmethod
    async def metrics_snapshot(self) -> tuple[dict[str, tuple[int, datetime | None]], dict[str, int]]:
        """({queue: (waiting count, oldest queued_at)}, {outbox status: row count})."""

    # agents ------------------------------------------------------------------------
    # Agent queue, SLA clocks and API tokens (issue 6). Every state change an agent
    # makes goes through a conditional UPDATE here, so the logic in router/engine/agents holds
    # on a backend with concurrent writers too (PostgreSQL).
    @abc.abstractmethod
    async def upsert_agent(self, agent: Agent, now: datetime) -> int:
        """Insert or update by name (profile fields only: presence is kept)."""

    @abc.abstractmethod
    async def get_agent(self, name: str, *, for_update: bool = False) -> Agent | None:
        """`for_update` locks the row until commit (capacity checks on claims)."""

    @abc.abstractmethod
    async def list_agents(self, *, include_disabled: bool = True) -> list[Agent]: ...

    @abc.abstractmethod
    async def set_agent_online(self, name: str, online: bool, now: datetime) -> bool:
        """True if presence changed."""

    @abc.abstractmethod
    async def set_agent_disabled(self, name: str, disabled: bool) -> bool: ...

    @abc.abstractmethod
    async def touch_agent_assigned(self, name: str, now: datetime) -> None: ...

    @abc.abstractmethod
    async def agent_loads(self) -> dict[str, int]:
        """Assigned (open) conversations per agent name."""

    @abc.abstractmethod
    async def add_token(self, token: ApiToken) -> int: ...

    @abc.abstractmethod
    async def find_token(self, token_hash: str) -> tuple[ApiToken, Agent] | None:
        """The live (not revoked) token with this hash and its agent."""

    @abc.abstractmethod
    async def revoke_tokens(self, agent_id: int, now: datetime, token_id: int | None = None) -> int: ...

    @abc.abstractmethod
    async def claim_conversation(self, conversation_id: int, agent: str, now: datetime, *,
                                 from_status: str = "queued") -> bool:
        """Conditional: `from_status` (queued, or bot for a takeover) -> assigned to
        `agent`. False if lost."""

    @abc.abstractmethod
    async def list_conversations(self, flt: ConversationFilter, limit: int) -> list[Conversation]: ...

    @abc.abstractmethod
    async def get_conversations(self, ids: Sequence[int]) -> list[Conversation]: ...

    @abc.abstractmethod
    async def queue_counts(self) -> list[QueueCount]: ...

    @abc.abstractmethod
    async def due_snoozes(self, now: datetime, limit: int = 100) -> list[int]: ...

    @abc.abstractmethod
    async def end_snooze(self, conversation_id: int, now: datetime) -> bool:
        """Conditional: clears a snooze that is due; False if another instance did."""

    @abc.abstractmethod
    async def sla_breach_candidates(self, now: datetime, limit: int = 100) -> list[tuple[int, str]]:
        """(conversation id, "first_response"|"resolution") whose clock ran out unmarked."""

    @abc.abstractmethod
    async def mark_sla_breach(self, conversation_id: int, kind: str, now: datetime) -> bool:
        """Conditional: sets the breach column if still empty. True exactly once."""

    @abc.abstractmethod
    async def abandoned_assignments(self, offline_before: datetime, limit: int = 100) -> list[int]:
        """Assigned to an agent offline since before `offline_before`, customer unanswered."""

    @abc.abstractmethod
    async def idle_candidates(self, before: datetime, below_level: float,
                              limit: int = 100) -> list[tuple[int, datetime]]:
        """Open conversations whose customer last wrote at or before `before` and that have
        not fired every idle level yet: [(id, last_customer_at)], oldest first."""

    @abc.abstractmethod
    async def mark_idle(self, conversation_id: int, level: float) -> bool:
        """Record that idle `level` fired for the current last customer message; True once."""

    @abc.abstractmethod
    async def next_agent_deadline(self) -> datetime | None:
        """Earliest snooze end or unbreached SLA due: when the scheduler must look next."""

    @abc.abstractmethod
    async def list_identities(self, contact_id: int) -> list[Identity]: ...

    @abc.abstractmethod
    async def merge_contacts(self, source_id: int, target_id: int) -> None:
        """Move identities and conversations of `source_id` to `target_id`; mark it merged."""

    @abc.abstractmethod
    async def last_event_id(self) -> int: ...

    @abc.abstractmethod
    async def follow_events(self, after_id: int, kinds: Sequence[str],
                            limit: int) -> tuple[list[Event], int]:
        """Events of `kinds` after `after_id` (at most `limit`, oldest first), and the
        cursor to read on from: past the other kinds too, up to the newest event (or the
        last event returned, when `limit` of them came).

        A follower of a few kinds that kept its cursor at the last event it wanted read
        every event since then on each wake, and the console's follower wakes on every
        commit: where no conversation reached an agent, that was every event since
        start-up, each time (issue 28: thousands of rows read per message, PostgreSQL's
        CPU per message growing with the table). The newest id and the list come from
        one snapshot, and ids become visible in their order (migration 0018), so an
        event at or below the newest that the list did not return is not of `kinds`."""

    # console ------------------------------------------------------------------------
    # Agent console sign-in (issue 7): argon2 password hashes, never passwords.
    @abc.abstractmethod
    async def set_agent_password(self, name: str, password_hash: str | None) -> bool:
        """Store (or clear, with None) the agent's password hash; False if no such agent."""

    @abc.abstractmethod
    async def find_agent_login(self, login: str) -> tuple[Agent, str | None] | None:
        """The agent whose name, or else whose email (case-insensitive), is `login`, with
        its password hash. None when nobody or more than one agent has that email."""

    # Sign-in throttling (issue 22): counters shared by every instance. The policy lives
    # in router/web/console/throttle.py; the store keeps the rows and serialises access.
    @abc.abstractmethod
    async def signin_limits(self, keys: Sequence[str]) -> list[SigninLimit]:
        """The counters of `keys` that exist, held against concurrent units until commit
        (PostgreSQL: advisory locks on the keys; SQLite: the single writer)."""

    @abc.abstractmethod
    async def save_signin_limits(self, limits: Sequence[SigninLimit], *,
                                 forget_before: int) -> None:
        """Insert or replace these counters; drop counters not touched since
        `forget_before` (epoch ms) that block nothing any more."""

    @abc.abstractmethod
    async def delete_signin_limits(self, keys: Sequence[str]) -> None: ...


    # audit log (issue 29) --------------------------------------------------------------
    # Append-only: records are added (in the unit of the action they record), listed, and
    # pruned past the retention; nothing changes one.
    @abc.abstractmethod
    async def audit_add(self, record: AuditRecord) -> int: ...

    @abc.abstractmethod
    async def audit_list(self, flt: AuditFilter, limit: int) -> list[AuditRecord]:
        """Newest first (by id)."""

    @abc.abstractmethod
    async def audit_prune(self, before: datetime, limit: int = 1000) -> int:
        """Delete up to `limit` of the oldest records made before `before`."""

    # two-factor sign-in (issue 29) ------------------------------------------------------
    @abc.abstractmethod
    async def get_two_factor(self, agent_id: int, *, for_update: bool = False) -> TwoFactor | None:
        ...

    @abc.abstractmethod
    async def start_two_factor(self, agent_id: int, secret: str, now: datetime) -> None:
        """Store a new (encrypted) secret awaiting its first code, replacing one that
        waits (callers never start one over an enabled enrolment)."""

    @abc.abstractmethod
    async def enable_two_factor(self, agent_id: int, step: int, now: datetime,
                                recovery_hashes: Sequence[str]) -> bool:
        """Conditional: the waiting enrolment becomes enabled with fresh recovery codes."""

    @abc.abstractmethod
    async def use_totp_step(self, agent_id: int, step: int) -> bool:
        """Conditional: True once per agent and step, and only for a step newer than any
        accepted before (a replayed code is refused, on every instance)."""

    @abc.abstractmethod
    async def use_recovery_code(self, agent_id: int, code_hash: str, now: datetime) -> bool:
        """Conditional: True the first time an unused code of the agent is given."""

    @abc.abstractmethod
    async def replace_recovery_codes(self, agent_id: int, hashes: Sequence[str]) -> None: ...

    @abc.abstractmethod
    async def delete_two_factor(self, agent_id: int) -> bool:
        """Remove the enrolment and its recovery codes; False when there was none."""

    # macros and contact upkeep (issue 24) -----------------------------------------------
    @abc.abstractmethod
    async def macro_add(self, macro: Macro, now: datetime) -> int: ...

    @abc.abstractmethod
    async def macro_get(self, macro_id: int) -> Macro | None: ...

    @abc.abstractmethod
    async def macro_find(self, owner: str, name: str) -> Macro | None: ...

    @abc.abstractmethod
    async def macro_list(self, agent: str) -> list[Macro]:
        """The shared macros and `agent`'s own, by name."""

    @abc.abstractmethod
    async def macro_save(self, macro: Macro, now: datetime) -> bool: ...

    @abc.abstractmethod
    async def macro_delete(self, macro_id: int) -> bool: ...

    @abc.abstractmethod
    async def contact_merged_into(self, contact_id: int) -> int | None:
        """The contact `contact_id` was merged into, or None (not merged, or unknown)."""

    @abc.abstractmethod
    async def similar_contacts(self, *, email: str = "", phone: str = "",
                               limit: int = 20) -> list[int]:
        """Contacts (not merged away) with this email (case-insensitive) or this phone,
        oldest first."""

    @abc.abstractmethod
    async def move_identity(self, identity_id: int, contact_id: int) -> None: ...

    # attachments and agents' own settings (issue 24) -------------------------------------
    @abc.abstractmethod
    async def get_message(self, message_id: int) -> Message | None: ...

    @abc.abstractmethod
    async def agent_settings(self, agent_id: int) -> dict[str, Any]:
        """The agent's saved console settings; {} when none were saved."""

    @abc.abstractmethod
    async def put_agent_settings(self, agent_id: int, settings: dict[str, Any],
                                 now: datetime) -> None: ...

    # CRM sync (issue 27) ---------------------------------------------------------------
    @abc.abstractmethod
    async def crm_cursor(self, crm: str, start: int) -> int:
        """The last event id `crm`'s follower has handled (created at `start` the first
        time), held until commit: two instances' followers take turns."""

    @abc.abstractmethod
    async def set_crm_cursor(self, crm: str, event_id: int) -> None: ...

    @abc.abstractmethod
    async def crm_contact(self, crm: str, contact_id: int, *, email: str = "",
                          phone: str = "") -> str | None:
        """The record `contact_id` is known as in `crm`; else that of a contact with this
        email (case-insensitive) or phone; else None."""

    @abc.abstractmethod
    async def set_crm_contact(self, crm: str, contact_id: int, remote_id: str,
                              now: datetime) -> None: ...

    @abc.abstractmethod
    async def forget_crm_contact(self, crm: str, remote_id: str) -> int:
        """Drop every contact's link to a record the CRM no longer has."""

    # channels' own state (issue 25): JSON values and leases under (channel, key); the
    # port channels see is router.ports.channel_state.ChannelState
    @abc.abstractmethod
    async def channel_state_get(self, channel: str, key: str) -> str | None: ...

    @abc.abstractmethod
    async def channel_state_present(self, pairs: Sequence[tuple[str, str]]
                                    ) -> set[tuple[str, str]]:
        """Which (channel, key) pairs hold a value: one query for a batch (the outbox's
        reachability check of a leased batch)."""
        ...

    @abc.abstractmethod
    async def channel_state_put(self, channel: str, key: str, value: str,
                                conversation_id: int | None, contact_id: int | None,
                                now: datetime) -> None: ...

    @abc.abstractmethod
    async def channel_state_delete(self, channel: str, key: str) -> int: ...

    @abc.abstractmethod
    async def channel_state_scan(self, channel: str, prefix: str) -> list[tuple[str, str]]:
        """(key, JSON value) of the channel's keys starting with `prefix`, by key."""

    @abc.abstractmethod
    async def channel_state_claim(self, channel: str, key: str, owner: str, now: datetime,
                                  until: datetime) -> bool:
        """Hold the lease `key` until `until` unless another owner holds it past `now`."""

    @abc.abstractmethod
    async def channel_state_release(self, channel: str, key: str, owner: str) -> int: ...

    @abc.abstractmethod
    async def channel_state_erase(self, contact_ids: Sequence[int],
                                  conversation_ids: Sequence[int]) -> int: ...

    # reports (issue 13) ----------------------------------------------------------------
    # Conversations opened in [start, end) and their events: everything the figures need,
    # read in id-keyed batches so a year of history never sits in one result set.
    @abc.abstractmethod
    async def report_conversations(self, start: datetime, end: datetime, *, after_id: int = 0,
                                   limit: int = 500) -> list[Conversation]: ...

    @abc.abstractmethod
    async def count_conversations(self, start: datetime, end: datetime) -> int: ...

    @abc.abstractmethod
    async def events_for_conversations(self, ids: Sequence[int]) -> list[Event]: ...

    # privacy (issue 13) ----------------------------------------------------------------
    # Export, erasure and retention. `Scrubber` (router/engine/privacy/scrub.py) decides what is
    # personal; the backend only knows where the rows are.
    @abc.abstractmethod
    async def find_contact_ids(self, *, email: str = "", phone: str = "") -> list[int]: ...

    @abc.abstractmethod
    async def contact_family(self, contact_id: int) -> list[int]:
        """The contact and every contact merged into it (directly or in a chain)."""

    @abc.abstractmethod
    async def privacy_rows(self, contact_ids: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
        """Every stored row about these contacts, by table, as column -> value dicts."""

    @abc.abstractmethod
    async def message_files(self, conversation_ids: Sequence[int]) -> list[dict[str, Any]]:
        """`{"raw": ..., "attachments": [...]}` per message: where its files are."""

    @abc.abstractmethod
    async def erase_contacts(self, contact_ids: Sequence[int], now: datetime,
                             scrub: Scrubber) -> dict[str, int]:
        """Anonymise everything about these contacts in place; counts per table."""

    @abc.abstractmethod
    async def retention_candidates(self, before: datetime, limit: int = 200) -> list[int]:
        """Conversations not updated since `before` and not waiting on an agent."""

    @abc.abstractmethod
    async def delete_conversations(self, ids: Sequence[int]) -> int:
        """Delete conversations with their messages, events, keys, outbox and inbox rows."""

    @abc.abstractmethod
    async def delete_orphan_contacts(self, before: datetime, limit: int = 200) -> int:
        """Delete contacts created before `before` that have no conversation left."""

    @abc.abstractmethod
    async def delete_inbox_before(self, before: datetime, limit: int = 1000) -> int: ...

    # FAQ suggestions (issue 20) ---------------------------------------------------------
    # Evidence for new question variants: conversations touched since a time that the bot
    # spoke in or an agent answered (id-keyed batches), their customer and agent messages
    # (no internal notes) and the events tying each message to the bot's decision.
    @abc.abstractmethod
    async def faq_conversations(self, since: datetime, *, after_id: int = 0,
                                limit: int = 200) -> list[Conversation]: ...

    @abc.abstractmethod
    async def faq_messages(self, conversation_ids: Sequence[int]) -> list[Message]:
        """Customer and agent messages (internal notes left out), by conversation and id."""

    @abc.abstractmethod
    async def faq_events(self, conversation_ids: Sequence[int]) -> list[Event]:
        """`message_received`, `message_edited` and `rules_applied` events, in id order."""


class Store(abc.ABC):
    """A database the service keeps everything in."""

    #: other processes may share this store (PostgreSQL); `broadcast` then reaches them.
    #: Callers check it to skip building a payload nobody would receive (SQLite).
    shared: bool = False

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply pending migrations."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def write(self, fn: Callable[[Tx], Awaitable[T]], *, background: bool = False,
                    ahead: bool = False, one_statement: bool = False) -> T:
        """Run `fn` in a write transaction; return after a durable commit.

        `fn` may run more than once (PostgreSQL reruns a unit after a deadlock; SQLite
        reruns a batch's units after one of them failed), so it does store work only:
        nothing outside `tx` may change until it returns.

        `background` work (processing accepted messages) may wait behind foreground work
        (acknowledgements, agents' actions) where the backend has one writer. Background
        work that finishes what is under way (`ahead`: the outbox's leases and retries of
        replies already decided) goes before the rest of the background work there: new
        messages wait for their turn, not the replies of messages processed already.

        `one_statement`: `fn` runs exactly one statement (a webhook's inbox row, a "sent"
        mark), atomic on its own, so PostgreSQL runs it without BEGIN and COMMIT: two
        round trips of the four such a unit took. A second statement is refused."""

    @abc.abstractmethod
    async def read(self, fn: Callable[[Tx], Awaitable[T]], *, one_statement: bool = False) -> T:
        """Run `fn` against a consistent snapshot (no writes).

        A `one_statement` read runs a single statement, which is its own snapshot: no
        transaction around it (on PostgreSQL, no BEGIN and COMMIT round trips), for the
        reads that followers make after every commit (`Tx.follow_events`)."""

    @abc.abstractmethod
    async def schema_version(self) -> int: ...

    def leases_in_unit(self) -> bool:
        """Whether a unit that writes a reply should lease it itself now
        (router/engine/reply_claim.py) rather than leave it to the dispatcher's next
        lease round. PostgreSQL: always (the lease rides the unit's last statement).
        SQLite overrides it: a round leasing many rows at once is cheaper per row once
        the event loop is busy."""
        return True

    async def warm(self, unit: Callable[[Tx], Awaitable[object]]) -> None:
        """Run `unit` once on every connection the store keeps, in a transaction that is
        rolled back, and on each connection it opens later: the service's own unit of
        work for a made-up message, so the first real ones do not pay for what a new
        connection learns once (PostgreSQL: its backend's catalog caches, the triggers'
        compiled PL/pgSQL, the client's prepared statements; about ten warm units' cost).
        SQLite keeps one connection, which the first units warm: nothing to do."""
        return None

    async def broadcast(self, topic: str, payload: str, *, prompt: bool = False) -> None:
        """Hand `payload` to the `on_broadcast` callbacks of `topic` in every other
        instance sharing this store: what lives in one process only (a web chat
        visitor's open socket) reached from another. At most `BROADCAST_MAX_BYTES` of
        UTF-8; best effort (an instance whose LISTEN connection is down misses it, so
        nothing may depend on it but a faster path to what the store already holds).
        It may return before the others have it: PostgreSQL sends it within 20 ms, in
        order, batched with others (`prompt`: at once). SQLite has one process per
        database: nothing to do."""
        return None

    def on_broadcast(self, topic: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for each `broadcast` of `topic` by another instance."""
        return None

    def on_remote_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` when another process commits events or outbox rows.

        A store shared by several instances (PostgreSQL: LISTEN/NOTIFY) wakes the live
        streams, scheduler and dispatcher of every instance this way. SQLite has one
        process per database, so the default does nothing.
        """
        return None

    def on_remote_outbox(self, callback: Callable[[], None]) -> None:
        """Call `callback` when another process commits outbox rows that it did not
        lease itself (the rows a lease round of any instance may take), or may have:
        a commit whose writer leased every row it wrote calls only `on_remote_commit`.
        SQLite: nothing to do, as above."""
        return None
