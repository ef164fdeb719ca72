"""Webhook mode end to end: real service, real aiogram client, stand-in Bot API."""

from __future__ import annotations

import asyncio
import logging

from router.domain.model import (
    Action,
    Decision,
    DecisionContext,
    Direction,
    QuickReply,
    ReplyContent,
)
from tests.channels.telegram.conftest import (
    CHANNEL,
    SECRET,
    Settled,
    contact_of,
    conversation_of,
    outbox_rows,
    payload,
    post_update,
    scrape_metrics,
)
from tests.channels.telegram.fake_api import TOKEN


def sent_to(api, chat_id):
    return [c for c in api.called("sendMessage") if c.params["chat_id"] == str(chat_id)]


async def test_texts_in_four_languages_get_the_canned_reply_in_their_language(
        tg_service, fake_api, http):
    service = await tg_service()
    expected = {
        111222333: "Hej! Vi har fått ditt meddelande: Hej! Jag har en fråga om min faktura "
                   "&lt;nr 12&gt; &amp; moms.",
        222333444: "Hei! Olemme vastaanottaneet viestisi: Hei, lasku on väärin.",
        333444555: "Hei! Vi har mottatt meldingen din: Hei! Jeg får ikke logget inn",
        444555666: "Вітаємо! Ми отримали ваше повідомлення: Добрий день!",
    }
    for name in ("message_text_sv", "message_text_fi", "message_text_nb", "message_text_uk"):
        assert await post_update(http, service, payload(name)) == 200
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 4)
    for chat_id, start in expected.items():
        (call,) = sent_to(fake_api, chat_id)
        assert call.params["text"].startswith(start), call.params["text"]
        assert call.params["parse_mode"] == "HTML" and call.token == TOKEN
    conv, messages = await conversation_of(service, 111222333)
    assert conv.channel == CHANNEL and conv.language == "sv"
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    assert inbound[0].text == payload("message_text_sv")["message"]["text"]
    assert inbound[0].external_id == "111222333:41"


async def test_wrong_or_missing_secret_is_401_and_nothing_is_stored(tg_service, fake_api, http):
    service = await tg_service()
    assert await post_update(http, service, payload("message_text_sv"), secret="wrong") == 401
    assert await post_update(http, service, payload("message_text_sv"), secret=None) == 401
    assert await post_update(http, service, payload("message_text_sv"), bot="other") == 404
    assert await conversation_of(service, 111222333) == (None, [])
    assert await outbox_rows(service) == []


async def test_the_same_update_twice_is_stored_and_answered_once(tg_service, fake_api, http):
    service = await tg_service()
    update = payload("message_text_fi")
    statuses = await asyncio.gather(*(post_update(http, service, update) for _ in range(2)))
    assert statuses == [200, 200]
    assert await post_update(http, service, update) == 200
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) >= 1)
    _, messages = await conversation_of(service, 222333444)
    assert [m.direction for m in messages] == [Direction.INBOUND, Direction.OUTBOUND]
    assert len(await outbox_rows(service)) == 1


async def test_malformed_json_and_unknown_types_are_acknowledged_and_counted(
        tg_service, fake_api, http, caplog):
    service = await tg_service()
    caplog.set_level(logging.WARNING)
    assert await post_update(http, service, b"{not json") == 200
    assert await post_update(http, service, payload("unknown_type")) == 200
    assert await post_update(http, service, [1, 2, 3]) == 200
    assert await post_update(http, service, {"update_id": 9, "message": {"chat": 5}}) == 200
    metrics = await scrape_metrics(http, service)
    for reason, count in (("malformed_json", 1), ("unknown_update_type", 1),
                          ("invalid_update", 2)):
        key = ("inquiry_router_rejected_total", (("channel", CHANNEL), ("reason", reason)))
        assert metrics[key] == count
    assert sum("rejected update" in r.getMessage() for r in caplog.records) == 4
    assert await outbox_rows(service) == []
    assert await post_update(http, service, payload("message_text_nb")) == 200  # still serving
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 1)


