"""Customer message events without bolt's per-request machinery.

Why: under a burst, bolt's dispatch of one event (a request object, a context with a new
Web API client, listener matching, kwargs injection, middleware) cost about a sixth of
the service's CPU. A signed `event_callback` carrying a `message` or `app_mention` event
is verified here with slack_sdk's `SignatureVerifier` (the verifier bolt itself uses:
signature and a timestamp at most 5 minutes off) and handed to the same handler as
bolt's listener, with the same answers: 200 once stored, 503 while stopping, 500 on a
failure. Everything else goes through bolt as before: url_verification, other events,
interactivity, anything that fails verification (bolt answers 401), and every event
until bolt's authorization has learnt the app's bot user and team ids (auth.test, on the
first event).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from channels.slack.parse import Options
from router.domain.errors import PayloadRejected, ServiceStopping
from router.web import jsonbody

log = logging.getLogger(__name__)

EVENT_TYPES = frozenset({"message", "app_mention"})
# (decoded body, options, the body's bytes as they came)
EventHandler = Callable[[dict[str, Any], Options, bytes], Awaitable[None]]


class FastEvents:
    def __init__(self, signing_secret: str, handler: EventHandler,
                 options: Callable[[], Options | None]) -> None:
        """`options`: the parse options with the app's ids, or None while unknown."""
        self.verifier = SignatureVerifier(signing_secret)
        self.handler = handler
        self.options = options
        self.handled = 0  # events answered here (the rest went to bolt), for tests

    async def handle(self, request: web.Request) -> web.StreamResponse | None:
        """The answer, or None when bolt should handle the request."""
        options = self.options()
        if options is None or request.content_type != "application/json":
            return None
        body = await request.read()  # aiohttp keeps it: bolt can still read it
        try:
            if not self.verifier.is_valid(body, request.headers.get("X-Slack-Request-Timestamp"),
                                          request.headers.get("X-Slack-Signature")):
                return None
            payload = jsonbody.loads(body)
        except (ValueError, PayloadRejected):  # a forged timestamp, bad or hostile JSON
            return None  # bolt's path answers it (400, or 401 for a bad signature)
        if not isinstance(payload, dict):
            return None
        event = payload.get("event")
        if (payload.get("type") != "event_callback" or not isinstance(event, dict)
                or event.get("type") not in EVENT_TYPES):
            return None
        try:
            await self.handler(payload, options, body)
        except ServiceStopping:
            return web.json_response({"error": "stopping"}, status=503)
        except Exception:
            log.exception("slack: handling event %s failed; Slack will retry",
                          payload.get("event_id", ""))
            return web.json_response({"error": "internal"}, status=500)
        self.handled += 1
        return web.Response(status=200)
