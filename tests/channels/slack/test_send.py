"""Outbound: thread targets, escaping, splitting, rate limits and error classes."""

from __future__ import annotations

import asyncio
import time

import pytest

from channels.slack.adapter import SlackAdapter
from channels.slack.settings import SlackSettings
from router.domain.errors import ChannelError, ChannelRateLimited
from router.domain.model import AuthorKind, OutboundMessage, OutboxStatus, QuickReply
from tests.channels.slack.conftest import DM, GENERAL, SHARED, conversation, payload, post_event
from tests.channels.slack.fake_api import SECRET, TOKEN
from tests.conftest import echo_decide


@pytest.fixture
async def adapter(slack_api):
    made = SlackAdapter(settings=SlackSettings(bot_token=TOKEN, signing_secret=SECRET,
                                               api_base=slack_api.base_url, max_text=400))
    yield made
    await made.stop()


def out(text: str, thread: str = DM, **kw) -> OutboundMessage:
    return OutboundMessage(outbox_id=1, idempotency_key=kw.pop("key", "k1"), channel="slack",
                           thread_key=thread, recipient="U0CUST0001", text=text, **kw)


async def test_dm_and_thread_targets_and_escaping(adapter, slack_api):
    result = await adapter.send(out("1 < 2 & <!channel> *not bold*"))
    (call,) = slack_api.posted()
    assert call["channel"] == DM and "thread_ts" not in call
    assert call["text"] == "1 &lt; 2 &amp; &lt;!channel&gt; *not bold*"
    assert result.external_id.startswith(f"{DM}:1700001000.")
    await adapter.send(out("in thread", f"{GENERAL}:1700000100.000200", key="k2"))
    assert slack_api.posted(GENERAL)[0]["thread_ts"] == "1700000100.000200"


async def test_long_text_is_split_under_the_limit_in_order(adapter, slack_api):
    text = "\n\n".join(f"Paragraph {i}: " + "word & " * 30 for i in range(6))
    await adapter.send(out(text))
    parts = [c["text"] for c in slack_api.posted(DM)]
    assert len(parts) > 2 and all(len(p) <= 400 for p in parts)
    assert parts[0].startswith("Paragraph 0") and "Paragraph 5" in parts[-1]


async def test_429_is_rate_limited_and_the_retry_skips_parts_already_posted(adapter, slack_api):
    text = "\n\n".join(f"Part {i} " + "x" * 300 for i in range(3))
    slack_api.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(ChannelRateLimited) as err:
        await adapter.send(out(text))
    assert err.value.retry_after == 7 and not err.value.permanent
    await adapter.send(out(text))
    assert [p["text"][:6] for p in slack_api.posted(DM)] == ["Part 0", "Part 1", "Part 2"]


async def test_partial_send_resumes_where_it_stopped(adapter, slack_api):
    text = "\n\n".join(f"Part {i} " + "x" * 300 for i in range(3))
    original = slack_api._answer
    seen = []

    def answer(method, params):
        seen.append(method)
        if method == "chat.postMessage" and len(slack_api.posted()) == 1 and \
                "failed" not in seen:
            seen.append("failed")
            return {"ok": False, "error": "internal_error"}
        return original(method, params)

    slack_api._answer = answer
    with pytest.raises(ChannelError) as err:
        await adapter.send(out(text, key="resume"))
    assert not err.value.permanent
    await adapter.send(out(text, key="resume"))
    assert [p["text"][:6] for p in slack_api.posted(DM)] == ["Part 0", "Part 1", "Part 2"]


@pytest.mark.parametrize("code", ["channel_not_found", "not_in_channel", "account_inactive"])
async def test_permanent_errors(adapter, slack_api, code):
    slack_api.fail("chat.postMessage", code)
    with pytest.raises(ChannelError) as err:
        await adapter.send(out("hello"))
    assert err.value.permanent and code in err.value.reason


async def test_server_errors_are_retryable(adapter, slack_api):
    slack_api.fail("chat.postMessage", "internal_error", status=500)
    with pytest.raises(ChannelError) as err:
        await adapter.send(out("hello"))
    assert not err.value.permanent


async def test_quick_replies_become_buttons_and_agents_are_named(adapter, slack_api):
    await adapter.send(out("How did we do?", quick_replies=(
        QuickReply("Great", "csat:1:5:sig"), QuickReply("Bad", "csat:1:1:sig"))))
    (call,) = slack_api.posted()
    buttons = call["blocks"][1]["elements"]
    assert [(b["text"]["text"], b["value"], b["action_id"]) for b in buttons] == [
        ("Great", "csat:1:5:sig", "ir.qr.0"), ("Bad", "csat:1:1:sig", "ir.qr.1")]
    await adapter.send(out("Fixed it", author_kind=AuthorKind.AGENT, author_name="Anna <A&B>",
                           key="k3"))
    assert slack_api.posted()[-1]["text"] == "*Anna &lt;A&amp;B&gt;:* Fixed it"


async def test_the_outbox_honours_retry_after(slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    slack_api.rate_limit("chat.postMessage", retry_after=1)
    started = time.monotonic()
    assert (await post_event(http, service, payload("message_shared_channel")))[0] == 200
    await slack_api.wait_for(lambda api: len(api.posted(SHARED)) == 1)
    attempts = slack_api.attempts("chat.postMessage")
    assert len(attempts) == 2 and attempts[1].at - attempts[0].at >= 0.95
    assert time.monotonic() - started >= 1.0


async def test_permanent_error_marks_the_outbox_row_failed(slack_service, slack_api, http):
    service = await slack_service(echo_decide)
    settled = asyncio.Event()
    chained = service.dispatcher.on_settled

    def on_settled(row, outcome):
        chained(row, outcome)
        if outcome == "failed":
            settled.set()

    service.dispatcher.on_settled = on_settled
    slack_api.fail("chat.postMessage", "not_in_channel")
    assert (await post_event(http, service, payload("message_shared_channel")))[0] == 200
    await asyncio.wait_for(settled.wait(), 10)
    conv, _ = await conversation(service, f"{SHARED}:1700000200.000300")
    rows = await service.store.read(lambda tx: tx.outbox_list([OutboxStatus.FAILED]))
    assert len(rows) == 1 and "not_in_channel" in rows[0].last_error
    assert rows[0].conversation_id == conv.id and len(slack_api.attempts("chat.postMessage")) == 1
