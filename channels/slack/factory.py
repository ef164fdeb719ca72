from __future__ import annotations

from channels.slack.adapter import SlackAdapter
from channels.slack.settings import SlackSettings
from router.channel import ChannelContext


def create(settings: SlackSettings, ctx: ChannelContext) -> SlackAdapter:
    return SlackAdapter(settings=settings, store=ctx.store, data_dir=ctx.data_dir,
                        desk=ctx.desk, wake_outbox=ctx.wake_outbox,
                        poll_interval=settings.workspace_poll)
