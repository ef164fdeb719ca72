"""The inbound pipeline: one transaction from a normalised message to its decided effects.

inbox dedupe -> contact/identity -> conversation (thread keys, reopen window) -> message
-> decision (rules, bots: pure) -> effects (conversation changes, events, outbox rows).
Everything happens in one unit of work, so the adapter's acknowledgement after `ingest`
returns means the message and every reply it caused are durable; a redelivery finds the
inbox key and changes nothing. With deferred processing (`accept`, then `process` from
router/engine/backlog.py) the first unit only stores the message; the second does the rest and
takes the message out of the inbox's pending set in the same commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from router.domain.compose import Part
from router.domain.model import (
    PINNED_KEY_PREFIX,
    Accepted,
    AuthorKind,
    Contact,
    Conversation,
    Decision,
    DecisionContext,
    Direction,
    Event,
    Identity,
    InboundKind,
    InboundMessage,
    Message,
    OutboxRow,
    Sender,
    Status,
)
from router.engine.effects import Applied, apply_actions, send_composed, set_status
from router.engine.inbound_json import dump_accepted
from router.engine.reply_claim import ReplyClaim, SendSlots
from router.ports.channel import IngestResult
from router.store.base import Store, Tx, utcnow

log = logging.getLogger(__name__)

Decide = Callable[[DecisionContext], Decision]
# Runs inside the message's unit of work after the decision, before the conversation is
# saved: the agent desk starts SLA clocks, ends snoozes and auto-assigns here (issue 6).
ConversationHook = Callable[[Tx, Conversation, datetime], Awaitable[None]]
MAX_FOLLOW_UP_DEPTH = 3  # rules reacting to effects of rules: bounded, never a loop
WEAK_KEY_PREFIX = "subject:"  # thread aliases that only suggest, never prove, a thread
WEAK_KEY_WINDOW = timedelta(days=7)
BOT_REPLY_MEMORY = timedelta(days=1)  # how far back per-contact bot rate limits can look


def queue_everything(ctx: DecisionContext) -> Decision:
    """The default decision before any rules or bots: leave it to the agents."""
    return Decision()


@dataclass(slots=True)
class _Outcome:
    result: IngestResult
    outbox_rows: int = 0
    #: the unit may have changed what the agent desk's scheduler acts on: any conversation
    #: but one the bots still hold (whose only timer, idle rules, the scheduler polls)
    for_agents: bool = True
    #: the unit's claim on its reply (router/engine/reply_claim.py), and what it leased
    claim: ReplyClaim | None = None
    claimed: list[OutboxRow] = field(default_factory=list)


class Pipeline:
    def __init__(self, store: Store, decider: Callable[[], Decide] = lambda: queue_everything, *,
                 default_queue: str = "general", reopen_window: timedelta = timedelta(days=7),
                 clock: Callable[[], datetime] = utcnow,
                 on_commit: Callable[[int, bool], None] | None = None,
                 on_conversation: ConversationHook | None = None,
                 slots: SendSlots | None = None) -> None:
        """`decider` returns the current decision function (a hot-reload holder swaps
        it): it is read once per message, so a message is never evaluated against two
        rule sets. `slots` (the outbox dispatcher): a message's unit leases its reply
        and the dispatcher sends it at the commit (router/engine/reply_claim.py);
        `on_commit` is told only of the rows left to a lease round."""
        self.store = store
        self.decider = decider
        self.default_queue = default_queue
        self.reopen_window = reopen_window
        self.clock = clock
        self.on_commit = on_commit
        self.on_conversation = on_conversation
        self.slots = slots

    async def warm_up(self, tx: Tx, channel: str, text: str = "Hello, when are you open?") -> None:
        """A made-up customer's first and second message through the processing unit, on
        `tx`, which the caller rolls back (`Store.warm`): the statements, triggers and
        caches real units use, on a connection no customer has waited on yet."""
        decide, now = self.decider(), self.clock()
        for n in range(2):
            msg = InboundMessage(channel, f"warm-up-{n}", "warm-up", Sender("warm-up"), text, now)
            await tx.inbox_accept(channel, msg.external_id, now, dump_accepted(msg))
            await self._ingest(tx, msg, decide, now, accepted=True, claim=ReplyClaim(None))

    async def ingest(self, message: InboundMessage) -> IngestResult:
        """Store and process a message in one unit of work (acknowledge on "processed")."""
        return await self._unit(message, accepted=False)

    async def accept(self, item: Accepted) -> bool:
        """Only store the message (or its unparsed payload), for processing later
        (acknowledge on "stored"); False for a redelivery. `process` (or `settle`, for a
        payload that turns out to hold no message) must follow: router/engine/backlog.py makes
        sure it does."""
        now = self.clock()
        pending = dump_accepted(item)
        return await self.store.write(
            lambda tx: tx.inbox_accept(item.channel, item.external_id, now, pending),
            one_statement=True)

    async def settle(self, channel: str, external_id: str) -> bool:
        """Take an accepted payload that holds nothing to process (ignored or rejected
        once parsed) out of the pending set; its inbox key stays, so a redelivery is
        still recognised. False when it was settled already."""
        return await self.store.write(lambda tx: tx.inbox_take(channel, external_id),
                                      background=True)

    async def process(self, message: InboundMessage) -> IngestResult:
        """Process an accepted message; `duplicate` when it was processed already (by
        another instance, or before a restart). Background work for the store: it
        yields to acknowledgements under a burst. The unit is queued before the first
        suspension (router/engine/backlog.py relies on it to keep arrival order)."""
        return await self._unit(message, accepted=True)

    async def _unit(self, message: InboundMessage, *, accepted: bool) -> IngestResult:
        """`ingest`'s unit (foreground: its webhook waits) or `process`'s (background),
        with the claim on its reply settled after it (router/engine/reply_claim.py). The
        unit is queued before this coroutine's first suspension."""
        decide = self.decider()
        now = self.clock()
        claim = ReplyClaim(self.slots) if self.slots is not None else None
        try:
            outcome = await self.store.write(
                lambda tx: self._ingest(tx, message, decide, now, accepted=accepted,
                                        claim=claim), background=accepted)
        except BaseException:
            if claim is not None:
                claim.failed()
            raise
        if claim is not None:
            claim.committed(outcome.claimed)
        return self._committed(outcome)

    def _committed(self, outcome: _Outcome) -> IngestResult:
        if self.on_commit is not None and (outcome.outbox_rows or not outcome.result.duplicate):
            self.on_commit(outcome.outbox_rows - len(outcome.claimed), outcome.for_agents)
        return outcome.result

    async def _ingest(self, tx: Tx, msg: InboundMessage, decide: Decide, now: datetime,
                      accepted: bool = False, claim: ReplyClaim | None = None) -> _Outcome:
        claimed = (await tx.inbox_take(msg.channel, msg.external_id, sender=msg.sender.external_id,
                                       thread_keys=[msg.thread_key, *msg.thread_aliases])
                   if accepted else await tx.inbox_claim(msg.channel, msg.external_id, now))
        if not claimed:
            return _Outcome(IngestResult(duplicate=True, message_id=None, conversation_id=None))
        if msg.kind == InboundKind.EDIT and msg.edits:
            edited = await tx.find_message(msg.channel, msg.edits)
            if edited is not None:
                await tx.edit_message(edited.id, msg.text, now)
                await tx.insert_event(Event(0, "message_edited", now, edited.conversation_id,
                                            "customer", {"message_id": edited.id}))
                await tx.inbox_link(msg.channel, msg.external_id, edited.id)
                outcome = _Outcome(IngestResult(False, edited.id, edited.conversation_id))
                if msg.rerun_rules and not (msg.is_automatic or msg.sender.is_bot):
                    await self._rerun_after_edit(tx, msg, decide, edited.conversation_id,
                                                 now, outcome)
                return outcome
        keys = [msg.thread_key, *msg.thread_aliases]
        found = await tx.find_sender(msg.channel, msg.sender.external_id, _strong(keys),
                                     now - BOT_REPLY_MEMORY)
        contact, new_contact = await self._contact(tx, msg, now, found.contact)
        conv, is_new = await self._conversation(tx, msg, contact, now, keys, found.conversation)
        message_id = await tx.insert_message(
            Message(0, conv.id, Direction.INBOUND, AuthorKind.CUSTOMER, msg.text, now,
                    author_id=msg.sender.external_id,
                    external_id=msg.message_external_id or msg.external_id,
                    attachments=[a.as_dict() for a in msg.attachments]),
            raw=dict(msg.raw) if msg.raw is not None else None,
            inbox=(msg.channel, msg.external_id))
        conv.message_count += 1
        conv.last_customer_at = now
        conv.recipient = msg.sender.external_id or conv.recipient
        await tx.insert_event(Event(0, "message_received", now, conv.id, "customer",
                                    {"message_id": message_id, "channel": msg.channel}))
        outcome = _Outcome(IngestResult(False, message_id, conv.id), claim=claim)
        if msg.is_automatic or msg.sender.is_bot:
            # Never answer a machine: that is how reply loops start.
            await tx.insert_event(Event(0, "automatic_ignored", now, conv.id, "system",
                                        {"message_id": message_id}))
            await tx.save_conversation(conv, now)
            return outcome
        events = ["conversation_opened", "message"] if is_new else ["message"]
        # a contact created by this unit has had no bot reply
        await self._run_rules(tx, decide, msg, conv, contact, now, events, is_new, outcome,
                              bot_replies=() if new_contact else found.bot_replies)
        return outcome

    async def _rerun_after_edit(self, tx: Tx, msg: InboundMessage, decide: Decide,
                                conversation_id: int, now: datetime, outcome: _Outcome) -> None:
        """`rerun_rules` edits (Telegram `rerun_rules_on_edit`): the message was updated in
        place; the rules see the edited text as the conversation's current message."""
        conv = await tx.get_conversation(conversation_id)
        contact = await tx.get_contact(conv.contact_id) if conv is not None else None
        if conv is None or contact is None or conv.status == Status.RESOLVED:
            return  # a closed conversation is not reopened by an edit
        await self._run_rules(tx, decide, msg, conv, contact, now, ["message"], False, outcome)

    async def _run_rules(self, tx: Tx, decide: Decide, msg: InboundMessage, conv: Conversation,
                         contact: Contact, now: datetime, events: list[str], is_new: bool,
                         outcome: _Outcome,
                         bot_replies: Sequence[datetime] | None = None) -> None:
        """`bot_replies`: the bot's replies to the contact, if read already."""
        replied = False
        language = contact.language
        if bot_replies is None:
            bot_replies = await tx.bot_reply_times(contact.id, now - BOT_REPLY_MEMORY)
        parts: list[Part] = []  # every reply this message causes, sent as one
        for event in events:
            applied = await self._decide_and_apply(tx, decide, msg, conv, contact, now, event,
                                                   is_new, depth=0,
                                                   bot_replies=tuple(bot_replies),
                                                   replies=parts)
            outcome.outbox_rows += applied.outbox_rows
            replied = replied or applied.replies > 0
            if applied.stopped:
                break
        outcome.outbox_rows += await send_composed(tx, conv, parts, now, inbound=msg)
        if outcome.outbox_rows and outcome.claim is not None:
            outcome.claimed = await outcome.claim.lease(tx, conv, now)
        if contact.language != language:  # a first language learnt from this message
            await tx.set_contact_language(contact.id, contact.language)
        if conv.status == Status.BOT and not replied:
            # Nothing answered the customer: a person must, so nothing is left unanswered.
            conv.queue = conv.queue or self.default_queue
            await set_status(tx, conv, Status.QUEUED, now, "system", "unanswered")
            await tx.insert_event(Event(0, "handoff", now, conv.id, "system",
                                        {"queue": conv.queue, "reason": "unanswered"}))
        if self.on_conversation is not None:
            await self.on_conversation(tx, conv, now)
        await tx.save_conversation(conv, now)
        outcome.for_agents = conv.status != Status.BOT

    async def _decide_and_apply(self, tx: Tx, decide: Decide, msg: InboundMessage,
                                conv: Conversation, contact: Contact, now: datetime, event: str,
                                is_new: bool, depth: int,
                                bot_replies: tuple[datetime, ...] = (),
                                replies: list[Part] | None = None) -> Applied:
        ctx = DecisionContext(message=msg, conversation=conv.view(is_new=is_new),
                              contact=contact.view(), now=now, event=event,
                              contact_bot_replies=bot_replies)
        try:
            decision = decide(ctx)
        except Exception:  # a broken rule must not lose the message: it still queues
            log.exception("decision failed for conversation %s", conv.id)
            return Applied()
        if decision.language and decision.language != conv.language:
            conv.language = decision.language
            if not contact.language:
                contact.language = decision.language  # stored by `_run_rules`
        applied = await apply_actions(tx, conv, contact, decision.actions, now,
                                      default_queue=self.default_queue, inbound=msg,
                                      replies=replies)
        if applied.changed:
            await tx.insert_event(Event(0, "rules_applied", now, conv.id, "rules", {
                "event": event, "version": decision.rules_version, "trace": decision.trace,
                "actions": applied.events}))
        if applied.resolved and depth < MAX_FOLLOW_UP_DEPTH:
            follow = await self._decide_and_apply(tx, decide, msg, conv, contact, now, "resolved",
                                                  False, depth + 1, replies=replies)
            applied.outbox_rows += follow.outbox_rows
        return applied

    async def _contact(self, tx: Tx, msg: InboundMessage, now: datetime,
                       found: Contact | None) -> tuple[Contact, bool]:
        """The sender's contact (`found`, or a new one), and whether this unit created it."""
        if found is not None:
            return found, False
        s = msg.sender
        contact = Contact(0, display_name=s.display_name or s.username, email=s.email,
                          language=_base_language(s.language_hint))
        contact.id = await tx.create_contact(contact, now, Identity(
            0, 0, msg.channel, s.external_id, s.username, s.display_name))
        return contact, True

    async def _conversation(self, tx: Tx, msg: InboundMessage, contact: Contact, now: datetime,
                            keys: list[str], strong: Conversation | None,
                            ) -> tuple[Conversation, bool]:
        """The thread's conversation (`strong`: the one its strong keys found), or a new one."""
        conv = strong or await self._find_thread(tx, msg.channel, keys, now)
        if conv is not None and conv.status == Status.RESOLVED:
            if msg.kind == InboundKind.CALLBACK:
                pass  # a button press (a CSAT rating) answers the closed conversation
            elif conv.resolved_at and now - conv.resolved_at <= self.reopen_window:
                await set_status(tx, conv, Status.QUEUED if conv.queue else Status.BOT, now,
                                 "customer", "reopened")
                await tx.insert_event(Event(0, "reopened", now, conv.id, "customer", {}))
            else:
                conv = None
        own = [k for k in keys if not k.startswith(PINNED_KEY_PREFIX)]  # pinned: never added
        if conv is not None:
            # Found by its only key, a strong one: that key's row for this conversation
            # exists (the lookup takes the newest conversation of the key), nothing to add.
            if len(keys) > 1 or keys[0].startswith(WEAK_KEY_PREFIX):
                await tx.add_thread_keys(msg.channel, own, conv.id)
            return conv, False
        conv = Conversation(0, contact.id, msg.channel, msg.thread_key, status=Status.BOT,
                            language=contact.language, created_at=now, updated_at=now,
                            recipient=msg.sender.external_id)
        conv.id = await tx.create_conversation(conv, own)  # conv.channel is msg.channel
        await tx.insert_event(Event(0, "conversation_opened", now, conv.id, "customer",
                                    {"channel": msg.channel}))
        return conv, True

    async def _find_thread(self, tx: Tx, channel: str, keys: list[str],
                           now: datetime) -> Conversation | None:
        """The conversation of the strongest key that has one (keys come strongest first),
        after the strong keys found none (`Tx.find_sender` looked them up).

        Strong keys first (the platform's own ids), then pinned keys (PINNED_KEY_PREFIX:
        tokens a conversation handed out), then weak keys (a `subject:...` alias: same
        subject and sender), which only join a conversation that was active within
        WEAK_KEY_WINDOW, so an old thread with the same subject is never revived by a
        new, unrelated mail.
        """
        pinned = [k for k in keys if k.startswith(PINNED_KEY_PREFIX)]
        if pinned and (conv := await tx.find_conversation(channel, pinned)) is not None:
            return conv
        for key in keys:
            if key.startswith(WEAK_KEY_PREFIX):
                conv = await tx.find_conversation(channel, [key])
                if conv is not None and conv.updated_at and now - conv.updated_at <= WEAK_KEY_WINDOW:
                    return conv
        return None


def _strong(keys: list[str]) -> list[str]:
    """The platform's own thread ids among `keys` (not pinned or weak)."""
    return [k for k in keys if not k.startswith((WEAK_KEY_PREFIX, PINNED_KEY_PREFIX))]


def _base_language(hint: str) -> str:
    return hint.split("-", 1)[0].split("_", 1)[0].lower() if hint else ""

