"""One Telegram bot as a channel: webhook route or polling loop in, Bot API out.

aiogram's `Bot` makes every API call; its Dispatcher is not used for intake, because it
acknowledges a webhook before the handler has run, and we acknowledge only after the
inbox commit (a crash before the commit then means a redelivery, not a lost message).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiohttp import web

from channels.telegram.client import make_bot
from channels.telegram.download import Downloader
from channels.telegram.inbound import InboundHandler
from channels.telegram.jsonbody import loads
from channels.telegram.outbound import Sender
from channels.telegram.ratelimit import RateLimiter
from channels.telegram.settings import BotSettings
from router.domain.errors import PayloadRejected, ServiceStopping
from router.domain.model import InboundMessage, OutboundMessage, UnparsedInbound
from router.domain.tasks import cancel_and_wait
from router.ports.channel import ChannelAdapter, ChannelInbox, IngestResult, SendResult
from router.ports.channel_host import ChannelHost
from router.web.http_errors import json_error

if TYPE_CHECKING:
    from router.web.metrics import Metrics

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BACKOFF = 30.0
EMPTY_ANSWER = "{}"  # json.dumps({}), written once
class TelegramAdapter(ChannelAdapter):
    deferrable = True

    def __init__(self, *, settings: BotSettings, host: ChannelHost | None = None,
                 metrics: Metrics | None = None, data_dir: Path | None = None) -> None:
        """`host` is the core as this bot sees it; without one (a bot built alone) blocks
        are not recorded and files not downloaded."""
        self.settings = settings
        self.name = settings.channel
        self.bot = make_bot(settings)
        self.inbound = InboundHandler(settings=settings, bot=self.bot, host=host,
                                      metrics=metrics)
        self.sender = Sender(channel=self.name, bot=self.bot,
                             limiter=RateLimiter(settings.rate_limits), host=host)
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        if settings.download.enabled and host is not None and data_dir is not None:
            self.inbound.downloader = Downloader(settings=settings.download, channel=self.name,
                                                 bot=self.bot, host=host, data_dir=data_dir)

    def decode(self, raw: UnparsedInbound) -> InboundMessage | None:
        return self.inbound.decode(raw)

    async def processed(self, message: InboundMessage, result: IngestResult) -> None:
        """Start the message's file downloads, now that it has an id."""
        self.inbound.processed(message, result)

    # --- lifecycle -------------------------------------------------------------------
    async def start(self, inbox: ChannelInbox) -> None:
        s = self.settings
        if self.inbound.downloader is not None:
            self.inbound.downloader.start()  # also picks up jobs left pending before
        if s.group_mode == "mention" and not s.username:
            await self._learn_username()
        if s.mode == "polling":
            self._poller = asyncio.create_task(self._poll(inbox), name=f"{self.name}-poll")
        elif s.webhook_url:
            self.inbound.spawn(self._register_webhook())

    async def stop(self) -> None:
        self._stopping.set()
        await cancel_and_wait(self._poller)
        await self.inbound.close()
        if self.inbound.downloader is not None:
            await self.inbound.downloader.stop()
        await self.bot.session.close()

    async def _learn_username(self) -> None:
        """Group mentions are recognised by @username; without it only replies count."""
        try:
            me = await self.bot.get_me(request_timeout=5)
            self.inbound.username = me.username or ""
        except (TelegramAPIError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("%s: getMe failed (%s); set `username:` so group mentions are "
                        "recognised", self.name, exc.__class__.__name__)

    async def _register_webhook(self) -> None:
        s = self.settings
        delay = 1.0
        while not self._stopping.is_set():
            try:
                await self.bot.set_webhook(s.webhook_url, secret_token=s.webhook_secret,
                                           allowed_updates=list(s.allowed_updates))
                log.info("%s: webhook registered at %s", self.name, s.webhook_url)
                return
            except (TelegramAPIError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("%s: setWebhook failed (%s); retrying in %.0fs", self.name,
                            exc.__class__.__name__, delay)
            if await self._pause(delay):
                return
            delay = min(MAX_BACKOFF, delay * 2)

    async def _pause(self, seconds: float) -> bool:
        """Sleep unless stopping; True when the adapter is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    # --- webhook ---------------------------------------------------------------------
    def routes(self, inbox: ChannelInbox) -> Sequence[web.RouteDef]:
        if self.settings.mode != "webhook":
            return ()
        secret = self.settings.webhook_secret.encode()

        async def receive(request: web.Request) -> web.StreamResponse:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, secret):
                log.warning("%s: webhook call with a missing or wrong secret token", self.name)
                return json_error(401, "unauthorized", "missing or wrong secret token")
            body = await request.read()
            try:
                update = loads(body)
            except PayloadRejected as exc:
                # 200: any other answer makes Telegram resend the same bytes for hours;
                # the rejection is counted and logged (nothing is acknowledged that then
                # fails: what is accepted below can be processed)
                self.inbound.reject("malformed_json", exc.reason)
                return web.json_response(text=EMPTY_ANSWER)
            # ServiceStopping -> 503 (middleware)
            await self.inbound.handle(update, inbox, body)
            return web.json_response(text=EMPTY_ANSWER)

        return [web.post(f"/webhooks/telegram/{self.settings.name}", receive)]

    # --- long polling ----------------------------------------------------------------
    async def _poll(self, inbox: ChannelInbox) -> None:
        """getUpdates loop. Offset = last committed update_id + 1, kept in memory only:
        Telegram itself keeps every update not yet confirmed by a higher offset, and the
        inbox dedupe absorbs any redelivery after a restart."""
        s = self.settings
        with contextlib.suppress(TelegramAPIError, aiohttp.ClientError, OSError, TimeoutError):
            await self.bot.delete_webhook()  # getUpdates answers 409 while a webhook is set
        offset: int | None = None
        delay = 1.0
        while not self._stopping.is_set():
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=s.polling_timeout,
                    allowed_updates=list(s.allowed_updates),
                    request_timeout=int(s.request_timeout + s.polling_timeout))
                delay = 1.0
            except TelegramRetryAfter as exc:
                await self._pause(float(exc.retry_after))
                continue
            except (TelegramAPIError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("%s: getUpdates failed (%s); retrying in %.0fs", self.name,
                            exc.__class__.__name__, delay)
                await self._pause(delay)
                delay = min(MAX_BACKOFF, delay * 2)
                continue
            for update in updates:
                raw = update.model_dump(mode="json", exclude_unset=True, by_alias=True)
                try:
                    await self.inbound.handle(raw, inbox)
                except ServiceStopping:
                    return  # offset not advanced: Telegram keeps the update for next time
                except Exception:
                    log.exception("%s: update %s not stored; will retry", self.name,
                                  update.update_id)
                    await self._pause(delay)
                    break
                offset = update.update_id + 1

    # --- outbound --------------------------------------------------------------------
    async def send(self, message: OutboundMessage) -> SendResult:
        return await self.sender.send(message)
