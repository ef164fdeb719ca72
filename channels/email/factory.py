"""Service wiring: `channels: {email: ...}` -> `EmailAdapter` with state under the data dir."""

from __future__ import annotations

from channels.email.adapter import EmailAdapter
from channels.email.settings import EmailSettings
from router.channel import ChannelContext
from router.local_secret import lazy_secret


def create(settings: EmailSettings, ctx: ChannelContext) -> EmailAdapter:
    # reply tokens are signed with EMAIL_SECRET, else <data_dir>/email.secret (made once)
    return EmailAdapter(settings=settings, state_dir=ctx.data_dir / "email",
                        secret=lazy_secret(ctx.data_dir, "email"))
