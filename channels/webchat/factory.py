from __future__ import annotations

from channels.webchat.adapter import WebchatAdapter
from channels.webchat.settings import WebchatSettings
from router.channel import ChannelContext


def create(settings: WebchatSettings, ctx: ChannelContext) -> WebchatAdapter:
    return WebchatAdapter(settings=settings, store=ctx.store)
