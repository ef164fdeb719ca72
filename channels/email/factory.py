"""Service wiring: `channels: {email: ...}` -> `EmailAdapter` with state under the data dir."""

from __future__ import annotations

from channels.email.adapter import EmailAdapter
from channels.email.settings import EmailSettings
from router.channel import ChannelContext


def create(settings: EmailSettings, ctx: ChannelContext) -> EmailAdapter:
    return EmailAdapter(settings=settings, state_dir=ctx.data_dir / "email")
