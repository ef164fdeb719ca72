"""Fixtures: the stand-in Slack Web API, Slack configs, and signed request helpers."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml

from router.domain.model import Conversation, Message
from tests.channels.slack.fake_api import SECRET, TOKEN, FakeSlackAPI, user

PAYLOADS = Path(__file__).parent / "payloads"
DM = "D0CUST001"
GENERAL = "C0GENERAL1"
SHARED = "C0SHARED01"
AGENTS = "C0AGENTS01"
CUSTOMER = "U0CUST0001"
AGENT = "U0AGENT001"


def payload(name: str, **replace: str) -> dict[str, Any]:
    """A stored payload; `replace` substitutes placeholders such as ROOT_TS."""
    text = (PAYLOADS / f"{name}.json").read_text(encoding="utf-8")
    for key, value in replace.items():
        text = text.replace(key, value)
    return json.loads(text)


def variant(body: dict[str, Any], **event: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    out["event"].update(event)
    return out


def sign(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slack_yaml(api: FakeSlackAPI, **overrides: Any) -> str:
    slack: dict[str, Any] = {
        "bot_token": TOKEN, "signing_secret": SECRET, "api_base": api.base_url,
        "shared_channels": [SHARED], "workspace_poll": 0.2,
    }
    slack.update(overrides)
    return json.dumps({"channels": {"slack": slack}})


async def post_event(http: aiohttp.ClientSession, service: Any, body: dict[str, Any], *,
                     headers: dict[str, str] | None = None, retry: int = 0,
                     **signing: Any) -> tuple[int, Any]:
    raw = json.dumps(body)
    sent = {"Content-Type": "application/json", **sign(raw, **signing), **(headers or {})}
    if retry:
        sent.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    url = f"http://127.0.0.1:{service.port}/webhooks/slack/events"
    async with http.post(url, data=raw.encode(), headers=sent) as resp:
        return resp.status, await resp.text()


async def post_action(http: aiohttp.ClientSession, service: Any,
                      body: dict[str, Any]) -> int:
    raw = "payload=" + urllib.parse.quote(json.dumps(body))
    sent = {"Content-Type": "application/x-www-form-urlencoded", **sign(raw)}
    url = f"http://127.0.0.1:{service.port}/webhooks/slack/interactive"
    async with http.post(url, data=raw.encode(), headers=sent) as resp:
        return resp.status


async def settled(*followers: Any) -> None:
    """Each workspace follower (`channels.slack.workspace.Workspace`) has done two whole
    rounds since now: whatever it would post about what is in the store is posted (a
    standby's round is a try for the lease). Lets a test assert "once" without sleeping."""
    marks = [f.rounds for f in followers]
    for f, mark in zip(followers, marks, strict=True):
        f.wake()
        async with f.synced:
            await asyncio.wait_for(f.synced.wait_for(lambda f=f, m=mark: f.rounds >= m + 2), 10)


async def conversation(service: Any, thread_key: str,
                       channel: str = "slack") -> tuple[Conversation | None, list[Message]]:
    await service.backlog.drained()  # webhooks are processed after their 200

    async def unit(tx: Any) -> tuple[Conversation | None, list[Message]]:
        conv = await tx.find_conversation(channel, [thread_key])
        return conv, (await tx.list_messages(conv.id) if conv else [])

    return await service.store.read(unit)


async def message_count(service: Any) -> int:
    await service.backlog.drained()  # webhooks are processed after their 200

    async def unit(tx: Any) -> int:
        return int(tx.c.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    return await service.store.read(unit)


@pytest_asyncio.fixture
async def slack_api() -> AsyncIterator[FakeSlackAPI]:
    api = FakeSlackAPI()
    api.users[CUSTOMER] = user(CUSTOMER, "Olga Svensson", "olga@customer.example",
                               locale="sv-SE")
    api.users["U0CUST0002"] = user("U0CUST0002", "Ola Nordmann", "ola@example.com",
                                   locale="nb-NO")
    api.users["U0EXT00001"] = user("U0EXT00001", "Karin Lind", "karin@partner.example",
                                   locale="sv-SE", team="T0EXTERN1")
    api.users[AGENT] = user(AGENT, "Anna Berg", "Anna@Example.com")
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def slack_service(slack_api, make_config, start_service) -> Callable[..., Any]:
    """The real service with the Slack channel pointed at the stand-in."""

    async def start(decide: Any = None, extra: str = "", **overrides: Any) -> Any:
        data = json.loads(slack_yaml(slack_api, **overrides))
        data.update(yaml.safe_load(extra) or {})
        config = make_config(json.dumps(data))
        return await start_service(config, decide)

    return start