async def test_edit_updates_the_stored_message_without_a_second_reply(tg_service, fake_api, http):
    service = await tg_service()
    assert await post_update(http, service, payload("message_text_sv")) == 200
    assert await post_update(http, service, payload("edited_message")) == 200
    _, messages = await conversation_of(service, 111222333)
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    assert len(inbound) == 1
    assert inbound[0].text == "Hej! Jag har en fråga om min faktura nr 12."
    assert inbound[0].edited_at is not None
    assert len(await outbox_rows(service)) == 1  # rules did not run again


async def test_rerun_rules_on_edit_updates_the_message_and_answers_the_edit(
        tg_service, fake_api, http):
    service = await tg_service(rerun_rules_on_edit=True)
    settled = Settled(service)
    assert await post_update(http, service, payload("message_text_sv")) == 200
    assert await post_update(http, service, payload("edited_message")) == 200
    assert await post_update(http, service, payload("edited_message")) == 200  # redelivery
    await settled.wait_for(lambda s: s.count("sent") == 2)
    _, messages = await conversation_of(service, 111222333)
    inbound = [m for m in messages if m.direction == Direction.INBOUND]
    assert len(inbound) == 1 and inbound[0].external_id == "111222333:41"
    assert inbound[0].text == "Hej! Jag har en fråga om min faktura nr 12."
    assert inbound[0].edited_at is not None
    first, second = (c.params["text"] for c in sent_to(fake_api, 111222333))
    assert first.endswith("faktura &lt;nr 12&gt; &amp; moms.")
    assert second == "Hej! Vi har fått ditt meddelande: Hej! Jag har en fråga om min faktura nr 12."
    assert len(await outbox_rows(service)) == 2


async def test_media_are_stored_as_attachments(tg_service, fake_api, http):
    service = await tg_service()
    for name in ("message_photo", "message_document"):
        assert await post_update(http, service, payload(name)) == 200
    _, messages = await conversation_of(service, 111222333)
    photo, document = (m for m in messages if m.direction == Direction.INBOUND)
    assert photo.attachments[0]["ref"] == "AgACAgQAAxkBAAIBQ2d-large"
    assert photo.attachments[0]["caption"] == "Skärmdump av felet"
    assert document.attachments[0] | {} == {
        "kind": "document", "name": "faktura-12.pdf", "mime": "application/pdf",
        "size": 183422, "ref": "BQACAgQAAxkBAAIBRGd-doc", "caption": "Här är fakturan"}


async def test_callback_query_is_stored_and_answered(tg_service, fake_api, http):
    seen: list[DecisionContext] = []

    def decide(ctx: DecisionContext) -> Decision:
        seen.append(ctx)
        return Decision()

    service = await tg_service(decide)
    assert await post_update(http, service, payload("callback_query")) == 200
    await fake_api.wait_for(lambda api: len(api.called("answerCallbackQuery")) == 1)
    (answer,) = fake_api.called("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "4382bfdwdsb323b2d9"
    _, messages = await conversation_of(service, 111222333)  # processed by now
    assert seen[0].message.callback_data == "csat:5"
    assert messages[0].text == "5"


async def test_block_marks_the_contact_unreachable_and_replies_stop(tg_service, fake_api, http):
    service = await tg_service()
    settled = Settled(service)
    assert await post_update(http, service, payload("message_text_sv")) == 200
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 1)
    assert await post_update(http, service, payload("my_chat_member_kicked")) == 200
    assert (await contact_of(service, 111222333)).unreachable is True
    later = payload("message_photo")  # e.g. a message delivered late: its reply must not go
    assert await post_update(http, service, later) == 200
    await settled.wait_for(lambda s: s.count("failed") == 1)
    assert len(fake_api.attempts("sendMessage")) == 1
    assert await post_update(http, service, payload("my_chat_member_member")) == 200
    assert (await contact_of(service, 111222333)).unreachable is False


