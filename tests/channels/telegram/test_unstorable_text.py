"""A Telegram update with a NUL in its text is acknowledged and processed, on both backends.

JSON carries `\\u0000`, but a PostgreSQL text column refuses it: such an update was answered
200 and then failed for good (the webhook fuzz with any text a customer may type found
it, issue 22). Telegram resends whatever is refused, so the NUL becomes U+FFFD, as a lone
surrogate does (router/web/jsonbody.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from tests.channels.fuzz import assert_nothing_failed
from tests.channels.telegram.conftest import CHANNEL, bot_yaml, payload, post_update
from tests.store.pg import fresh_schema, store_url


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, Any]]:
    if request.param == "sqlite":
        yield {}
        return
    async with fresh_schema() as (server, schema):
        yield {"storage": {"url": store_url(server, schema)}}


async def test_a_nul_in_an_update_becomes_a_replacement_character(
        storage, fake_api, make_config, start_service, http):
    extra = json.dumps({**json.loads(bot_yaml(fake_api)), **storage})
    service = await start_service(make_config(extra))
    update = payload("message_text_sv")
    update["message"]["text"] = "Hej\x00då"
    update["message"]["from"]["first_name"] = "Ul\x00la"
    assert await post_update(http, service, update) == 200
    await assert_nothing_failed(service)

    async def stored(tx: Any) -> list[str]:
        conv = await tx.find_conversation(CHANNEL, [str(update["message"]["chat"]["id"])])
        return [m.text for m in await tx.list_messages(conv.id)]

    assert "Hej\ufffddå" in await service.store.read(stored)
    await service.stop()
