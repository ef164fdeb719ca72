from __future__ import annotations

from channels.slack.adapter import SlackAdapter
from channels.slack.parse import CHANNEL
from channels.slack.settings import SlackSettings
from router.ports.channel import ChannelContext


def create(settings: SlackSettings, ctx: ChannelContext) -> SlackAdapter:
    # root messages, thread keys, the workspace cursor and its leader lease: the channel's
    # state in the store, shared by every instance on the database
    host = ctx.host_for(CHANNEL) if ctx.host_for is not None else None
    state = host.state if host is not None else None
    return SlackAdapter(settings=settings, state=state, host=host, data_dir=ctx.data_dir,
                        agent_tools=ctx.agent_tools, wake_outbox=ctx.wake_outbox,
                        poll_interval=settings.workspace_poll, lease=settings.workspace_lease)
