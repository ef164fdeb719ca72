from __future__ import annotations

from channels.webchat.adapter import WebchatAdapter
from channels.webchat.settings import WebchatSettings
from router.channel import ChannelContext
from router.local_secret import load_secret


def create(settings: WebchatSettings, ctx: ChannelContext) -> WebchatAdapter:
    if not settings.secret:  # works out of the box: a key kept in the data dir
        settings = settings.model_copy(update={"secret": load_secret(ctx.data_dir, "webchat")})
    return WebchatAdapter(settings=settings, store=ctx.store)
