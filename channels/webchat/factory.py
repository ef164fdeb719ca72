from __future__ import annotations

import logging
import os

from channels.webchat.adapter import WebchatAdapter
from channels.webchat.protocol import CHANNEL
from channels.webchat.settings import WebchatSettings
from router.configuration.local_secret import load_secret
from router.ports.channel import ChannelContext

log = logging.getLogger(__name__)
IDENTITY_SECRET_ENV = "WEBCHAT_IDENTITY_SECRET"


def create(settings: WebchatSettings, ctx: ChannelContext) -> WebchatAdapter:
    if not settings.secret:  # works out of the box: a key kept in the data dir
        settings = settings.model_copy(update={"secret": load_secret(ctx.data_dir, "webchat")})
    from_env = os.environ.get(IDENTITY_SECRET_ENV, "")
    if not settings.identity_secret and from_env:
        # signed identities (issue 24): the key the embedding site signs with; never made
        # up here, since the site must have the same one
        if len(from_env) < 16:
            log.error("%s has fewer than 16 characters: signed identities stay off",
                      IDENTITY_SECRET_ENV)
        else:
            settings = settings.model_copy(update={"identity_secret": from_env})
    host = ctx.host_for(CHANNEL) if ctx.host_for is not None else None
    return WebchatAdapter(settings=settings, host=host, data_dir=ctx.data_dir)
