"""The agents' workspace: handed-off conversations as threads in one Slack channel.

A follower reads the store's events after a durable cursor (woken by the desk's notifier,
polling as a fallback) and makes Slack match the store: a conversation that is waiting
gets a root message, a state change updates it (chat.update, skipped when nothing
visible changed), a customer message or a reply from another agent tool appears in the
thread. The store stays the source of truth: Slack calls that fail are retried from the
same event, and the cursor only moves past an event once Slack has it.

Several instances (one PostgreSQL store) each run a follower with its own cursor, so each
sees every event. A root is posted exactly once all the same: a follower first claims the
conversation's root slot in one unit of work (`metadata["slack_root"] = {"pending":
<follower>, "claimed_at": ...}`, only if the slot is empty, or holds an expired claim, or
its own; the conversation row is locked on PostgreSQL, SQLite has one writer), then posts,
then records the ts in place of the claim. A follower finding another's live claim looks
again when that claim expires (`pending_ttl`), so a crash between claim and record delays
the root by at most that long and never blocks it; only a follower that stalls longer than
`pending_ttl` between claim and record can cause a second root (logged).

The root is recorded twice inside one unit of work: `metadata["slack_root"]` on the
conversation (to update it) and the thread key `<channel>:<ts>` under ROOT_KEYS (to find
the conversation of an agent's thread reply), so no migration is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.markup import escape, split_text
from channels.slack.outbound import classify
from channels.slack.render import render_root
from router.errors import ChannelError
from router.model import Agent, Contact, Conversation, Direction, Event, Status
from router.notify import Notifier
from router.store.base import Store, Tx
from router.timestamps import parse_ts, ts, utcnow

log = logging.getLogger(__name__)

ROOT_KEYS = "slack#agents"  # thread_keys channel: root ts -> conversation
ROOT_META = "slack_root"
OPEN = (Status.QUEUED, Status.ASSIGNED)
# events after which the root may look different
STATE_KINDS = ("handoff", "status_changed", "assigned", "transferred", "resolved", "reopened",
               "priority_changed", "sla_breached", "snoozed", "snooze_ended", "contacts_merged")
MIRROR_KINDS = ("message_received", "agent_replied")
THREAD_MARK = "slack_thread_reply"  # written with a reply an agent typed in the thread
FOLLOWED = (*STATE_KINDS, *MIRROR_KINDS, THREAD_MARK)
MAX_FAILURES = 8
PENDING_TTL = 60.0  # seconds a claim on a root slot holds before another follower may take it


class Workspace:
    def __init__(self, *, client: AsyncWebClient, store: Store, channel: str,
                 cursor_path: Path, queues: tuple[str, ...] = (),
                 notifier_provider: Callable[[], Notifier | None] = lambda: None,
                 queue_names: Callable[[], list[str]] = list,
                 poll_interval: float = 2.0, max_text: int = 3500,
                 pending_ttl: float = PENDING_TTL, instance: str = "") -> None:
        self.client = client
        self.store = store
        self.channel = channel
        self.cursor_path = cursor_path
        self.queues = queues  # only these queues' hand-offs are posted (empty: all)
        self.notifier_provider = notifier_provider
        self.queue_names = queue_names
        self.poll_interval = poll_interval
        self.max_text = max_text
        self.pending_ttl = pending_ttl
        self.instance = instance or secrets.token_hex(6)  # names this follower's root claims
        self._deferred: dict[int, float] = {}  # conversation -> loop time to look at it again
        self.cursor = 0
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._thread_marks: dict[int, int] = {}  # conversation -> agent replies to skip
        self.synced = asyncio.Condition()  # notified whenever the cursor moves (tests wait on it)

    # --- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        self.cursor = _read_cursor(self.cursor_path)
        self._task = asyncio.create_task(self._run(), name="slack-workspace")

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            notifier = self.notifier_provider()
            generation = notifier.generation if notifier else 0
            self._wake.clear()
            try:
                await self.recheck_deferred()
                progressed = await self.catch_up()
            except Exception:
                log.exception("slack workspace: catching up failed; retrying")
                progressed = False
            if progressed or self._stopping.is_set():
                continue
            await self._idle(notifier, generation)

    async def _idle(self, notifier: Notifier | None, generation: int) -> None:
        timeout = self.poll_interval
        if self._deferred:
            soonest = min(self._deferred.values()) - asyncio.get_running_loop().time()
            timeout = max(0.0, min(timeout, soonest))
        waits = [asyncio.ensure_future(self._wake.wait()),
                 asyncio.ensure_future(self._stopping.wait())]
        if notifier is not None:
            waits.append(asyncio.ensure_future(notifier.wait_past(generation, timeout)))
        _, pending = await asyncio.wait(waits, timeout=timeout,
                                        return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()

    async def _pause(self, seconds: float) -> None:
        """Back off without delaying shutdown."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # --- following events ----------------------------------------------------------
    async def catch_up(self) -> bool:
        """Apply every followed event after the cursor; True if any was applied."""
        events = await self.store.read(
            lambda tx: tx.list_events(after_id=self.cursor, kinds=FOLLOWED, limit=200))
        for event in events:
            if not await self._apply_with_retry(event):
                return True  # stopping: the cursor stays before this event
            self.cursor = event.id
            _write_cursor(self.cursor_path, self.cursor)
        if events:
            async with self.synced:
                self.synced.notify_all()
        return bool(events)

    async def recheck_deferred(self) -> None:
        """Look again at roots another follower had claimed, once those claims may have expired."""
        now = asyncio.get_running_loop().time()
        for conversation_id in [c for c, due in self._deferred.items() if due <= now]:
            del self._deferred[conversation_id]
            try:
                await self.sync(conversation_id)
            except ChannelError as exc:
                log.warning("slack workspace: conversation %s: %s", conversation_id, exc.reason)

    async def _apply_with_retry(self, event: Event) -> bool:
        """Apply one event, retrying Slack failures; False only when stopping first."""
        for attempt in range(1, MAX_FAILURES + 1):
            if self._stopping.is_set():
                return False
            try:
                await self.apply(event)
                return True
            except ChannelError as exc:
                if exc.permanent or attempt == MAX_FAILURES:
                    log.error("slack workspace: gave up on event %s (%s): %s", event.id,
                              event.kind, exc.reason)
                    return True
                delay = exc.retry_after if exc.retry_after is not None else min(60, 2 ** attempt)
                log.warning("slack workspace: event %s: %s; retry in %.1fs", event.id,
                            exc.reason, delay)
                await self._pause(delay)
        return True

    async def apply(self, event: Event) -> None:
        if event.conversation_id is None:
            return
        if event.kind == THREAD_MARK:
            self._thread_marks[event.conversation_id] = \
                self._thread_marks.get(event.conversation_id, 0) + 1
            return
        if event.kind in MIRROR_KINDS:
            await self._mirror(event)
            return
        await self.sync(event.conversation_id)

    async def sync(self, conversation_id: int) -> None:
        """Make the conversation's root message (posted or not) match the store."""
        snap = await self.store.read(lambda tx: _snapshot(tx, conversation_id))
        if snap is None:
            return
        conv, contact, last_text, agents = snap
        root = _posted(conv)
        if root is None and (conv.status not in OPEN or not self._wanted(conv)):
            return
        rendered = render_root(conv, contact, last_text, agent_names=agents,
                               queues=self.queue_names())
        if root is None:
            root = await self._post_root(conversation_id, rendered.text, rendered.blocks,
                                         rendered.digest)
            if root is None:
                return
        if root.get("digest") == rendered.digest:
            return
        await self._call("chat.update", channel=root["channel"], ts=root["ts"],
                         text=rendered.text, blocks=rendered.blocks)
        await self.store.write(lambda tx: _record_digest(tx, conversation_id, rendered.digest))

    async def _post_root(self, conversation_id: int, text: str, blocks: Any,
                         digest: str) -> dict[str, Any] | None:
        """Claim the root slot, post, record: None once posted here or claimed elsewhere,
        else the root another follower recorded meanwhile (to be brought up to date)."""
        ttl, me = self.pending_ttl, self.instance
        claimed, current = await self.store.write(
            lambda tx: _claim_root(tx, conversation_id, me, utcnow(), ttl))
        if not claimed:
            if current is not None and "pending" in current:
                # another follower is posting it; if it dies first, its claim expires
                self._deferred[conversation_id] = asyncio.get_running_loop().time() + ttl
            return current if current is not None and "pending" not in current else None
        self._deferred.pop(conversation_id, None)
        try:
            ts_ = await self._call("chat.postMessage", channel=self.channel, text=text,
                                   blocks=blocks, unfurl_links=False)
        except ChannelError:
            await self.store.write(lambda tx: _release_root(tx, conversation_id, me))
            raise
        recorded = await self.store.write(lambda tx: _record_root(
            tx, conversation_id, me, self.channel, ts_, digest))
        if recorded:
            log.info("slack workspace: conversation %s posted as %s", conversation_id, ts_)
        else:
            log.warning("slack workspace: conversation %s: root %s posted after this follower's "
                        "claim expired (older than %ss); another follower's root is kept",
                        conversation_id, ts_, ttl)
        return None

    def _wanted(self, conv: Conversation) -> bool:
        return not self.queues or conv.queue in self.queues

    async def _mirror(self, event: Event) -> None:
        conv_id = event.conversation_id
        assert conv_id is not None
        if event.kind == "agent_replied" and self._thread_marks.get(conv_id):
            self._thread_marks[conv_id] -= 1  # typed in the thread: already visible there
            return
        message_id = event.data.get("message_id")
        found = await self.store.read(lambda tx: _message_of(tx, conv_id, message_id))
        if found is None:
            return
        conv, text, author = found
        root = _posted(conv)
        if root is None:
            if event.kind == "message_received" and conv.status in OPEN:
                await self.sync(conv_id)  # posted now; the root shows this message
            return
        for part in split_text(text, self.max_text - len(author) - 8):
            await self._call("chat.postMessage", channel=root["channel"], thread_ts=root["ts"],
                             text=f"*{escape(author)}:* {escape(part)}", unfurl_links=False)

    async def _call(self, method: str, **kwargs: Any) -> str:
        try:
            resp = await self.client.api_call(method, json=kwargs)
        except Exception as exc:
            raise classify(exc, method) from None
        return str(resp.get("ts") or "")


