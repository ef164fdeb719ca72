"""The JSON POSTs of the loopback channel and of rules' webhook actions: the body is
encoded by orjson and sent as bytes (aiohttp's `json=` went through the standard
library's encoder: 3.5 against 1.0 us a reply), and the receiver still gets a JSON
document with its content type, the idempotency key, and every character as written."""

from __future__ import annotations

from channels.loopback.adapter import LoopbackAdapter
from channels.loopback.settings import LoopbackSettings
from router.domain.model import OutboundMessage, QuickReply
from router.engine.webhook_channel import WebhookChannel
from tests.fakes import Recorder

TEXT = "Hej Åsa! «Привіт» — 9–17 \U0001f600 \"quoted\" \\ back"


async def test_a_loopback_reply_is_a_json_document(recorder: Recorder) -> None:
    adapter = LoopbackAdapter(settings=LoopbackSettings(deliver_url=recorder.url))
    try:
        result = await adapter.send(OutboundMessage(
            7, "key-7", "loopback", "t-1", "u-1", TEXT, author_name="Åsa",
            quick_replies=(QuickReply("Ja", "yes"),)))
    finally:
        await adapter.stop()
    [request] = recorder.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "key-7"
    assert request.body == {"outbox_id": 7, "thread": "t-1", "to": "u-1", "text": TEXT,
                            "author_kind": "bot", "author_name": "Åsa",
                            "quick_replies": [{"label": "Ja", "payload": "yes"}]}
    assert result.external_id == "r1"  # the answer's id, read from its JSON


async def test_a_rules_webhook_is_a_json_document(recorder: Recorder) -> None:
    channel = WebhookChannel()
    try:
        await channel.send(OutboundMessage(
            8, "key-8", "webhook", "", recorder.url, "",
            metadata={"json": {"who": TEXT, "n": [1, 2.5, None, True]}}))
    finally:
        await channel.stop()
    [request] = recorder.requests
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == "key-8"
    assert request.body == {"who": TEXT, "n": [1, 2.5, None, True]}
