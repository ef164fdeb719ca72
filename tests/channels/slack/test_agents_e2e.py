"""Agents working from Slack threads on a Telegram customer's conversation, end to end.

Real service, real bolt + slack-sdk and aiogram clients, the real agent desk; stand-ins
for both platforms' APIs on 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from router.domain.model import (
    Action,
    Decision,
    DecisionContext,
    OutboxStatus,
    QuickReply,
    ReplyContent,
    Status,
)
from tests.channels.slack.conftest import (
    AGENT,
    AGENTS,
    payload,
    post_action,
    post_event,
    slack_yaml,
)
from tests.channels.telegram.conftest import bot_yaml, post_update
from tests.channels.telegram.fake_api import FakeTelegramAPI

CHAT = 555666777


def decide(ctx: DecisionContext) -> Decision:
    """Hand off on request; on resolve, a rating request with buttons (as the CSAT bot)."""
    if ctx.event == "resolved":
        return Decision(actions=[Action("reply", ReplyContent(
            text="How did we do?", quick_replies=(QuickReply("5", "csat:5"),
                                                  QuickReply("1", "csat:1"))), source="csat")])
    if ctx.event == "message" and "human" in ctx.message.text.lower():
        return Decision(actions=[Action("handoff", {"queue": "general", "reason": "asked"},
                                        source="handoff")])
    return Decision()


def update(update_id: int, text: str) -> dict[str, Any]:
    person = {"id": CHAT, "is_bot": False, "first_name": "Olga", "last_name": "Svensson",
              "language_code": "sv"}
    return {"update_id": update_id, "message": {
        "message_id": update_id - 9000, "date": int(time.time()), "from": person,
        "chat": {"id": CHAT, "type": "private", "first_name": "Olga", "last_name": "Svensson"},
        "text": text}}


@pytest.fixture
async def fake_tg():
    api = FakeTelegramAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
async def both(slack_api, fake_tg, make_config, start_service):
    data = json.loads(slack_yaml(slack_api, agents_channel=AGENTS))
    data["channels"].update(json.loads(bot_yaml(fake_tg))["channels"])
    data["agents"] = {"anna": {"name": "Anna Berg", "email": "anna@example.com"}}
    data["queues"] = {"general": {}, "billing": {}}
    return await start_service(make_config(json.dumps(data)), decide)


def roots(api) -> list[dict[str, Any]]:
    return [p for p in api.posted(AGENTS) if "thread_ts" not in p]


def root_ts(api) -> str:
    (call,) = [c for c in api.called("chat.postMessage")
               if c.params["channel"] == AGENTS and "thread_ts" not in c.params]
    return str(call.result["ts"])


def updates_of(api, ts: str) -> list[str]:
    return [json.dumps(c.params["blocks"]) for c in api.called("chat.update")
            if c.params["ts"] == ts]


def sent_to_customer(api) -> list[Any]:
    return [c for c in api.called("sendMessage") if c.params["chat_id"] == str(CHAT)]


async def test_telegram_customer_is_served_from_a_slack_thread(both, slack_api, fake_tg, http):
    service = both
    assert await post_update(http, service, update(9001, "Can I talk to a human please?")) == 200

    # the hand-off appears in the agents' channel, waiting, with Claim and Resolve
    await slack_api.wait_for(lambda api: len(roots(api)) == 1)
    (root,) = roots(slack_api)
    blocks = json.dumps(root["blocks"])
    assert "Olga Svensson" in blocks and "Waiting" in blocks and "telegram:support" in blocks
    assert "Can I talk to a human please?" in blocks
    claim = next(e for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == "ir.agent.claim")
    conv_id, ts = claim["value"], root_ts(slack_api)

    # Claim: the root message updates to "claimed by Anna Berg"
    body = payload("block_actions_claim", ROOT_TS=ts, CONV_ID=conv_id)
    assert await post_action(http, service, body) == 200
    conv = await service.store.read(lambda tx: tx.get_conversation(int(conv_id)))
    assert conv.status == Status.ASSIGNED and conv.assignee == "anna"
    await slack_api.wait_for(lambda api: any("Claimed by Anna Berg" in u
                                             for u in updates_of(api, ts)))

    # Anna's reply in the thread reaches the customer on Telegram, once, as Anna
    reply = payload("message_agent_thread_reply", ROOT_TS=ts)
    assert (await post_event(http, service, reply))[0] == 200
    assert (await post_event(http, service, reply, retry=1))[0] == 200
    await fake_tg.wait_for(lambda api: len(sent_to_customer(api)) == 1)
    text = sent_to_customer(fake_tg)[0].params["text"]
    assert "I have reset your password &amp; unlocked the account" in text
    messages = await service.store.read(lambda tx: tx.list_messages(int(conv_id)))
    assert [m.author_id for m in messages if m.author_kind == "agent"] == ["anna"]
    (row,) = await service.store.read(lambda tx: tx.outbox_list([OutboxStatus.SENT, OutboxStatus.PENDING]))
    assert (row.payload["author_kind"], row.payload["author_name"]) == ("agent", "Anna Berg")

    # the customer's next message appears in the thread (and Anna's own reply does not)
    assert await post_update(http, service, update(9002, "Now it works, thanks!")) == 200
    await slack_api.wait_for(lambda api: any(
        p.get("thread_ts") == ts and "Now it works" in p["text"] for p in api.posted(AGENTS)))
    in_thread = [p for p in slack_api.posted(AGENTS) if p.get("thread_ts") == ts]
    assert len(in_thread) == 1 and in_thread[0]["text"].startswith("*Olga Svensson:*")
    assert len(roots(slack_api)) == 1  # the root was posted exactly once

    # Resolve: the conversation closes and the root shows it, without controls
    body = payload("block_actions_resolve", ROOT_TS=ts, CONV_ID=conv_id)
    assert await post_action(http, service, body) == 200
    conv = await service.store.read(lambda tx: tx.get_conversation(int(conv_id)))
    assert conv.status == Status.RESOLVED
    await slack_api.wait_for(lambda api: any("Resolved" in u for u in updates_of(api, ts)))
    assert "ir.agent." not in updates_of(slack_api, ts)[-1]


async def test_resolve_from_slack_sends_the_csat_request_to_telegram(both, slack_api, fake_tg,
                                                                     http):
    service = both
    assert await post_update(http, service, update(9201, "a human please")) == 200
    await slack_api.wait_for(lambda api: len(roots(api)) == 1)
    claim = next(e for b in roots(slack_api)[0]["blocks"] if b["type"] == "actions"
                 for e in b["elements"] if e["action_id"] == "ir.agent.claim")
    body = payload("block_actions_resolve", ROOT_TS=root_ts(slack_api), CONV_ID=claim["value"])
    assert await post_action(http, service, body) == 200
    await fake_tg.wait_for(lambda api: any("How did we do?" in c.params["text"]
                                           for c in sent_to_customer(api)), timeout=3)


async def test_a_second_claim_is_refused_privately(both, slack_api, fake_tg, http):
    service = both
    slack_api.users["U0AGENT002"] = {**slack_api.users[AGENT], "id": "U0AGENT002",
                                     "profile": {"email": "nobody@example.com"}}
    assert await post_update(http, service, update(9101, "human, please")) == 200
    await slack_api.wait_for(lambda api: len(roots(api)) == 1)
    conv = await service.store.read(lambda tx: tx.find_conversation("telegram:support",
                                                                   [str(CHAT)]))
    ts = root_ts(slack_api)
    stranger = payload("block_actions_claim", ROOT_TS=ts, CONV_ID=str(conv.id))
    stranger["user"]["id"] = "U0AGENT002"
    assert await post_action(http, service, stranger) == 200
    await slack_api.wait_for(lambda api: len(api.called("chat.postEphemeral")) == 1)
    assert "not set up as an agent" in slack_api.called("chat.postEphemeral")[0].params["text"]
    body = payload("block_actions_claim", ROOT_TS=ts, CONV_ID=str(conv.id))
    assert await post_action(http, service, body) == 200
    assert await post_action(http, service, body) == 200
    await slack_api.wait_for(lambda api: len(api.called("chat.postEphemeral")) == 2)
    assert "Could not claim" in slack_api.called("chat.postEphemeral")[1].params["text"]