# --- units of work ----------------------------------------------------------------
Snapshot = tuple[Conversation, Contact | None, str, dict[str, str]]


async def _snapshot(tx: Tx, conversation_id: int) -> Snapshot | None:
    conv = await tx.get_conversation(conversation_id)
    if conv is None:
        return None
    contact = await tx.get_contact(conv.contact_id)
    messages = await tx.list_messages(conversation_id)
    last = next((m.text for m in reversed(messages)
                 if m.direction == Direction.INBOUND and not m.internal), "")
    agents: dict[str, str] = {}
    if conv.assignee:
        agent: Agent | None = await tx.get_agent(conv.assignee)
        agents[conv.assignee] = (agent.display_name if agent else "") or conv.assignee
    return conv, contact, last, agents


async def _message_of(tx: Tx, conversation_id: int,
                      message_id: Any) -> tuple[Conversation, str, str] | None:
    conv = await tx.get_conversation(conversation_id)
    if conv is None:
        return None
    message = next((m for m in await tx.list_messages(conversation_id) if m.id == message_id),
                   None)
    if message is None or message.internal:
        return None
    if message.direction == Direction.INBOUND:
        contact = await tx.get_contact(conv.contact_id)
        author = (contact.display_name if contact else "") or "Customer"
    else:
        agent = await tx.get_agent(message.author_id) if message.author_id else None
        author = (agent.display_name if agent else "") or message.author_id or "Agent"
    return conv, message.text, author


