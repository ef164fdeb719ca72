"""The bolt AsyncApp: request verification, listeners, and our acknowledgement contract.

Why `process_before_response=True`: with bolt's default the listener runs as a task
*after* the HTTP 200 is sent, so a crash between the answer and the inbox commit would
lose the message (Slack does not retry a 200). With it, the 200 is sent only after the
listener returned, and our listener returns once the channel's inbox has committed the
message; rules, bots and sends happen after (the outbox sends replies). The commit takes
milliseconds; with `acknowledge: stored` a customer's event is stored as it came and its
users.info lookup (`enrich`) waits for processing, and with `processed` the lookup before
the commit is bounded (`profile_timeout`), well inside Slack's 3 seconds. If the inbox
raises (store down, `ServiceStopping` during shutdown), the answer is 503/500 and Slack
retries; the retry is deduped by the inbox key.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.fast_events import FastEvents
from channels.slack.parse import AGENT_ACTION_PREFIX, QUICK_REPLY_PREFIX
from router.domain.errors import PayloadRejected, ServiceStopping
from router.web import jsonbody
from router.web.http_errors import json_error

log = logging.getLogger(__name__)

EVENTS_PATH = "/webhooks/slack/events"
INTERACTIVE_PATH = "/webhooks/slack/interactive"

# The logger bolt's own loggers copy their level and filters from: bolt logs a rejected
# request's whole body (customer text) at INFO and an unhandled one's at WARNING.
LIBRARY_LOGGER = "channels.slack.library"
_BODY = re.compile(r"\s*\((?:signature:|\{).*|\s*\bbody\b.*", re.DOTALL)


class _NoBodies(logging.Filter):
    """Cuts a bolt message at the point where it starts quoting the request."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        cut = _BODY.sub("", text.split("\n", 1)[0])
        if cut != text:
            record.msg, record.args = f"{cut} (request body not logged)", None
        return True


def library_logger() -> logging.Logger:
    """WARNING and up, with request bodies cut out, for AsyncApp(logger=...)."""
    logger = logging.getLogger(LIBRARY_LOGGER)
    logger.setLevel(logging.WARNING)
    if not any(isinstance(f, _NoBodies) for f in logger.filters):
        logger.addFilter(_NoBodies())
    return logger


# (body, context) -> None; raising makes the HTTP answer non-2xx so Slack retries
Handler = Callable[[dict[str, Any], AsyncBoltContext], Awaitable[None]]


def build_bolt(*, signing_secret: str, client: AsyncWebClient, on_event: Handler,
               on_action: Handler) -> AsyncApp:
    """An AsyncApp whose listeners acknowledge only after the handler returned."""
    bolt = AsyncApp(signing_secret=signing_secret, client=client, process_before_response=True,
                    raise_error_for_unhandled_request=False, logger=library_logger())

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
        refused = await _refuse(request)
        if refused:
            # bolt reads the body and the timestamp before it verifies anything: invalid
            # or hostile JSON, or a non-numeric timestamp, crashed it (a 500 and an ERROR
            # traceback for a forged request)
            return json_error(400, "bad_request", refused)
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def events(request: web.Request) -> web.StreamResponse:
        answer = await fast.handle(request) if fast is not None else None
        return answer if answer is not None else await dispatch(request)

    return [web.post(EVENTS_PATH, events), web.post(INTERACTIVE_PATH, dispatch)]


async def _refuse(request: web.Request) -> str:
    """Why the request cannot be a Slack request bolt could handle, or "" if it may be."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    if timestamp is not None and not (timestamp.isascii() and timestamp.isdigit()
                                      and len(timestamp) <= 12):
        return "X-Slack-Request-Timestamp must be a number of seconds"
    if request.content_type == "application/json":
        try:
            body = jsonbody.loads(await request.read())
        except PayloadRejected as exc:
            return exc.reason
        return _envelope_problem(body)
    if request.content_type == "application/x-www-form-urlencoded":
        form = urllib.parse.parse_qs((await request.read()).decode("utf-8", "replace"))
        for raw in form.get("payload", ()):
            if not _is_object(raw):
                return "the payload field is not a JSON object"
    return ""


_TEXT_FIELDS = ("type", "token", "team_id", "api_app_id", "enterprise_id", "event_id",
                "context_team_id", "context_enterprise_id")


def _envelope_problem(body: Any) -> str:
    """What in the envelope has a shape bolt cannot read (it reads these fields before it
    verifies the signature, and crashed on a wrong shape), or ""."""
    if not isinstance(body, dict):
        return "expected a JSON object"
    for name in _TEXT_FIELDS:
        if not isinstance(body.get(name), str | None):
            return f"{name} must be a string"
    if not isinstance(body.get("event", {}), dict):
        return "event must be an object"
    event = body.get("event", {})
    for name in ("type", "subtype", "ts", "thread_ts"):
        if not isinstance(event.get(name), str | None):
            return f"event.{name} must be a string"
    auths = body.get("authorizations", [])
    if not isinstance(auths, list) or not all(isinstance(a, dict) for a in auths):
        return "authorizations must be a list of objects"
    return ""


def _is_object(body: bytes | str) -> bool:
    try:
        return isinstance(jsonbody.loads(body), dict)
    except PayloadRejected:
        return False


def _describe(body: dict[str, Any]) -> str:
    event = body.get("event") or {}
    return f"{body.get('type')} {event.get('type', '')} {body.get('event_id', '')}".strip()
