"""Hypothesis-mutated real Telegram updates through the webhook: no 5xx, and nothing
acknowledged then fails (issue 22; the mutations: tests/channels/fuzz.py)."""

from __future__ import annotations

import json

from tests.channels.fuzz import EXAMPLES, assert_nothing_failed, collect, errors_logged, load
from tests.channels.telegram.conftest import PAYLOADS, post_update
from tests.fuzz_counts import count


async def test_mutated_telegram_updates(tg_service, fake_api, http, caplog):
    service = await tg_service()
    statuses = []
    for update in collect(load(PAYLOADS)):
        statuses.append(await post_update(http, service, json.dumps(update).encode()))
        count("telegram", statuses[-1])
    assert len(statuses) >= EXAMPLES // 2 and max(statuses) < 500, sorted(set(statuses))
    await assert_nothing_failed(service)
    assert not errors_logged(caplog.records)
