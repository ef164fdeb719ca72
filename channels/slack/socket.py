"""Socket Mode: bolt's `AsyncSocketModeHandler` with the acknowledgement made visible.

Slack redelivers an envelope it did not get an `envelope_id` ack for. bolt acks only a
200 result, and our listeners return 200 only after the inbox commit (see bolt_app), so a
failed intake (store down, `ServiceStopping`) is not acknowledged and comes again. This
subclass keeps the same flow and records each envelope's outcome: a warning instead of
bolt's info line, and `results` for status pages and tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from time import time
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_sdk.socket_mode.request import SocketModeRequest

log = logging.getLogger(__name__)


class SocketHandler(AsyncSocketModeHandler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: (envelope_id, bolt status) per handled envelope; 200 means acknowledged
        self.results: list[tuple[str, int]] = []
        self._changed = asyncio.Condition()

    async def handle(self, client: Any, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time()
        response = await run_async_bolt_app(self.app, req)
        await send_async_response(client, req, response, start)  # acks only a 200
        if response.status != 200:
            log.warning("slack: envelope %s (%s) not acknowledged (status %s); Slack will "
                        "deliver it again", req.envelope_id, req.type, response.status)
        async with self._changed:
            self.results.append((req.envelope_id, response.status))
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[SocketHandler], bool],
                       within: float = 10.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: predicate(self))
