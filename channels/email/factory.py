"""Service wiring: `channels: {email: ...}` -> `EmailAdapter` with state under the data dir."""

from __future__ import annotations

from channels.email.adapter import EmailAdapter
from channels.email.oauth import OAuthAccounts, OAuthMetrics
from channels.email.parse import CHANNEL
from channels.email.settings import EmailSettings
from channels.email.tokens import SECRET_NAME, EncryptedTokenStore
from router.configuration.local_secret import lazy_secret
from router.ports.channel import ChannelContext


def create(settings: EmailSettings, ctx: ChannelContext) -> EmailAdapter:
    state_dir = ctx.data_dir / "email"
    # OAuth2 refresh tokens are kept encrypted under <data_dir>/email/oauth with a key from
    # EMAIL_OAUTH_SECRET, else <data_dir>/email_oauth.secret (made once, on first use)
    metrics = OAuthMetrics(ctx.metrics.registry) if ctx.metrics is not None and settings.oauth2 else None
    oauth = OAuthAccounts(settings.oauth2, metrics=metrics, store=EncryptedTokenStore(
        state_dir / "oauth", lazy_secret(ctx.data_dir, SECRET_NAME)))
    # reply tokens are signed with EMAIL_SECRET, else <data_dir>/email.secret (made once)
    # thread memory, IMAP positions and auto-reply counts: the channel's state in the store
    state = ctx.host_for(CHANNEL).state if ctx.host_for is not None else None
    return EmailAdapter(settings=settings, state_dir=state_dir,
                        secret=lazy_secret(ctx.data_dir, "email"), oauth=oauth, state=state)
