"""The agents' workspace: handed-off conversations as threads in one Slack channel.

A follower reads the desk's events after a cursor (`AgentTools.events_after`, woken by the
desk's notifier, polling as a fallback) and makes Slack match the store: a conversation
that is waiting gets a root message, a state change updates it (chat.update, skipped when
nothing visible changed), a customer message or a reply from another agent tool appears
in the thread. The store stays the source of truth: Slack calls that fail are retried from
the same event, and the cursor only moves past an event once Slack has it.

**One leader per workspace.** Every instance runs a follower, but only the one holding the
lease `workspace:leader` in the channel's state posts (`ChannelState.claim`, renewed every
third of `lease` while it lives); the others stand by and try to take the lease as often.
The cursor, the roots and the thread keys live in the state too (`channels.slack.threads`),
so a new leader goes on exactly where the old one stopped: each event is applied once
across instances. A leader stops (`stop`) by releasing the lease, and another instance
takes over within a third of `lease`; one that dies holding it is replaced once the lease
has run out. A follower posts only while more than a third of its lease is left (renewing
first when due), so its lease cannot run out in the middle of a post unless one Slack call
or store write stalls for that long; if it loses the lease it stops at once and leaves the
cursor where it was. The one event in flight when a leader is killed may be posted again
by the next (at-least-once, as for the outbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.markup import escape, split_text
from channels.slack.outbound import classify
from channels.slack.parse import CHANNEL
from channels.slack.render import render_root
from channels.slack.threads import CURSOR, LEADER, Threads
from router.domain.errors import ChannelError
from router.domain.model import Conversation, Event, Status
from router.ports.agent_tools import AgentTools
from router.ports.channel_state import ChannelState
from router.ports.notify import Notifier, paced

log = logging.getLogger(__name__)

OPEN = (Status.QUEUED, Status.ASSIGNED)
# events after which the root may look different
STATE_KINDS = ("handoff", "status_changed", "assigned", "transferred", "resolved", "reopened",
               "priority_changed", "sla_breached", "snoozed", "snooze_ended", "contacts_merged")
MIRROR_KINDS = ("message_received", "agent_replied")
LEGACY_THREAD_MARK = "slack_thread_reply"  # written beside thread replies by earlier versions
FOLLOWED = (*STATE_KINDS, *MIRROR_KINDS, LEGACY_THREAD_MARK)
MAX_FAILURES = 8
LEASE = 15.0  # seconds the leader's lease holds without renewal


class LeaseLost(Exception):
    """This follower no longer leads the workspace: it must not post."""


class Workspace:
    def __init__(self, *, client: AsyncWebClient, tools: Callable[[], AgentTools | None],
                 state: ChannelState, channel: str, queues: tuple[str, ...] = (),
                 poll_interval: float = 2.0, max_text: int = 3500, lease: float = LEASE,
                 instance: str = "", legacy_cursor: Path | None = None) -> None:
        self.client = client
        self.tools = tools
        self.state = state
        self.threads = Threads(state, tools)
        self.channel = channel
        self.queues = queues  # only these queues' hand-offs are posted (empty: all)
        self.poll_interval = poll_interval
        self.max_text = max_text
        self.lease = lease
        self.instance = instance or secrets.token_hex(6)  # names this follower's lease
        self.legacy_cursor = legacy_cursor  # the cursor file of earlier versions
        self.cursor = 0
        self.leading = False
        self.rounds = 0  # loop rounds done (tests wait for one to pass)
        self._lease_until = 0.0  # loop time until which the lease surely holds
        self._wrote = False  # the event being applied made a Slack call
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # notified whenever the cursor moves and after every round (tests wait on it)
        self.synced = asyncio.Condition()

    # --- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slack-workspace")

    async def stop(self) -> None:
        """Stop following; a leader hands the lease back so another takes over at once."""
        self._stopping.set()
        self._wake.set()
        if self._task is not None:
            await self._task
        if self.leading:
            self.leading = False
            with contextlib.suppress(Exception):
                await self.state.release(LEADER, self.instance)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            tools = self.tools()
            notifier = tools.notifier if tools is not None else None
            generation = notifier.generation if notifier else 0
            self._wake.clear()
            read_at = loop.time()
            progressed = False
            try:
                if await self.lead():
                    progressed = await self.catch_up()
            except LeaseLost:
                log.warning("slack workspace: lost the lease on %s; standing by", self.channel)
            except Exception:
                log.exception("slack workspace: catching up failed; retrying")
            await self._round_done()
            if progressed or self._stopping.is_set():
                continue
            # woken by every commit: under load, one read per FOLLOW_PACE at most
            await paced(read_at)
            await self._idle(notifier if self.leading else None, generation)

    async def _round_done(self) -> None:
        self.rounds += 1
        async with self.synced:
            self.synced.notify_all()

    async def _idle(self, notifier: Notifier | None, generation: int) -> None:
        """A leader waits for news (or its next renewal), a standby for its next try."""
        if self.leading:
            renew_in = self._lease_until - self.lease * 2 / 3 - asyncio.get_running_loop().time()
            timeout = max(0.0, min(self.poll_interval, renew_in))
            waits = [asyncio.ensure_future(self._wake.wait())]
        else:
            timeout, waits = self.lease / 3, []
        waits.append(asyncio.ensure_future(self._stopping.wait()))
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

    # --- the lease -----------------------------------------------------------------
    async def lead(self) -> bool:
        """Take or renew the lease when a third of it has passed; whether this follower
        leads now. A follower that (re)gains the lease reads the shared cursor first."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        if self.leading and self._lease_until - started > self.lease * 2 / 3:
            return True
        lapsed = not self.leading or started >= self._lease_until
        try:
            held = await self.state.claim(LEADER, self.instance, self.lease)
        except Exception:
            log.exception("slack workspace: could not renew the lease")
            return self._holds()
        if not held:
            if self.leading:
                log.warning("slack workspace: another instance leads %s now", self.channel)
            self.leading, self._lease_until = False, 0.0
            return False
        self._lease_until = started + self.lease
        if lapsed:  # someone may have led meanwhile: go on from the shared cursor
            self.cursor = await self._load_cursor()
            if not self.leading:
                log.info("slack workspace: this instance (%s) leads %s from event %s",
                         self.instance, self.channel, self.cursor)
        self.leading = True
        return True

    def _holds(self) -> bool:
        """The lease holds for at least another third of it (room for one Slack call)."""
        left = self._lease_until - asyncio.get_running_loop().time()
        return self.leading and left > self.lease / 3

    async def _ensure_lead(self) -> None:
        if not await self.lead() or not self._holds():
            raise LeaseLost(self.channel)

    async def _load_cursor(self) -> int:
        found = await self.state.get(CURSOR)
        if found is not None:
            return int(found)
        legacy = _read_legacy_cursor(self.legacy_cursor)
        await self.state.put(CURSOR, legacy)
        if legacy:
            log.info("slack workspace: cursor %s taken over from %s", legacy, self.legacy_cursor)
        return legacy

    # --- following events ----------------------------------------------------------
    async def catch_up(self) -> bool:
        """Apply every followed event after the cursor; True if any was applied.
        Raises LeaseLost (the cursor stays before the event) once another instance leads."""
        tools = self.tools()
        if tools is None:
            return False
        events = await tools.events_after(self.cursor, FOLLOWED)
        saved = self.cursor
        try:
            for event in events:
                self._wrote = False
                if not await self._apply_with_retry(event):
                    return True  # stopping: the cursor stays before this event
                self.cursor = event.id
                if self._wrote:  # Slack has it: a new leader must not post it again
                    saved = await self._save_cursor()
        finally:
            # Events that posted nothing (most: messages of conversations the bot keeps)
            # are saved once per batch, not one store write each: applying them again
            # after a crash posts nothing either.
            if self.cursor != saved and self.leading:
                await self._save_cursor()
        if events:
            async with self.synced:
                self.synced.notify_all()
        return bool(events)

    async def _save_cursor(self) -> int:
        await self._ensure_lead()  # never move the cursor of another leader
        await self.state.put(CURSOR, self.cursor)
        return self.cursor

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
        if event.kind == LEGACY_THREAD_MARK:
            await self.threads.add_mark(event.conversation_id)
            return
        if event.kind in MIRROR_KINDS:
            await self._mirror(event)
            return
        await self.sync(event.conversation_id)

    async def sync(self, conversation_id: int) -> None:
        """Make the conversation's root message (posted or not) match the store."""
        tools = self.tools()
        view = await tools.view(conversation_id) if tools is not None else None
        if tools is None or view is None:
            return
        conv = view.conversation
        root = await self.threads.root(conv)
        if root is None and (conv.status not in OPEN or not self._wanted(conv)):
            return
        rendered = render_root(conv, view.contact, view.last_customer_text,
                               agent_names=view.agent_names, queues=tools.queue_names())
        if root is None:
            ts_ = await self._call("chat.postMessage", channel=self.channel, text=rendered.text,
                                   blocks=rendered.blocks, unfurl_links=False)
            await self.threads.record_root(conversation_id, self.channel, ts_, rendered.digest)
            log.info("slack workspace: conversation %s posted as %s", conversation_id, ts_)
            return
        if root.get("digest") == rendered.digest:
            return
        await self._call("chat.update", channel=root["channel"], ts=root["ts"],
                         text=rendered.text, blocks=rendered.blocks)
        await self.threads.record_digest(conversation_id, root, rendered.digest)

    def _wanted(self, conv: Conversation) -> bool:
        return not self.queues or conv.queue in self.queues

    async def _mirror(self, event: Event) -> None:
        conv_id = event.conversation_id
        assert conv_id is not None
        if event.kind == "agent_replied" and (event.data.get("via") == CHANNEL
                                              or await self.threads.take_mark(conv_id)):
            return  # typed in the thread: already visible there
        tools = self.tools()
        message_id = event.data.get("message_id")
        if tools is None or not isinstance(message_id, int):
            return
        found = await tools.message(conv_id, message_id)
        if found is None:
            return
        root = await self.threads.root(found.conversation)
        if root is None:
            if event.kind == "message_received" and found.conversation.status in OPEN:
                await self.sync(conv_id)  # posted now; the root shows this message
            return
        author = found.author
        for part in split_text(found.text, self.max_text - len(author) - 8):
            await self._call("chat.postMessage", channel=root["channel"], thread_ts=root["ts"],
                             text=f"*{escape(author)}:* {escape(part)}", unfurl_links=False)

    async def _call(self, method: str, **kwargs: Any) -> str:
        """One Slack write, made only while this follower leads."""
        await self._ensure_lead()
        self._wrote = True  # (also when it fails: the post may have reached Slack)
        try:
            resp = await self.client.api_call(method, json=kwargs)
        except Exception as exc:
            raise classify(exc, method) from None
        return str(resp.get("ts") or "")


def _read_legacy_cursor(path: Path | None) -> int:
    """The cursor file of earlier versions (`<data_dir>/slack/workspace.cursor`), read once
    when the state has none; 0 without one (every open conversation gets posted)."""
    if path is None:
        return 0
    try:
        return int(path.read_text().strip() or 0)
    except (FileNotFoundError, ValueError):
        return 0
