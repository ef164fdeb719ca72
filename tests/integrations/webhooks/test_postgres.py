"""On PostgreSQL too (events buffered to the unit's end, a transaction per unit): the
deliveries commit with their events, and a unit that wakes nobody else (a rating, an
erasure) still has its delivery sent at once, not at the dispatcher's next poll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bots.csat_http import record_answer
from router.config import load_config
from router.engine.csat_recorder_store import StoreCsatRecorder
from router.engine.privacy.erase import erase_contact
from tests.conftest import write_config
from tests.integrations.webhooks.conftest import config_text, decide, post
from tests.store.pg import fresh_schema, store_url


@pytest_asyncio.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_schema() as (url, schema):
        yield store_url(url, schema)


async def test_deliveries_on_postgresql(tmp_path: Path, pg_url: str, receiver, webhook_env,
                                        start_service):
    extra = f'storage: {{url: "{pg_url}"}}'
    config = load_config(write_config(tmp_path, config_text(receiver.url, extra=extra)))
    service = await start_service(config, decide)
    await post(service, 1, "bye")
    await receiver.wait_for(lambda r: len(r.events()) == 5)
    assert [b["event"] for b in receiver.events()] == [
        "contact.created", "conversation.opened", "message.inbound", "conversation.resolved",
        "message.outbound"]  # the unit's order: the rules resolve, then the reply is sent
    conv = receiver.events()[1]["data"]["conversation"]["id"]
    contact = receiver.events()[0]["data"]["contact"]["id"]

    assert await record_answer(StoreCsatRecorder(service.store), conv, 4, "",
                               service.dispatcher.clock()) == ""
    await receiver.wait_for(lambda r: r.events("csat.received"), timeout=5)  # not a 30 s poll
    await erase_contact(service.store, contact, tmp_path / "data")
    await receiver.wait_for(lambda r: r.events("contact.erased"), timeout=5)
    assert receiver.events("contact.erased")[0]["data"] == {"contact": {"id": contact},
                                                            "contact_ids": [contact]}
    assert receiver.repeats == [] and len(receiver.delivered) == 7
