"""Puts the console into the running service: page, sign-in, API hooks, the follower.

`router/service.py` calls `mount_console` once, before the API sub-application is
attached (aiohttp refuses changes to a sub-application after that).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from router.config import Config
from router.configuration.local_secret import load_secret
from router.domain.model import Conversation
from router.engine.agents.desk import Desk
from router.ports.channel import ChannelAdapter
from router.web.api.hooks import RULES, SESSION_AUTH, SIGNAL
from router.web.api.reports import TITLE as REPORT_TITLE
from router.web.console import faq_page, oidc, twofactor_http
from router.web.console.assets import respond
from router.web.console.signals import DeskFollower
from router.web.console.signin import ConsoleAuth
from router.web.reports.page import PAGE_SETUP, PageSetup
from router.web.static import Asset, load_assets

log = logging.getLogger(__name__)
PAGE = "console.html"


def webchat_notify(channels: Mapping[str, ChannelAdapter], *, elsewhere: bool = True) -> Any:
    """`notify` of the web chat adapter as a hook taking a conversation, or None.
    `elsewhere=False`: this instance's sockets only (the desk follower's signals, which
    every instance's follower sends to its own)."""
    adapter = channels.get("webchat")
    notify = getattr(adapter, "notify", None)
    if notify is None:
        return None

    async def signal(conv: Conversation, event: str, name: str) -> int:
        if conv.channel != "webchat":
            return 0
        return int(await notify(conv.thread_key, event, name=name, elsewhere=elsewhere))

    return signal


def mount_console(app: web.Application, api: web.Application, *, config: Config, desk: Desk,
                  decider: Callable[[], Any], channels: Mapping[str, ChannelAdapter],
                  wake_outbox: Callable[[], None]) -> ConsoleAuth:
    auth = ConsoleAuth(desk.store, load_secret(config.data_path()))
    signal = webchat_notify(channels)
    api[SESSION_AUTH] = auth.api_auth
    # the Reports page (router/web/reports/page.py) and the report's title (issue 26)
    api[REPORT_TITLE] = config.settings.service.name
    app[PAGE_SETUP] = PageSetup(config.settings.service.name, auth.api_auth, desk.clock)
    api[RULES] = decider
    if signal is not None:
        api[SIGNAL] = signal
    follower = DeskFollower(desk, wake_outbox=wake_outbox,
                            notify=webchat_notify(channels, elsewhere=False),
                            listening=getattr(channels.get("webchat"), "has_visitors", None))
    app.on_startup.append(follower.start)
    app.on_shutdown.append(follower.stop)

    assets = load_assets("router.web.console")
    raw = assets.pop(PAGE)
    body = raw.body.replace(b"__TITLE__", html.escape(config.settings.service.name).encode())
    the_page = Asset.of(body, raw.content_type)

    async def page(request: web.Request) -> web.Response:
        return respond(request, the_page, page=True)

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return respond(request, assets.get(name))

    async def slash(request: web.Request) -> web.Response:
        # the page's asset paths are relative to /console: send /console/ there (relative,
        # so it also works under a proxy's path prefix)
        raise web.HTTPFound(location="../console")

    app.router.add_routes([web.get("/console", page), web.get("/console/", slash),
                           web.get("/console/static/{name}", static), *auth.routes(),
                           *faq_page.routes(config.settings.service.name),  # issue 20
                           *oidc.install(app, config, auth, desk.clock),  # issue 29: SSO
                           *twofactor_http.install(auth, config, desk.clock)])  # issue 29: 2FA
    log.info("agent console at /console")
    return auth
