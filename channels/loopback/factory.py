from __future__ import annotations

from channels.loopback.adapter import LoopbackAdapter
from channels.loopback.settings import LoopbackSettings
from router.ports.channel import ChannelContext


def create(settings: LoopbackSettings, ctx: ChannelContext) -> LoopbackAdapter:
    return LoopbackAdapter(settings=settings, metrics=ctx.metrics)
