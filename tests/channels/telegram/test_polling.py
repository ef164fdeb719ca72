"""Long-polling mode: getUpdates from the stand-in, offsets advanced only after commit."""

from __future__ import annotations

import asyncio

from tests.channels.telegram.conftest import bot_yaml, canned_decide, conversation_of, payload


async def test_polling_stores_answers_and_confirms_offsets(tg_service, fake_api):
    service = await tg_service(mode="polling", webhook_secret="", polling_timeout=1)
    await fake_api.push_update(payload("message_text_sv"))
    await fake_api.push_update(payload("message_text_fi"))
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 2)
    await fake_api.wait_for(lambda api: any(
        c.params.get("offset") == "800000103" for c in api.called("getUpdates")))
    assert len(fake_api.called("deleteWebhook")) == 1  # a set webhook would block getUpdates
    first = fake_api.called("getUpdates")[0].params
    assert first["timeout"] == "1" and "offset" not in first
    conv, messages = await conversation_of(service, 222333444)
    assert conv.language == "fi" and messages[0].text.startswith("Hei, lasku")
    # no webhook route in polling mode
    assert not any("/webhooks/telegram" in str(r.resource) for r in service.app.router.routes())


async def test_stopping_service_does_not_advance_the_offset(
        fake_api, make_config, start_service):
    config = make_config(bot_yaml(fake_api, mode="polling", webhook_secret="",
                                  polling_timeout=1))
    first = await start_service(config, canned_decide)
    first.state["stopping"] = True  # intake now raises ServiceStopping
    await fake_api.push_update(payload("message_text_nb"))
    poller = first.channels["telegram:support"]._poller
    await asyncio.wait_for(asyncio.shield(poller), 10)  # the loop gave up on the update
    assert await conversation_of(first, 333444555) == (None, [])
    await first.stop()
    assert [u["update_id"] for u in fake_api.updates] == [800000103]  # not confirmed
    second = await start_service(config, canned_decide)
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 1)
    _, messages = await conversation_of(second, 333444555)
    assert len(messages) == 2  # stored and answered once
