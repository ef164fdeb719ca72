"""One update in, from either the webhook or the polling loop, to a durable outcome.

`handle` returns only after the update's effect is committed (the inbox's commit, or
the contact's reachability for a block); callers acknowledge Telegram after that. A plain
(edited) message goes to the inbox raw, and the core decides whether `decode` runs before
or after the acknowledgement; other updates are decoded here first (a block must be on
record, a button press answered). Work that needs no durability (answering a button
press) is started after the commit and not awaited.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from channels.telegram.download import Downloader, has_pending, mark_pending
from channels.telegram.jsonbody import LONG_NUMBER, loads
from channels.telegram.parse import ChatMemberChange, Ignored, UpdateRejected, parse_update
from channels.telegram.settings import BotSettings
from router.domain.model import InboundKind, InboundMessage, UnparsedInbound
from router.ports.channel import ChannelInbox, IngestResult
from router.ports.channel_host import ChannelHost

if TYPE_CHECKING:
    from router.web.metrics import Metrics

log = logging.getLogger(__name__)


class InboundHandler:
    def __init__(self, *, settings: BotSettings, bot: Bot, host: ChannelHost | None,
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.bot = bot
        self.host = host
        self.metrics = metrics
        #: outcomes since start (stored, duplicate, ignored reasons...), for logs and tests
        self.stats: Counter[str] = Counter()
        self.channel = settings.channel
        self.username = settings.username
        self._tasks: set[asyncio.Task[None]] = set()
        #: set by the adapter when `download.enabled`
        self.downloader: Downloader | None = None

    def reject(self, code: str, reason: str) -> str:
        """Count and log input that is acknowledged but unusable. Telegram retries any
        non-2xx answer for hours, so the counter (`inquiry_router_rejected_total`) and the
        warning are how an operator notices, not an error status."""
        self.stats[f"rejected:{code}"] += 1
        if self.metrics is not None:
            self.metrics.rejected.labels(self.channel, code).inc()
        log.warning("%s: rejected update (%s): %s", self.channel, code, reason[:300])
        return "rejected"

    async def handle(self, update: Any, inbox: ChannelInbox, body: bytes = b"") -> str:
        """Hand one decoded update to the inbox; returns what happened (for logs and
        tests). `body`: the update's bytes as they came, when at hand (the webhook).

        Raises ServiceStopping (from the inbox) when the service is shutting down: the
        caller must not acknowledge, so Telegram delivers the update again later.
        """
        item = self.unparsed(update, self.channel, body)
        if item is not None:
            result = await inbox.receive(item)
            if result.ignored:
                return "ignored"  # counted and logged by `decode`
            outcome = "duplicate" if result.duplicate else (
                "accepted" if result.accepted else "stored")
            self.stats[outcome] += 1
            return outcome
        parsed = self._parse(update)
        if isinstance(parsed, str):
            return parsed
        if isinstance(parsed, ChatMemberChange):
            if self.host is not None:  # the outbox stops (or resumes) sending there
                await self.host.set_unreachable(parsed.chat_id, parsed.blocked)
            outcome = "blocked" if parsed.blocked else "unblocked"
            self.stats[outcome] += 1
            return outcome
        result = await inbox.receive_message(parsed)
        if parsed.kind == InboundKind.CALLBACK:
            # Answered even on a redelivery: a crash may have come between commit and answer,
            # and Telegram keeps the button spinning until someone answers.
            self.spawn(self._answer_callback(str(parsed.metadata["callback_query_id"])))
        outcome = "duplicate" if result.duplicate else "stored"
        self.stats[outcome] += 1
        return outcome

    @staticmethod
    def unparsed(update: Any, channel: str, body: bytes) -> UnparsedInbound | None:
        """The update as raw input, to be decoded by the core's choice of time, if it is a
        plain (edited) message: by far the most common update, and the one whose
        validation costs the most. The body's bytes are kept when they are plain JSON an
        object reader takes back as is (no BOM or leading space, no integer beyond 64
        bits)."""
        if (type(update) is dict and type(update.get("update_id")) is int and len(update) == 2
                and type(update.get("message", update.get("edited_message"))) is dict):
            as_is = body[:1] == b"{" and LONG_NUMBER.search(body) is None
            return UnparsedInbound(channel, str(update["update_id"]), body if as_is else update)
        return None

    def decode(self, item: UnparsedInbound) -> InboundMessage | None:
        """The message of an update handed over raw; None when it is ignored or rejected
        (counted and logged as on the full path)."""
        update = item.payload
        parsed = self._parse(loads(update) if isinstance(update, bytes) else update)
        if isinstance(parsed, ChatMemberChange):  # `unparsed` lets only messages through
            raise ValueError("a membership change was handed over raw")
        return None if isinstance(parsed, str) else parsed

    def _parse(self, update: Any) -> InboundMessage | ChatMemberChange | str:
        """The update's message or membership change, or what happened to it instead
        ("rejected", "ignored")."""
        s = self.settings
        try:
            parsed = parse_update(update, bot_name=s.name, bot_username=self.username,
                                  group_mode=s.group_mode, bot_id=s.bot_id,
                                  rerun_rules_on_edit=s.rerun_rules_on_edit)
        except UpdateRejected as exc:
            return self.reject(exc.code, exc.reason)
        if isinstance(parsed, Ignored):
            self.stats["ignored"] += 1
            log.debug("%s: ignored update %s: %s", self.channel, parsed.update_id, parsed.reason)
            return "ignored"
        if isinstance(parsed, InboundMessage) and self.downloader is not None:
            parsed = mark_pending(parsed)  # the job is committed with the message
        return parsed

    def processed(self, message: InboundMessage, result: IngestResult) -> None:
        """The message is processed and has its id: start its downloads now (the jobs
        were committed with it, so a restart before this point still finds them)."""
        if (self.downloader is not None and result.message_id is not None
                and has_pending(message)):
            self.downloader.enqueue(result.message_id,
                                    message.message_external_id or message.external_id)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_callback(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            # Best effort: an unanswered query only shows a spinner that times out.
            log.info("%s: answerCallbackQuery failed: %s", self.channel, exc)

    async def close(self) -> None:
        tasks = list(self._tasks)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        for task in tasks:
            task.cancel()
