"""The aiogram `Bot` of one channel, with the answer types of the calls we make kept alive.

aiogram validates every Bot API answer as `Response[<the method's result type>]`
(`check_response` in aiogram/client/session/base.py). pydantic caches parametrised
generic models in a weak-valued dictionary and nothing else holds, say,
`Response[Message]` between calls, so whenever the garbage collector frees it the next
call builds it again: a new model class and its schema, about 4 ms of CPU. Under load
that happened about every 20th send and made a third of the client-side CPU per sent
message. Holding a reference to each type keeps pydantic's cache entry alive: aiogram
still asks for `Response[...]` on every call, and gets the same class back.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    GetFile,
    GetMe,
    GetUpdates,
    Response,
    SendDocument,
    SendMessage,
    SendPhoto,
    SetWebhook,
    TelegramMethod,
)
from pydantic import BaseModel

from channels.telegram.settings import BotSettings

#: every Bot API method the channel calls (adapter, inbound, outbound, download)
USED_METHODS: tuple[type[TelegramMethod], ...] = (
    SendMessage, SendPhoto, SendDocument, AnswerCallbackQuery, GetMe, SetWebhook,
    DeleteWebhook, GetUpdates, GetFile)

_KEPT: dict[type, type[BaseModel]] = {}


def keep_response_types(methods: tuple[type, ...] = USED_METHODS) -> dict[type, type[BaseModel]]:
    """Build `Response[T]` once for each method's result type and hold on to it."""
    for method in methods:
        if method not in _KEPT:
            _KEPT[method] = Response[method.__returning__]
    return _KEPT


def make_bot(settings: BotSettings) -> Bot:
    keep_response_types()
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_base),
                             timeout=settings.request_timeout)
    return Bot(settings.token, session=session)
