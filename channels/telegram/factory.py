"""Builds one adapter per configured bot (`channels.telegram.bots`)."""

from __future__ import annotations

from channels.telegram.adapter import TelegramAdapter
from channels.telegram.settings import TelegramSettings
from router.ports.channel import ChannelAdapter, ChannelContext


def create(settings: TelegramSettings, ctx: ChannelContext) -> list[ChannelAdapter]:
    return [TelegramAdapter(settings=bot, metrics=ctx.metrics, data_dir=ctx.data_dir,
                            host=ctx.host_for(bot.channel) if ctx.host_for else None)
            for bot in settings.bots]
