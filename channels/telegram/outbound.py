"""Sending one outbox row through the Bot API, and classifying what went wrong.

A long reply becomes several messages. Parts already delivered are remembered per
idempotency key, so a retry after a 429 or 5xx on part 3 resumes at part 3 instead of
repeating parts 1-2. The memory is in-process only: after a crash at that exact point a
part can repeat (at-least-once, as Telegram offers no idempotency key).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import FSInputFile, Message, ReplyParameters

from channels.telegram.format import keyboard, render_parts
from channels.telegram.parse import GROUPS
from channels.telegram.ratelimit import RateLimiter
from router.domain.errors import ChannelError, ChannelRateLimited
from router.domain.model import OutboundMessage
from router.ports.channel import SendResult
from router.ports.channel_host import ChannelHost

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[Message]]
MAX_REMEMBERED = 10_000


class Sender:
    def __init__(self, *, channel: str, bot: Bot, limiter: RateLimiter,
                 host: ChannelHost | None) -> None:
        self.channel = channel
        self.bot = bot
        self.limiter = limiter
        self.host = host
        self._progress: dict[str, list[int]] = {}  # idempotency key -> sent message ids

    async def send(self, message: OutboundMessage) -> SendResult:
        # a chat that blocked the bot never gets here: the outbox checks reachability
        chat_id = message.thread_key or message.recipient
        steps = self._steps(chat_id, message)
        if not steps:
            raise ChannelError("nothing to send: empty text and no attachments", permanent=True)
        sent = self._progress.setdefault(message.idempotency_key, [])
        for step in steps[len(sent):]:
            await self.limiter.wait(chat_id)
            result = await self._call(chat_id, step)
            sent.append(result.message_id)
        self._progress.pop(message.idempotency_key, None)
        if len(self._progress) > MAX_REMEMBERED:  # rows that died mid-way: forget the oldest
            self._progress.pop(next(iter(self._progress)))
        return SendResult(external_id=str(sent[0]))

    def _steps(self, chat_id: str, message: OutboundMessage) -> list[Step]:
        parts = [p for p in render_parts(message.text, message.html) if p.strip()]
        markup = keyboard(message.quick_replies)
        reply = _reply_parameters(message.metadata)
        steps: list[Step] = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1

            def step(part: str = part, last: bool = last, first: bool = i == 0) -> Awaitable[Message]:
                return self.bot.send_message(
                    chat_id, part, parse_mode="HTML", reply_markup=markup if last else None,
                    reply_parameters=reply if first else None)

            steps.append(step)
        for item in message.metadata.get("attachments") or ():
            steps.append(self._attachment_step(chat_id, item))
        return steps

    def _attachment_step(self, chat_id: str, item: Mapping[str, Any]) -> Step:
        source: FSInputFile | str = (
            FSInputFile(item["path"], filename=item.get("name") or None) if item.get("path")
            else str(item.get("ref", "")))
        caption = str(item.get("caption", ""))[:1024] or None
        if item.get("kind") in ("photo", "image"):
            return lambda: self.bot.send_photo(chat_id, source, caption=caption, parse_mode=None)
        return lambda: self.bot.send_document(chat_id, source, caption=caption, parse_mode=None)

    async def _call(self, chat_id: str, step: Step) -> Message:
        try:
            return await step()
        except TelegramRetryAfter as exc:
            raise ChannelRateLimited(f"Telegram 429 for chat {chat_id}: retry after "
                                     f"{exc.retry_after}s", float(exc.retry_after)) from None
        except TelegramForbiddenError as exc:
            if self.host is not None:  # the user blocked the bot: no more sends there
                await self.host.set_unreachable(chat_id, True)
            raise ChannelError(f"Telegram 403 for chat {chat_id}: {exc.message}",
                               permanent=True) from None
        except TelegramMigrateToChat as exc:
            raise ChannelError(f"group {chat_id} became supergroup {exc.migrate_to_chat_id}",
                               permanent=True) from None
        except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
            raise ChannelError(f"Telegram rejected the message: {exc.message}",
                               permanent=True) from None
        except TelegramAPIError as exc:  # 5xx, network, 401/404/409: worth retrying
            raise ChannelError(f"Telegram error: {exc.__class__.__name__}: {exc.message}") from None
        except FileNotFoundError as exc:
            raise ChannelError(f"attachment missing: {exc.filename}", permanent=True) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ChannelError(f"cannot reach the Bot API: {exc.__class__.__name__}") from None


def _reply_parameters(metadata: Mapping[str, Any]) -> ReplyParameters | None:
    """In groups, thread the answer under the customer's message so it is clear whom it
    answers; a private chat needs no quote."""
    message_id = metadata.get("message_id")
    if metadata.get("chat_type") in GROUPS and isinstance(message_id, int):
        return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
    return None
