"""Posting to Slack: thread targets, escaping, splitting and error classification.

`OutboundMessage.text` is plain text (as for every channel) and is escaped here. A long
reply is split into several messages. Slack has no idempotency key, so a retry after a
partial send (a 429 on part 3 of 4) would repeat parts 1-2; the parts already posted are
remembered per outbox row in memory and skipped on the retry. Only a crash between two
parts can still repeat one: at-least-once, as the outbox documents.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.markup import escape, split_text
from channels.slack.parse import QUICK_REPLY_PREFIX
from router.domain.errors import ChannelError, ChannelRateLimited
from router.domain.model import AuthorKind, OutboundMessage, QuickReply

log = logging.getLogger(__name__)

# Slack error codes that no retry can fix: the outbox marks the row failed at once.
PERMANENT = frozenset({
    "channel_not_found", "not_in_channel", "account_inactive", "is_archived",
    "user_not_found", "user_disabled", "cannot_dm_bot", "invalid_auth", "not_authed",
    "token_revoked", "token_expired", "missing_scope", "no_permission", "restricted_action",
    "msg_too_long", "no_text", "invalid_blocks", "too_many_attachments",
    "ekm_access_denied", "team_access_not_granted", "channel_is_archived",
})
MAX_BUTTONS = 25  # per actions block
MAX_PROGRESS = 1000  # outbox rows whose partial progress is remembered


@dataclass(frozen=True, slots=True)
class Target:
    channel: str
    thread_ts: str = ""


def target_of(thread_key: str) -> Target:
    """`D123` -> the DM itself; `C123:1700000000.000100` -> that channel's thread."""
    channel, _, thread_ts = thread_key.partition(":")
    return Target(channel, thread_ts)


def classify(exc: Exception, what: str) -> ChannelError:
    """A ChannelError saying whether (and when) to retry a failed Web API call."""
    if isinstance(exc, SlackApiError):
        resp = exc.response
        code = str(resp.get("error") or "")
        if resp.status_code == 429 or code == "ratelimited":
            headers = {k.lower(): v for k, v in (resp.headers or {}).items()}
            raw = headers.get("retry-after", "1")
            retry = float(raw[0] if isinstance(raw, list) else raw)
            return ChannelRateLimited(f"slack {what}: rate limited (HTTP 429)", retry)
        if code in PERMANENT:
            return ChannelError(f"slack {what}: {code}", permanent=True)
        return ChannelError(f"slack {what}: {code or f'HTTP {resp.status_code}'}")
    if isinstance(exc, aiohttp.ClientError | TimeoutError):
        return ChannelError(f"slack {what}: cannot reach the Web API ({exc.__class__.__name__})")
    return ChannelError(f"slack {what}: {exc.__class__.__name__}: {exc}")


def quick_reply_blocks(text: str, replies: tuple[QuickReply, ...]) -> list[dict[str, Any]]:
    """A section with the (escaped) text and one button per quick reply."""
    buttons = [{"type": "button", "action_id": f"{QUICK_REPLY_PREFIX}{i}",
                "text": {"type": "plain_text", "text": q.label[:75] or "?", "emoji": True},
                "value": q.payload[:2000]} for i, q in enumerate(replies[:MAX_BUTTONS])]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}},
            {"type": "actions", "elements": buttons}]


class Poster:
    """Sends one outbox row as one or more chat.postMessage calls."""

    def __init__(self, client: AsyncWebClient, *, max_text: int,
                 attribution: str = "prefix") -> None:
        self.client = client
        self.max_text = max_text
        self.attribution = attribution
        self._progress: OrderedDict[str, list[str]] = OrderedDict()  # key -> posted ts

    def _parts(self, message: OutboundMessage) -> list[str]:
        text = message.text
        prefix = ""
        if message.author_kind == AuthorKind.AGENT and message.author_name and \
                self.attribution == "prefix":
            prefix = f"*{escape(message.author_name)}:* "
        parts = [escape(p) for p in split_text(text, self.max_text - len(prefix))]
        parts[0] = prefix + parts[0]
        return parts

    async def send(self, message: OutboundMessage) -> str:
        """Post every part not yet posted, then upload the agent's files (issue 24: Web API
        files.getUploadURLExternal + completeUploadExternal through `files_upload_v2`,
        scope `files:write`); returns `<channel>:<ts>` of the first part."""
        target = target_of(message.thread_key)
        files = [a for a in (message.metadata or {}).get("attachments") or () if a.get("path")]
        parts = self._parts(message) if message.text.strip() or not files else []
        done = self._progress.setdefault(message.idempotency_key, [])
        for i, part in enumerate(parts):
            if i < len(done):
                continue  # posted by an earlier attempt of this row
            last = i == len(parts) - 1
            kwargs: dict[str, Any] = {"channel": target.channel, "text": part,
                                      "unfurl_links": False, "unfurl_media": False}
            if target.thread_ts:
                kwargs["thread_ts"] = target.thread_ts
            if last and message.quick_replies:
                kwargs["blocks"] = quick_reply_blocks(part, message.quick_replies)
            if message.author_kind == AuthorKind.AGENT and self.attribution == "username" \
                    and message.author_name:
                kwargs["username"] = message.author_name
            try:
                resp = await self.client.chat_postMessage(**kwargs)
            except Exception as exc:
                self._trim()
                raise classify(exc, "chat.postMessage") from None
            done.append(str(resp.get("ts") or ""))
        for i, item in enumerate(files, start=len(parts)):
            if i < len(done):
                continue  # uploaded by an earlier attempt of this row
            done.append(await self._upload(target, item, comment="" if parts or i else
                                           self._attribution(message)))
        self._progress.pop(message.idempotency_key, None)
        return f"{target.channel}:{done[0]}" if done else ""

    def _attribution(self, message: OutboundMessage) -> str:
        """The agent's name above files sent without text (the "prefix" attribution)."""
        if message.author_kind == AuthorKind.AGENT and message.author_name and \
                self.attribution == "prefix":
            return f"*{escape(message.author_name)}:*"
        return ""

    async def _upload(self, target: Target, item: dict[str, Any], comment: str) -> str:
        name = str(item.get("name") or "file")
        kwargs: dict[str, Any] = {"channel": target.channel, "file": str(item["path"]),
                                  "filename": name, "title": name}
        if target.thread_ts:
            kwargs["thread_ts"] = target.thread_ts
        if comment:
            kwargs["initial_comment"] = comment
        try:
            resp = await self.client.files_upload_v2(**kwargs)
        except FileNotFoundError:
            raise ChannelError(f"slack files.upload: attachment missing: {name}",
                               permanent=True) from None
        except Exception as exc:
            self._trim()
            raise classify(exc, "files.upload") from None
        found = resp.get("file") or {}
        return str(found.get("id") or "") if isinstance(found, dict) else ""

    def _trim(self) -> None:
        while len(self._progress) > MAX_PROGRESS:
            self._progress.popitem(last=False)
