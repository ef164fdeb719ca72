"""Hostile Telegram updates (issue 22): nothing answers 5xx, and what is acknowledged can
be processed. An update that never could (nesting beyond 1,024 levels, ids beyond 64
bits) is refused before the acknowledgement and counted as rejected (200, as for any
malformed body: Telegram would resend anything else for hours); lone surrogates in text
are replaced by U+FFFD and the message is processed."""

from __future__ import annotations

import copy
import json

from router.domain.model import Direction
from tests.channels.telegram.conftest import CHANNEL, conversation_of, payload, post_update


async def failures(service) -> list:
    await service.backlog.drained()
    assert service.backlog.failed == 0
    return await service.store.read(lambda tx: tx.inbox_failures(10))


def rejected(service) -> int:
    stats = service.channels[CHANNEL].inbound.stats
    return sum(n for key, n in stats.items() if key.startswith("rejected:"))


async def test_deep_json_and_huge_ids_are_refused_before_the_acknowledgement(tg_service, http):
    service = await tg_service()
    bodies = [b"[" * 10_000 + b"]" * 10_000, b'{"update_id":' * 10_000 + b"1" + b"}" * 10_000]
    for path in (("message", "chat", "id"), ("message", "from", "id"), ("update_id",),
                 ("message", "message_id"), ("message", "date")):
        update = payload("message_text_sv")
        node = update
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = 2**64 + 7
        bodies.append(json.dumps(update).encode())
    for n, body in enumerate(bodies, 1):
        assert await post_update(http, service, body) == 200
        assert rejected(service) == n
    assert await failures(service) == []
    conv, _ = await conversation_of(service, 111222333)
    assert conv is None


async def test_lone_surrogates_are_replaced_and_the_message_is_processed(tg_service, fake_api,
                                                                         http):
    service = await tg_service()
    update = payload("message_text_sv")
    update["message"]["text"] = "bad \udc00 text \ud83d"
    update["message"]["from"]["first_name"] = "An\ud800na"
    body = json.dumps(update).encode()  # ensure_ascii: escaped, as Telegram sends it
    assert await post_update(http, service, body) == 200
    assert await failures(service) == []
    _, messages = await conversation_of(service, 111222333)
    (inbound,) = [m for m in messages if m.direction == Direction.INBOUND]
    assert inbound.text == "bad \ufffd text \ufffd"
    await fake_api.wait_for(lambda api: len(api.called("sendMessage")) == 1)


async def test_edited_and_callback_updates_with_huge_ids(tg_service, http):
    service = await tg_service()
    for name in ("edited_message", "callback_query", "my_chat_member_kicked"):
        update = copy.deepcopy(payload(name))
        update["update_id"] = -(2**63) - 1
        assert await post_update(http, service, update) == 200
    assert rejected(service) == 3
    assert await failures(service) == []
