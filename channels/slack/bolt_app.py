"""The bolt AsyncApp: request verification, listeners, and our acknowledgement contract.

Why `process_before_response=True`: with bolt's default the listener runs as a task
*after* the HTTP 200 is sent, so a crash between the answer and the inbox commit would
lose the message (Slack does not retry a 200). With it, the 200 is sent only after the
listener returned, and our listener returns once `intake` has committed the message to
the inbox; rules, bots and sends happen after (the outbox sends replies). The commit takes
milliseconds; with `acknowledge: stored` a customer's event is stored as it came and its
users.info lookup waits for processing, and with `processed` the lookup before intake is
bounded (`profile_timeout`), well inside Slack's 3 seconds. If intake raises (store down,
`ServiceStopping` during shutdown), the answer is 503/500 and Slack retries; the retry is
deduped by the inbox key.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.fast_events import FastEvents
from channels.slack.parse import AGENT_ACTION_PREFIX, QUICK_REPLY_PREFIX
from router.errors import ServiceStopping
from router.http_errors import json_error

log = logging.getLogger(__name__)

EVENTS_PATH = "/webhooks/slack/events"
INTERACTIVE_PATH = "/webhooks/slack/interactive"

# (body, context) -> None; raising makes the HTTP answer non-2xx so Slack retries
Handler = Callable[[dict[str, Any], AsyncBoltContext], Awaitable[None]]


def build_bolt(*, signing_secret: str, client: AsyncWebClient, on_event: Handler,
               on_action: Handler) -> AsyncApp:
    """An AsyncApp whose listeners acknowledge only after the handler returned."""
    bolt = AsyncApp(signing_secret=signing_secret, client=client, process_before_response=True,
                    raise_error_for_unhandled_request=False)

    async def event_listener(body: dict[str, Any], ack: AsyncAck,
                             context: AsyncBoltContext) -> None:
        await on_event(body, context)
        await ack()

    async def action_listener(body: dict[str, Any], ack: AsyncAck,
                              context: AsyncBoltContext) -> None:
        await on_action(body, context)
        await ack()

    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        if isinstance(error, ServiceStopping):
            return BoltResponse(status=503, body=json.dumps({"error": "stopping"}),
                                headers={"content-type": "application/json"})
        log.error("slack: handling %s failed; Slack will retry", _describe(body),
                  exc_info=(type(error), error, error.__traceback__))
        return BoltResponse(status=500, body=json.dumps({"error": "internal"}),
                            headers={"content-type": "application/json"})

    # Every event type gets an answer: an unanswered (404) event would be retried by
    # Slack three times for nothing. The handler ignores what it does not use.
    bolt.event(re.compile(r".*"))(event_listener)
    bolt.action(re.compile(rf"^({re.escape(AGENT_ACTION_PREFIX)}|{re.escape(QUICK_REPLY_PREFIX)})"))(
        action_listener)
    bolt.error(on_error)
    return bolt


def routes(bolt: AsyncApp, fast: FastEvents | None = None) -> list[web.RouteDef]:
    """Both Slack request URLs go through the same verified bolt dispatch; customer
    message events take `fast` (channels/slack/fast_events.py) when it can."""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        if request.content_type == "application/json" and not _is_object(await request.read()):
            # bolt reads fields of the body before it verifies anything: invalid JSON, or
            # JSON that is not an object, crashed it (a 500 for a forged request)
            return json_error(400, "bad_request", "expected a JSON object")
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def events(request: web.Request) -> web.StreamResponse:
        answer = await fast.handle(request) if fast is not None else None
        return answer if answer is not None else await dispatch(request)

    return [web.post(EVENTS_PATH, events), web.post(INTERACTIVE_PATH, dispatch)]


def _is_object(body: bytes) -> bool:
    try:
        return isinstance(orjson.loads(body), dict)
    except orjson.JSONDecodeError:
        return False


def _describe(body: dict[str, Any]) -> str:
    event = body.get("event") or {}
    return f"{body.get('type')} {event.get('type', '')} {body.get('event_id', '')}".strip()
