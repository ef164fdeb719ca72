"""`/metrics` parses as Prometheus text and its counters move with traffic."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from router.engine.stages import STAGES
from tests.conftest import echo_decide


async def scrape(port: int, token: str = "") -> dict[tuple[str, tuple], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{port}/metrics", headers=headers) as resp:
        assert resp.status == 200
        text = await resp.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_counters_and_gauges_follow_traffic(make_config, start_service, recorder):
    config = make_config(f"""
channels:
  loopback: {{deliver_url: "{recorder.url}"}}
queues:
  general: {{}}
""")
    service = await start_service(config, echo_decide)
    before = await scrape(service.port)
    assert before[("inquiry_router_queue_depth", (("queue", "general"),))] == 0
    url = f"http://127.0.0.1:{service.port}/webhooks/loopback"
    async with aiohttp.ClientSession() as http:
        for body in ({"id": "1", "thread": "t", "from": "u", "text": "hi"},
                     {"id": "1", "thread": "t", "from": "u", "text": "hi"}):
            async with http.post(url, json=body) as resp:
                assert resp.status == 200
        async with http.post(url, data=b"{broken") as resp:
            assert resp.status == 400
    await recorder.wait_for(lambda r: len(r.delivered) == 1)
    after = await scrape(service.port)
    inbound = "inquiry_router_inbound_total"
    assert after[(inbound, (("channel", "loopback"), ("result", "stored")))] == 1
    assert after[(inbound, (("channel", "loopback"), ("result", "duplicate")))] == 1
    assert after[("inquiry_router_rejected_total",
                  (("channel", "loopback"), ("reason", "malformed")))] == 1
    assert after[("inquiry_router_pipeline_seconds_count", (("channel", "loopback"),))] == 2


async def test_metrics_can_require_a_token(make_config, start_service):
    service = await start_service(make_config("metrics: {token: metrics-secret-1}\n"))
    async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{service.port}/metrics") as resp:
        assert resp.status == 401
    assert await scrape(service.port, "metrics-secret-1")


async def test_each_stage_of_a_reply_is_timed(make_config, start_service, recorder):
    """Issue 28: where a message waits, per hand-over, from webhook to the reply's mark."""
    service = await start_service(make_config(f"""
channels:
  loopback: {{deliver_url: "{recorder.url}"}}
"""), echo_decide)
    settled = asyncio.Event()
    service.dispatcher.on_settled = lambda row, outcome: settled.set()
    async with aiohttp.ClientSession() as http, http.post(
            f"http://127.0.0.1:{service.port}/webhooks/loopback",
            json={"id": "1", "thread": "t", "from": "u", "text": "hi"}) as resp:
        assert resp.status == 200
    await asyncio.wait_for(settled.wait(), 10)  # after the "sent" mark committed
    after = await scrape(service.port)
    counts = {stage: after.get(("inquiry_router_stage_seconds_count", (("stage", stage),)))
              for stage in STAGES}
    assert counts == dict.fromkeys(STAGES, 1.0)
    # the customer's wait covers every stage before the send
    total = after[("inquiry_router_stage_seconds_sum", (("stage", "reply"),))]
    parts = sum(after[("inquiry_router_stage_seconds_sum", (("stage", s),))]
                for s in ("stored", "queued", "processed", "claimed", "sent"))
    assert total == pytest.approx(parts, abs=0.002)
