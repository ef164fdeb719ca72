"""The /metrics families issue 13 lists beyond tests/router/test_metrics.py: outbound
results, outbox backlog/dead letters and the oldest-waiting gauge move with traffic."""

from __future__ import annotations

import aiohttp

from tests.conftest import echo_decide
from tests.router.test_metrics import scrape


async def test_outbound_and_outbox_gauges_follow_traffic(make_config, start_service, recorder):
    config = make_config(f'channels:\n  loopback: {{deliver_url: "{recorder.url}"}}\n'
                         "queues:\n  general: {}\n")
    service = await start_service(config, echo_decide)
    url = f"http://127.0.0.1:{service.port}/webhooks/loopback"
    async with aiohttp.ClientSession() as http, http.post(
            url, json={"id": "1", "thread": "t", "from": "u", "text": "hi"}) as resp:
        assert resp.status == 200
    await recorder.wait_for(lambda r: len(r.delivered) == 1)
    sent = ("inquiry_router_outbound_total", (("channel", "loopback"), ("result", "sent")))
    for _ in range(500):  # the send is recorded a moment after the platform got it
        after = await scrape(service.port)
        if sent in after:
            break
    assert after[("inquiry_router_outbound_total", (("channel", "loopback"), ("result", "sent")))] == 1
    assert after[("inquiry_router_outbox_rows", (("status", "sent"),))] == 1
    assert after[("inquiry_router_outbox_rows", (("status", "dead"),))] == 0
    # acknowledged once stored, processed since: nothing left unprocessed
    assert after[("inquiry_router_inbox_unprocessed", (("state", "pending"),))] == 0
    assert after[("inquiry_router_inbox_unprocessed", (("state", "failed"),))] == 0
    assert ("inquiry_router_queue_oldest_waiting_seconds", (("queue", "general"),)) in after