async def test_supergroup_mention_is_answered_in_the_group_and_chatter_ignored(
        tg_service, fake_api, http):
    service = await tg_service()
    assert await post_update(http, service, payload("supergroup_chatter")) == 200
    assert await post_update(http, service, payload("supergroup_mention")) == 200
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 1)
    (call,) = fake_api.called("sendMessage")
    assert call.params["chat_id"] == "-1001987654321"
    assert call.params["text"] == "Hei! Olemme vastaanottaneet viestisi: missä tilaukseni on?"
    assert call.params["reply_parameters"]["message_id"] == 5501
    _, messages = await conversation_of(service, -1001987654321)
    assert [m.text for m in messages if m.direction == Direction.INBOUND] == [
        "missä tilaukseni on?"]


async def test_long_reply_is_split_and_quick_replies_go_on_the_last_part(
        tg_service, fake_api, http):
    paragraph = "Tack för att du hör av dig & väntar <3. " * 40

    def decide(ctx: DecisionContext) -> Decision:
        if ctx.event != "message":
            return Decision()
        text = "\n\n".join([paragraph.strip()] * 8)  # ~12,800 characters
        return Decision(actions=[Action("reply", ReplyContent(
            text=text, quick_replies=(QuickReply("Ja", "yes"), QuickReply("Nej", "no"))))])

    service = await tg_service(decide)
    settled = Settled(service)
    assert await post_update(http, service, payload("message_text_sv")) == 200
    await settled.wait_for(lambda s: s.count("sent") == 1)
    calls = fake_api.called("sendMessage")
    assert len(calls) == 4
    assert all(len(c.params["text"].replace("&amp;", "&").replace("&lt;", "<")) <= 4096
               for c in calls)
    assert all("&amp;" in c.params["text"] and "&lt;3" in c.params["text"] for c in calls)
    assert [("reply_markup" in c.params) for c in calls] == [False, False, False, True]
    assert calls[-1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "yes"


async def test_start_deep_link_reaches_the_rules(tg_service, fake_api, http):
    def decide(ctx: DecisionContext) -> Decision:
        payload_ = ctx.message.metadata.get("start_payload", "")
        if ctx.event == "message" and payload_.startswith("billing"):
            return Decision(actions=[Action("route", "billing"), Action("tag", "deeplink")])
        return Decision()

    service = await tg_service(decide)
    assert await post_update(http, service, payload("start_deeplink")) == 200
    conv, _ = await conversation_of(service, 555666777)
    assert conv.queue == "billing" and conv.tags == ["deeplink"]


async def test_service_stopping_answers_503_so_telegram_retries(tg_service, fake_api, http):
    service = await tg_service()
    service.state["stopping"] = True
    assert await post_update(http, service, payload("message_text_sv")) == 503
    service.state["stopping"] = False
    assert await conversation_of(service, 111222333) == (None, [])
    assert await post_update(http, service, payload("message_text_sv")) == 200  # the retry
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 1)


async def test_set_webhook_on_start_when_a_url_is_configured(tg_service, fake_api):
    await tg_service(webhook_url="https://router.example.org/webhooks/telegram/support")
    await fake_api.wait_for(lambda api: len(api.called("setWebhook")) == 1)
    (call,) = fake_api.called("setWebhook")
    assert call.params["url"] == "https://router.example.org/webhooks/telegram/support"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == [
        "message", "edited_message", "callback_query", "my_chat_member"]


async def test_a_message_update_is_validated_after_the_acknowledgement_and_settled(
        tg_service, fake_api, http):
    """Plain message updates are stored as they came and validated when processed: an
    invalid one is rejected then (counted once, also when Telegram resends it) and
    leaves nothing pending or failed."""
    service = await tg_service()
    forged = {"update_id": 77, "message": {"chat": 5}}
    assert await post_update(http, service, forged) == 200
    assert await post_update(http, service, forged) == 200  # redelivery: a duplicate
    assert await post_update(http, service, payload("message_text_nb")) == 200
    metrics = await scrape_metrics(http, service)  # after processing
    key = ("inquiry_router_rejected_total", (("channel", CHANNEL), ("reason", "invalid_update")))
    assert metrics[key] == 1
    assert await service.store.read(lambda tx: tx.inbox_counts()) == {"pending": 0, "failed": 0}
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 1)
