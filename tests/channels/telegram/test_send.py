"""Outbound through the real outbox: retry_after, blocked users, errors, parts, files, pacing."""

from __future__ import annotations

import time

import pytest

from channels.telegram.adapter import TelegramAdapter
from channels.telegram.settings import BotSettings
from router.domain.errors import ChannelError
from router.domain.model import (
    Action,
    AuthorKind,
    Decision,
    DecisionContext,
    OutboundMessage,
    OutboxStatus,
    ReplyContent,
)
from router.engine.effects import enqueue_reply
from router.store.base import utcnow
from tests.channels.telegram.conftest import (
    Settled,
    contact_of,
    conversation_of,
    outbox_rows,
    payload,
    post_update,
)
from tests.channels.telegram.fake_api import TOKEN


async def test_429_retry_after_is_honoured_and_the_message_goes_out_once(
        tg_service, fake_api, http):
    service = await tg_service()
    settled = Settled(service)
    fake_api.fail("sendMessage", 429, retry_after=3)
    assert await post_update(http, service, payload("message_text_sv")) == 200
    await settled.wait_for(lambda s: s.count("sent") == 1, timeout=15)
    first, second = fake_api.attempts("sendMessage")
    assert first.status == 429 and second.status == 200
    assert second.at - first.at >= 3.0
    assert len(fake_api.called("sendMessage")) == 1
    assert settled.outcomes[0][1] == "retry"


async def test_403_is_permanent_and_marks_the_contact_unreachable(tg_service, fake_api, http):
    service = await tg_service()
    settled = Settled(service)
    fake_api.fail("sendMessage", 403)
    assert await post_update(http, service, payload("message_text_sv")) == 200
    await settled.wait_for(lambda s: s.count("failed") == 1)
    assert len(fake_api.attempts("sendMessage")) == 1
    (row,) = await outbox_rows(service)
    assert row.status == OutboxStatus.FAILED and "403" in row.last_error
    assert (await contact_of(service, 111222333)).unreachable is True
    assert await post_update(http, service, payload("message_photo")) == 200
    await settled.wait_for(lambda s: s.count("failed") == 2)
    assert len(fake_api.attempts("sendMessage")) == 1  # no call for an unreachable chat


async def test_5xx_is_retried_and_400_is_permanent(tg_service, fake_api, http):
    service = await tg_service()
    settled = Settled(service)
    fake_api.fail("sendMessage", 500, times=2)
    assert await post_update(http, service, payload("message_text_fi")) == 200
    await settled.wait_for(lambda s: s.count("sent") == 1)
    assert [c.status for c in fake_api.attempts("sendMessage")] == [500, 500, 200]
    fake_api.fail("sendMessage", 400)
    assert await post_update(http, service, payload("message_text_nb")) == 200
    await settled.wait_for(lambda s: s.count("failed") == 1)
    assert (await contact_of(service, 333444555)).unreachable is False


async def test_a_retry_resumes_a_split_message_without_repeating_parts(
        tg_service, fake_api, http):
    def decide(ctx: DecisionContext) -> Decision:
        if ctx.event != "message":
            return Decision()
        text = "\n\n".join(f"Del {i}. " + "text " * 700 for i in range(3))
        return Decision(actions=[Action("reply", ReplyContent(text=text))])

    service = await tg_service(decide)
    settled = Settled(service)
    fake_api.fail("sendMessage", 500, after=1)  # part 1 goes out, part 2 fails once
    assert await post_update(http, service, payload("message_text_sv")) == 200
    await settled.wait_for(lambda s: s.count("sent") == 1)
    texts = [c.params["text"][:5] for c in fake_api.called("sendMessage")]
    assert texts == ["Del 0", "Del 1", "Del 2"]
    (row,) = await outbox_rows(service)
    assert row.external_id == "1000"  # the first part's message_id


async def test_agent_attachments_go_as_document_and_photo(tg_service, fake_api, http, tmp_path):
    service = await tg_service(lambda ctx: Decision())
    settled = Settled(service)
    assert await post_update(http, service, payload("message_text_sv")) == 200
    conv, _ = await conversation_of(service, 111222333)
    quote = tmp_path / "offert.pdf"
    quote.write_bytes(b"%PDF-1.4 offert")
    attachments = [{"kind": "document", "path": str(quote), "name": "offert.pdf",
                    "caption": "Offert <2026>"},
                   {"kind": "photo", "ref": "AgACAgQAAxkBAAIBQ2d-large"}]

    async def unit(tx):
        c = await tx.get_conversation(conv.id)
        await enqueue_reply(tx, c, ReplyContent(text="Här är offerten."), utcnow(),
                            author_kind=AuthorKind.AGENT, author_name="Eva",
                            metadata={"attachments": attachments})

    await service.store.write(unit)
    service.dispatcher.wake()
    await settled.wait_for(lambda s: s.count("sent") == 1)
    assert fake_api.called("sendMessage")[0].params["text"] == "Här är offerten."
    (doc,) = fake_api.called("sendDocument")
    assert doc.params["caption"] == "Offert <2026>" and "parse_mode" not in doc.params
    uploaded = next(v for v in doc.params.values() if isinstance(v, dict))
    assert uploaded == {"filename": "offert.pdf", "content": b"%PDF-1.4 offert"}
    (photo,) = fake_api.called("sendPhoto")
    assert photo.params["photo"] == "AgACAgQAAxkBAAIBQ2d-large"


async def test_per_chat_pacing_spaces_the_parts_of_one_reply(tg_service, fake_api, http):
    def decide(ctx: DecisionContext) -> Decision:
        if ctx.event != "message":
            return Decision()
        return Decision(actions=[Action("reply", ReplyContent(text="a " * 2500 + "\n\nb"))])

    service = await tg_service(decide, rate_limits={"per_chat_per_second": 4})
    settled = Settled(service)
    assert await post_update(http, service, payload("message_text_uk")) == 200
    await settled.wait_for(lambda s: s.count("sent") == 1)
    first, second = fake_api.called("sendMessage")
    assert second.at - first.at >= 0.25 - 0.01


def _adapter(api_base: str) -> TelegramAdapter:
    return TelegramAdapter(settings=BotSettings(name="t", token=TOKEN, mode="polling",
                                                api_base=api_base, request_timeout=2))


def _outbound(text: str) -> OutboundMessage:
    return OutboundMessage(outbox_id=1, idempotency_key="k", channel="telegram:t",
                           thread_key="42", recipient="42", text=text)


async def test_unreachable_api_is_retryable_and_empty_messages_are_permanent():
    adapter = _adapter("http://127.0.0.1:9")  # discard port: connection refused
    try:
        with pytest.raises(ChannelError) as info:
            await adapter.send(_outbound("hej"))
        assert info.value.permanent is False
        with pytest.raises(ChannelError) as info:
            await adapter.send(_outbound("   "))
        assert info.value.permanent is True
    finally:
        started = time.monotonic()
        await adapter.stop()
        assert time.monotonic() - started < 5