def _posted(conv: Conversation) -> dict[str, Any] | None:
    """The recorded root message; None while there is none or it is only claimed."""
    root = conv.metadata.get(ROOT_META)
    return None if root is None or "pending" in root else root


async def _claim_root(tx: Tx, conversation_id: int, instance: str, now: datetime,
                      ttl: float) -> tuple[bool, dict[str, Any] | None]:
    """Take the root slot for `instance` if it is empty, claimed by `instance`, or holds a
    claim older than `ttl`; (taken, what the slot holds otherwise). The conversation row
    is locked for the unit on PostgreSQL, so two followers cannot both take it."""
    conv = await tx.get_conversation(conversation_id)
    if conv is None:
        return False, None
    root = conv.metadata.get(ROOT_META)
    if root is not None:
        if "pending" not in root:
            return False, root
        since = parse_ts(root.get("claimed_at"))
        live = since is not None and now - since < timedelta(seconds=ttl)
        if root["pending"] != instance and live:
            return False, root
    conv.metadata[ROOT_META] = {"pending": instance, "claimed_at": ts(now)}
    await tx.save_conversation(conv, now)
    return True, None


async def _release_root(tx: Tx, conversation_id: int, instance: str) -> None:
    conv = await tx.get_conversation(conversation_id)
    if conv is not None and (conv.metadata.get(ROOT_META) or {}).get("pending") == instance:
        del conv.metadata[ROOT_META]
        await tx.save_conversation(conv, utcnow())


async def _record_root(tx: Tx, conversation_id: int, instance: str, channel: str, ts_: str,
                       digest: str) -> bool:
    """Replace our claim by the posted root; False if the claim was taken over meanwhile."""
    conv = await tx.get_conversation(conversation_id)
    if conv is None:
        return True
    if (conv.metadata.get(ROOT_META) or {}).get("pending", instance) != instance \
            or _posted(conv) is not None:
        return False
    conv.metadata[ROOT_META] = {"channel": channel, "ts": ts_, "digest": digest}
    await tx.save_conversation(conv, utcnow())
    await tx.add_thread_keys(ROOT_KEYS, [f"{channel}:{ts_}"], conversation_id)
    return True


async def _record_digest(tx: Tx, conversation_id: int, digest: str) -> None:
    conv = await tx.get_conversation(conversation_id)
    if conv is None or _posted(conv) is None:
        return
    conv.metadata[ROOT_META] = {**conv.metadata[ROOT_META], "digest": digest}
    await tx.save_conversation(conv, utcnow())


# --- the durable cursor ------------------------------------------------------------
def _read_cursor(path: Path) -> int:
    """Last applied event id; 0 on first start (every open conversation gets posted)."""
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _write_cursor(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(value))
    os.replace(tmp, path)
