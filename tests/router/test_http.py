"""Bad input gets a clear, logged rejection; the service keeps serving."""

from __future__ import annotations

import logging

import aiohttp

from tests.conftest import echo_decide


async def test_oversized_and_malformed_payloads_are_rejected_and_logged(
        make_config, start_service, caplog):
    service = await start_service(make_config("channels:\n  loopback: {}\n"), echo_decide)
    url = f"http://127.0.0.1:{service.port}/webhooks/loopback"
    caplog.set_level(logging.WARNING)
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=b"x" * (5 * 1024 * 1024)) as resp:
            assert resp.status == 413
            assert "larger than" in (await resp.json())["error"]["message"]
        cases = [
            (b"{not json", "malformed JSON"),
            (b"[1, 2]", "expected a JSON object"),
            (b'{"id": "1", "thread": "t", "text": "no sender"}', "from: Field required"),
            (b'{"id": "1", "thread": "t", "from": "u", "text": 5}', "text"),
            (b"", "empty body"),
        ]
        for body, reason in cases:
            async with http.post(url, data=body) as resp:
                assert resp.status == 400
                assert reason in (await resp.json())["error"]["message"]
        async with http.post(url, json={"id": "1", "thread": "t", "from": "u", "text": "ok"}) as resp:
            assert resp.status == 200 and (await resp.json())["duplicate"] is False
        async with http.get(f"http://127.0.0.1:{service.port}/healthz") as resp:
            assert resp.status == 200
    rejected = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejected) == 6


async def test_unknown_route_and_method_give_json_errors(make_config, start_service):
    service = await start_service(make_config())
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{service.port}/nope") as resp:
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
        async with http.get(f"http://127.0.0.1:{service.port}/readyz") as resp:
            assert resp.status == 200 and (await resp.json())["ready"] is True


async def test_intake_closes_with_503_while_stopping(make_config, start_service):
    service = await start_service(make_config("channels:\n  loopback: {}\n"))
    service.state["stopping"] = True
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{service.port}/webhooks/loopback",
                             json={"id": "1", "thread": "t", "from": "u", "text": "x"}) as resp:
            assert resp.status == 503
        async with http.get(f"http://127.0.0.1:{service.port}/readyz") as resp:
            assert resp.status == 503
    service.state["stopping"] = False
