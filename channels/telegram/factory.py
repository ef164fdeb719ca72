"""Builds one adapter per configured bot (`channels.telegram.bots`)."""

from __future__ import annotations

from channels.telegram.adapter import TelegramAdapter
from channels.telegram.settings import TelegramSettings
from router.channel import ChannelAdapter, ChannelContext


def create(settings: TelegramSettings, ctx: ChannelContext) -> list[ChannelAdapter]:
    return [TelegramAdapter(settings=bot, store=ctx.store, metrics=ctx.metrics,
                            data_dir=ctx.data_dir)
            for bot in settings.bots]
